/**
 * Agent start: every recorded handle is proven again by the executor
 * (pid plus start time, runtime state). A running task is adopted without a
 * restart; one that ended while the agent was down has its exit recorded
 * (code when the executor kept it) and the restart policy applies. Then the
 * executor removes leftovers of ids nobody knows — including a task launched
 * by an agent that died before it could record the handle.
 */
import type pino from 'pino';
import type { Executor } from '../executor/executor.js';
import type { Store } from '../store/store.js';
import { describeError } from '../errors.js';
import type { TaskRunner } from './task-runner.js';

export interface RecoverOptions {
  store: Store;
  executor: Executor;
  runner: TaskRunner;
  logger: pino.Logger;
  /** Parallel reattaches (default 32). */
  concurrency?: number;
}

export interface RecoverSummary {
  adopted: number;
  exited: number;
  removed: string[];
}

export async function recoverTasks(o: RecoverOptions): Promise<RecoverSummary> {
  const log = o.logger.child({ component: 'recover' });
  const known = new Set<string>();
  let adopted = 0;
  let exited = 0;
  const records = o.store.all();
  const withHandle = records.filter((r) => r.handle);
  for (const r of records) {
    if (r.handle) continue;
    // An action was cut short: no process was recorded, so none is trusted.
    if (r.state === 'starting' || r.state === 'running' || r.state === 'stopping') {
      o.store.update(r.id, (x) => {
        x.state = 'pending';
      });
    }
  }
  const limit = o.concurrency ?? 32;
  for (let i = 0; i < withHandle.length; i += limit) {
    await Promise.all(
      withHandle.slice(i, i + limit).map(async (r) => {
        const handle = r.handle!;
        try {
          const res = await o.executor.reattach(handle);
          if (res.state === 'running') {
            known.add(r.execId);
            adopted++;
            o.store.update(r.id, (x) => {
              x.handle = res.handle;
              // Proven running, whatever was in flight when the agent went away; the next pass decides.
              x.state = 'running';
            });
            o.runner.watch(r.id, res.handle);
            log.info({ job: r.job, group: r.group, index: r.index, task: r.task, pid: res.handle.pid }, 'task adopted');
          } else {
            exited++;
            o.runner.event(r, 'Recovered', res.exit.monitorLost ? "Task's monitor found dead" : 'Task ended while the agent was down');
            await o.runner.recordExit(r.id, res.exit);
          }
        } catch (err) {
          exited++;
          log.warn({ id: r.id, err: describeError(err) }, 'failed to reattach task');
          await o.runner.recordExit(r.id, { code: null, signal: null, oomKilled: false, at: new Date().toISOString(), known: false, message: `failed to reattach: ${describeError(err)}` });
        }
      }),
    );
  }
  await o.store.flush();
  const removed = await o.executor.gc(known);
  if (removed.length) log.warn({ removed }, 'removed leftovers of unknown tasks');
  log.info({ adopted, exited, removed: removed.length }, 'recovery done');
  return { adopted, exited, removed };
}
