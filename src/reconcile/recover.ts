/**
 * Agent start: every recorded handle is proven again by the executor
 * (pid plus start time, runtime state). A running task is adopted without a
 * restart; one that ended while the agent was down has its exit recorded
 * (code when the executor kept it) and the restart policy applies.
 *
 * Then the tasks the executor knows (`list()`: identity, the agent's launch
 * notes, a handle) and the store does not — a store lost, damaged, or an agent
 * that died before recording a handle — get their records rebuilt: a live one
 * is adopted without a restart (the reconcile loop then restarts or stops it
 * only if the job files say so), an ended one has its exit recorded. Never is
 * healthy work killed because of bookkeeping. Last, the executor removes
 * leftovers of ids nobody knows (no readable identity, or a duplicate).
 *
 * Recovery reads the store and asks the executor; what it finds reaches each task's worker as an
 * input (`interrupted`, `rebuilt`, `adopted`, `exited`), so the worker stays the only writer of
 * the records. The worker only records them: it acts once the agent calls `begin()`.
 */
import type pino from 'pino';
import type { Executor, ExitResult, ListedTask, TaskHandle } from '../executor/executor.js';
import type { Store, StoreLoadResult, TaskRecord } from '../store/store.js';
import { describeError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { DesiredInstance } from './reconcile.js';
import type { TaskWorker } from './task-worker.js';
import { rebuildRecord, type TaskNotes } from './rebuild.js';

export interface RecoverOptions {
  store: Store;
  executor: Executor;
  /** Where what recovery finds goes (the worker writes the records). */
  worker: Pick<TaskWorker, 'submit' | 'idle'>;
  logger: pino.Logger;
  clock: Clock;
  /** Parallel reattaches (default 32). */
  concurrency?: number;
  /** The desired instances (kill policy and resources of a rebuilt record without notes). */
  desired: ReadonlyMap<string, DesiredInstance>;
  /** How the store loaded: a store found missing or corrupt while tasks run is reported. */
  storeLoad?: StoreLoadResult;
  /** A running task rebuilt from its notes: its allocation's ports as it was launched with them (the port book takes them back). */
  adoptPorts?(record: TaskRecord, ports: NonNullable<TaskNotes['ports']>): void;
}

export interface RecoverSummary {
  adopted: number;
  exited: number;
  /** Records rebuilt from the executor's records (included in adopted / exited). */
  rebuilt: number;
  removed: string[];
}

export async function recoverTasks(o: RecoverOptions): Promise<RecoverSummary> {
  const log = o.logger.child({ component: 'recover' });
  const known = new Set<string>();
  let adopted = 0;
  let exited = 0;
  const records = o.store.all();
  const withHandle = records.filter((r) => r.handle);
  const now = () => new Date(o.clock.now()).toISOString();
  // An action was cut short: no process was recorded, so none is trusted.
  for (const r of records) if (!r.handle) o.worker.submit(r.id, { type: 'interrupted' });
  const limit = o.concurrency ?? 32;
  // Runs whose exit the records decide (found ended): list() skips them, but not a newer run of
  // the same executor id (a restart launched after the store last recorded a handle).
  const ended = new Map<string, TaskHandle>();
  // The executor's latest run of each id: a record's handle may be a run older than it.
  const latest = new Map<string, ListedTask>();
  try {
    for (const t of await o.executor.list()) latest.set(t.id, t);
  } catch (err) {
    log.warn({ err: describeError(err) }, 'failed to list the executor\'s tasks');
  }
  for (let i = 0; i < withHandle.length; i += limit) {
    await Promise.all(
      withHandle.slice(i, i + limit).map(async (r) => {
        const handle = r.handle!;
        try {
          const res = await o.executor.reattach(handle);
          if (res.state === 'exited' && (await adoptNewerRun(r, handle))) return;
          if (res.state === 'running') {
            known.add(r.execId);
            adopted++;
            o.worker.submit(r.id, { type: 'adopted', handle: res.handle });
            log.info({ job: r.job, group: r.group, index: r.index, task: r.task, pid: res.handle.pid }, 'task adopted');
          } else {
            exited++;
            ended.set(handle.id, handle);
            o.worker.submit(r.id, { type: 'exited', exit: res.exit, handle, recovered: res.exit.monitorLost ? "Task's monitor found dead" : 'Task ended while the agent was down' });
          }
        } catch (err) {
          exited++;
          ended.set(handle.id, handle);
          log.warn({ id: r.id, err: describeError(err) }, 'failed to reattach task');
          o.worker.submit(r.id, { type: 'exited', handle, exit: { code: null, signal: null, oomKilled: false, at: now(), known: false, message: `failed to reattach: ${describeError(err)}` } });
        }
      }),
    );
  }
  /**
   * The recorded run ended, but the executor has a newer run of the same id: a restart launched
   * after the store last recorded a handle (the agent died in between). That run is the task now;
   * the old run's exit was handled before the restart, and its cleanup would destroy the new run.
   */
  async function adoptNewerRun(r: TaskRecord, old: TaskHandle): Promise<boolean> {
    const newer = latest.get(old.id);
    if (!newer || (newer.handle.pid === old.pid && newer.handle.pidStartTime === old.pidStartTime)) return false;
    const res = await o.executor.reattach(newer.handle).catch(() => undefined);
    if (res?.state !== 'running') return false;
    known.add(old.id);
    adopted++;
    o.worker.submit(r.id, { type: 'adopted', handle: res.handle, message: 'Task adopted: its restart was recorded by the executor, not yet by the store', rebuilt: true });
    log.info({ job: r.job, group: r.group, index: r.index, task: r.task, pid: res.handle.pid, was: old.pid }, 'task adopted: a restart the store had not recorded');
    return true;
  }

  // The records as the worker left them decide which of the executor's tasks need rebuilding.
  await o.worker.idle();
  const rb = await rebuild(o, log, ended, known, limit);
  await o.worker.idle();
  adopted += rb.adopted;
  exited += rb.exited;
  report(o, log, rb);
  await o.store.flush();
  const removed = await o.executor.gc(known);
  if (removed.length) log.warn({ removed }, 'removed leftovers of unknown tasks');
  log.info({ adopted, exited, rebuilt: rb.adopted + rb.exited, removed: removed.length }, 'recovery done');
  return { adopted, exited, rebuilt: rb.adopted + rb.exited, removed };
}

interface RebuildSummary {
  adopted: number;
  exited: number;
  /** Of the rebuilt, how many had no launch notes (spec unknown: restarted if still desired). */
  unknownSpec: number;
}

/** Records for the executor's tasks the store lacks; adds the ids it takes charge of to `known`. */
async function rebuild(o: RecoverOptions, log: pino.Logger, ended: ReadonlyMap<string, TaskHandle>, known: Set<string>, limit: number): Promise<RebuildSummary> {
  const out: RebuildSummary = { adopted: 0, exited: 0, unknownSpec: 0 };
  let listed: ListedTask[];
  try {
    listed = await o.executor.list();
  } catch (err) {
    log.warn({ err: describeError(err) }, 'failed to list the executor\'s tasks; none rebuilt');
    return out;
  }
  const todo: { t: ListedTask; id: string; attach: boolean; unknown: boolean }[] = [];
  const claimed = new Set<string>();
  for (const t of listed) {
    if (known.has(t.id)) continue; // adopted from its record
    const old = ended.get(t.id);
    if (old && old.pid === t.handle.pid && old.pidStartTime === t.handle.pidStartTime) continue; // the ended run itself
    const rb = rebuildRecord(t, undefined);
    if (!rb) {
      log.warn({ id: t.id, ...t.identity }, 'task identity does not match its executor id; left to gc');
      continue;
    }
    const id = rb.record.id;
    const r = o.store.get(id);
    // A record without a handle for this very id: the agent died between launch and recording it.
    const attach = r !== undefined && r.execId === t.id && !r.handle;
    if ((r && !attach) || claimed.has(id)) {
      log.warn({ id: t.id, task: id }, 'another run of this task is recorded; left to gc');
      continue;
    }
    claimed.add(id);
    todo.push({ t, id, attach, unknown: !rb.notes });
  }
  for (let i = 0; i < todo.length; i += limit) {
    await Promise.all(
      todo.slice(i, i + limit).map(async ({ t, id, attach, unknown }) => {
        let exit: ExitResult | undefined;
        let res;
        try {
          res = await o.executor.reattach(t.handle);
        } catch (err) {
          exit = { code: null, signal: null, oomKilled: false, at: new Date(o.clock.now()).toISOString(), known: false, message: `failed to reattach: ${describeError(err)}` };
        }
        if (res?.state === 'exited') exit = res.exit;
        const handle = res?.state === 'running' ? res.handle : undefined;
        const rb = rebuildRecord(t, o.desired.get(id))!;
        if (!attach) o.worker.submit(id, { type: 'rebuilt', record: rb.record });
        else if (rb.notes) o.worker.submit(id, { type: 'rebuilt', record: { ...o.store.get(id)!, hashes: rb.notes.hashes } });
        known.add(t.id);
        const r = rb.record;
        const tlog = log.child({ job: r.job, group: r.group, index: r.index, task: r.task });
        if (handle) {
          out.adopted++;
          if (unknown) out.unknownSpec++;
          const message = attach ? 'Task adopted: its launch was recorded by the executor, not yet by the store' : `Task adopted: record rebuilt from the executor's records${unknown ? ' (launch spec unknown)' : ''}`;
          o.worker.submit(id, { type: 'adopted', handle, message, rebuilt: true });
          if (rb.notes?.ports) o.adoptPorts?.(r, rb.notes.ports);
          tlog.info({ pid: handle.pid, execId: t.id, specKnown: !unknown }, 'task adopted without a store record');
        } else {
          out.exited++;
          o.worker.submit(id, { type: 'exited', exit: exit!, recovered: `Task ended while the agent was down; record rebuilt from the executor's records` });
          tlog.info({ execId: t.id }, 'task without a store record ended while the agent was down');
        }
      }),
    );
  }
  return out;
}

/** A store that was lost or damaged while tasks ran: one node event and a warning. */
function report(o: RecoverOptions, log: pino.Logger, rb: RebuildSummary): void {
  const load = o.storeLoad;
  const n = rb.adopted + rb.exited;
  const counts = `${rb.adopted} task${rb.adopted === 1 ? '' : 's'} adopted, ${rb.exited} ended while the agent was down${rb.unknownSpec ? `, ${rb.unknownSpec} of unknown spec (restarted if still desired)` : ''}`;
  if (load?.outcome === 'corrupt') {
    o.store.addEvent({ type: 'Store Rebuilt', message: `state store was corrupt (${load.reason}); moved to ${load.movedTo}; rebuilt from the executor: ${counts}`, details: { ...rb, movedTo: load.movedTo } });
    if (n) log.warn({ reason: load.reason, movedTo: load.movedTo, ...rb }, 'state store was corrupt while tasks ran; records rebuilt from the executor');
  } else if (load?.outcome === 'missing' && n) {
    o.store.addEvent({ type: 'Store Rebuilt', message: `state store was missing; rebuilt from the executor: ${counts}`, details: { ...rb } });
    log.warn({ ...rb, nodeId: load.nodeId }, 'state store was missing while tasks ran; records rebuilt from the executor');
  } else if (n) {
    log.warn({ ...rb }, 'tasks without a store record rebuilt from the executor');
  }
}
