/**
 * The error for asking a task that has no process for something only a
 * process can do (exec, signal, a template's change_script), in the
 * operator's terms: which task, what state it is in, what the request needs.
 */
import { TendError } from '../errors.js';

export function notRunning(id: string, state: string | undefined, what: string): TendError {
  const s = state ?? 'pending';
  return new TendError('E_TASK_NOT_RUNNING', `task ${id} is not running (${s}); ${what} needs a running task${s === 'running' ? '' : ` (tendctl status ${id} says why)`}`, {
    details: { task: id, state: s },
  });
}
