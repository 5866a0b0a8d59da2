/**
 * Lines of `tendctl events`: one event per line, a stream an operator can
 * grep: `TIME  SUBJECT  TYPE  MESSAGE`, the subject being the task instance,
 * else the job, else the file.
 */
import type { TaskEvent } from '../../api/api.js';
import { palette as makePalette, type Palette } from './color.js';

const BAD = new Set(['Terminated', 'Not Restarting', 'Driver Failure', 'OOM Killed', 'Monitor Lost', 'Invalid Spec', 'File Error', 'Conflict', 'Port Conflict', 'Failed']);
const WARN = new Set(['Restarting', 'Killing', 'Killed', 'Signaled']);

export function eventSubject(e: TaskEvent): string {
  return e.task ?? e.job ?? e.file ?? 'node';
}

export function colorEventType(type: string, p: Palette): string {
  if (BAD.has(type)) return p.red(type);
  if (WARN.has(type)) return p.yellow(type);
  if (type === 'Started' || type === 'Complete') return p.green(type);
  return type;
}

/** `2024-05-01T12:00:00.000Z  web/g[0]/t  Started  Task started by client` (no trailing newline). */
export function formatEventLine(e: TaskEvent, p: Palette = makePalette(false)): string {
  return `${p.dim(e.time)}  ${eventSubject(e)}  ${colorEventType(e.type, p)}  ${e.message}`;
}
