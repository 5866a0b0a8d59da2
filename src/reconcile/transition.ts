/**
 * The one place a task record changes: `transition(record, event, ctx)` is a pure function that
 * returns the record after the event, the task events to record, and what the task worker must
 * do next. The worker (`task-worker.ts`) feeds it two kinds of events:
 *
 *  - inputs, submitted through the work queue: `sync` (desired state or time moved), `exited`
 *    (the executor saw the process end), `restart-requested` and `signaled` (operator), and the
 *    recovery events `interrupted`, `rebuilt`, `adopted`;
 *  - outcomes of the worker's own steps: `blocked`, `starting`, `start-failed`, `launched`,
 *    `started`, `killing`, `kill-failed`, `killed`, `stopped`, `updated`.
 *
 * States: pending → starting → running → (exited) restarting | complete | failed | dead;
 * running → stopping → pending (restart) | dead (record removed, or kept while its ordered group
 * stops: `alloc-reset` then brings the group's records back to pending). The restart policy
 * (`restart-policy.ts`) stays a separate pure function called from here.
 */
import type { ExitResult, TaskHandle } from '../executor/executor.js';
import type { NewEvent, TaskEventType, TaskRecord } from '../store/store.js';
import { TASK_EVENT } from '../store/store.js';
import type { DesiredInstance, DiffOptions } from './reconcile.js';
import { decide } from './diff.js';
import { nextRestart } from './restart-policy.js';
import { instanceFields } from './expand.js';
import { restartJobType } from './lifecycle.js';

/** Event types the worker handles, as named constants. */
export const WORKER_EVENT = {
  Sync: 'sync',
  Exited: 'exited',
  RestartRequested: 'restart-requested',
  KillRequested: 'kill-requested',
  Waiting: 'waiting',
  GroupStop: 'group-stop',
  AllocReset: 'alloc-reset',
  Signaled: 'signaled',
  Interrupted: 'interrupted',
  Rebuilt: 'rebuilt',
  Adopted: 'adopted',
  Blocked: 'blocked',
  Starting: 'starting',
  StartFailed: 'start-failed',
  Launched: 'launched',
  Started: 'started',
  Killing: 'killing',
  KillFailed: 'kill-failed',
  Killed: 'killed',
  Stopped: 'stopped',
  Updated: 'updated',
} as const;

export type WorkerEvent =
  /** Look again: decide from the latest desired state and the record. */
  | { type: 'sync' }
  /** The process of `handle` ended (`handle` absent: the record's last run, found ended by recovery). `recovered`: found by recovery. */
  | { type: 'exited'; exit: ExitResult; handle?: TaskHandle; recovered?: string }
  /**
   * An operator (or a hook, `reason`: a template's change_mode) asks for a restart. `failure`: the
   * restart is a failure of the task (check_restart, as Nomad's): it counts against the restart
   * policy, which decides after the stop (delay, or fail once attempts are used up).
   */
  | { type: 'restart-requested'; reason?: string; failure?: boolean }
  /** A hook asks for the task to stop and be failed (a change_script with fail_on_error). */
  | { type: 'kill-requested'; reason: string }
  /** A prestart hook's inputs are not there yet (a template waits for a variable): pending, not failed. */
  | { type: 'waiting'; reason: string; event: TaskEventType }
  /**
   * Lifecycle: the task's group stops around it (its leader ended, a sibling failed, only sidecars
   * are left: `then` pending; the group is removed or restarts: `then` dead, the record stays).
   */
  | { type: 'group-stop'; reason: string; then?: 'pending' | 'dead' }
  /** Lifecycle: a restart of the task's group has run its course; the record starts anew. */
  | { type: 'alloc-reset'; reason: string }
  | { type: 'signaled'; signal: string }
  /** Recovery: an action was cut short and no process was recorded. */
  | { type: 'interrupted' }
  /** Recovery: a record made from the executor's records (replaces the store's, if any). */
  | { type: 'rebuilt'; record: TaskRecord }
  /** Recovery: the executor proved the handle running. `message`: a Recovered event; `rebuilt`: the record was just rebuilt. */
  | { type: 'adopted'; handle: TaskHandle; message?: string; rebuilt?: boolean }
  /** The task cannot start now: its driver is unavailable (`cause` "driver", the default) or its allocation's ports are not to be had ("ports"). */
  | { type: 'blocked'; reason: string; cause?: 'driver' | 'ports' }
  | { type: 'starting'; manual: boolean }
  | { type: 'start-failed'; message: string; unrecoverable: boolean; event?: TaskEventType; /** The full error chain, when `message` is its reason in the task's terms. */ detail?: string }
  | { type: 'launched'; handle: TaskHandle; cores?: number[] }
  | { type: 'started' }
  | { type: 'killing'; reason: string }
  | { type: 'kill-failed'; message: string }
  | { type: 'killed'; exit: ExitResult }
  /**
   * `keep`: not final, but the record stays `dead` (its group is stopping) instead of `pending`; `fail`: it ends `failed`;
   * `policy`: the restart policy decides, as for an exit (a check_restart restart).
   */
  | { type: 'stopped'; final: boolean; keep?: boolean; fail?: string; policy?: boolean }
  | { type: 'updated'; fields: string[]; cores?: number[] };

/** What the worker does next, in order. */
export type WorkerAction =
  | { kind: 'start'; manual: boolean }
  | { kind: 'stop'; final: boolean; reason: string; keep?: boolean; fail?: string; policy?: boolean }
  | { kind: 'update'; fields: string[] }
  /** Remove what the ended run left (bundle, exit file, log collection, reserved cores). */
  | { kind: 'cleanup' }
  /** Follow the handle's exit. */
  | { kind: 'watch'; handle: TaskHandle }
  /** Run the teardown hooks and delete the record. */
  | { kind: 'teardown' }
  /** Count a restart (metrics). */
  | { kind: 'count-restart' };

export interface TransitionContext {
  /** The latest desired instance; undefined when the task is no longer desired. */
  desired: DesiredInstance | undefined;
  /** Epoch ms, driver availability (the diff's inputs). */
  diff: DiffOptions;
  random(): number;
}

export type TaskEventDraft = Omit<NewEvent, 'task' | 'job' | 'file'>;

export interface Transition {
  /** The record after the event; undefined when there is none (or it is to be deleted by `teardown`). */
  record: TaskRecord | undefined;
  /** Whether `record` differs from the one passed in (to be written). */
  changed: boolean;
  events: TaskEventDraft[];
  actions: WorkerAction[];
}

export function exitText(exit: ExitResult): string {
  if (exit.oomKilled) return 'OOM killed';
  if (!exit.known) return exit.message ?? 'exit code not recorded';
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

export function fmtDelay(ms: number): string {
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s` : `${Math.round(ms / 60_000)}m`;
}

export function newRecord(d: DesiredInstance): TaskRecord {
  return {
    ...instanceFields(d),
    execId: d.execId,
    hashes: d.hashes,
    killSignal: d.task.killSignal,
    killTimeoutMs: d.task.killTimeoutMs,
    state: 'pending',
    restarts: 0,
    events: [],
  };
}

/** The parts of the desired spec a record mirrors. */
function adopt(r: TaskRecord, d: DesiredInstance): void {
  r.hashes = d.hashes;
  r.driver = d.task.driver;
  r.file = d.file;
  r.resources = { cpu: d.task.resources.cpu, memoryMB: d.task.resources.memoryMB, memoryMaxMB: d.task.resources.memoryMaxMB, ...(r.resources.cores ? { cores: r.resources.cores } : {}) };
  r.killSignal = d.task.killSignal;
  r.killTimeoutMs = d.task.killTimeoutMs;
}

function sameHandle(a: TaskHandle | undefined, b: TaskHandle): boolean {
  return a !== undefined && a.id === b.id && a.pid === b.pid && a.pidStartTime === b.pidStartTime;
}

const none = (record: TaskRecord | undefined): Transition => ({ record, changed: false, events: [], actions: [] });

/** The restart policy applied to an ended run or a failed start. */
function applyPolicy(x: TaskRecord, out: Transition, exit: { code: number | null }, launchFailed: boolean, ctx: TransitionContext): void {
  const d = ctx.desired;
  if (!d) {
    x.state = 'dead';
    return;
  }
  const now = ctx.diff.now;
  // Lifecycle: an init or ephemeral poststart/poststop task that exits 0 is complete, even in a service job.
  const p = nextRestart(d.task.restart, restartJobType(d.task, d.job.type), { code: exit.code, launchFailed }, x.window, now, ctx.random);
  x.window = p.window;
  if (p.kind === 'restart') {
    x.state = 'restarting';
    x.nextRestartAt = new Date(now + p.delayMs).toISOString();
    out.events.push({ type: TASK_EVENT.Restarting, message: `Task restarting in ${fmtDelay(p.delayMs)}`, details: { delayMs: p.delayMs, reason: p.reason } });
  } else if (p.kind === 'complete') {
    x.state = 'complete';
    out.events.push({ type: TASK_EVENT.Complete, message: p.reason });
  } else {
    x.state = 'failed';
    x.error = x.error ?? p.reason;
    out.events.push({ type: TASK_EVENT.NotRestarting, message: p.reason });
  }
}

/** Copy-on-write: the record passed in is never mutated. */
function copy(r: TaskRecord): TaskRecord {
  return { ...r, resources: { ...r.resources } };
}

export function transition(rec: TaskRecord | undefined, ev: WorkerEvent, ctx: TransitionContext): Transition {
  const d = ctx.desired;
  switch (ev.type) {
    case 'sync': {
      const dec = decide(d, rec, ctx.diff);
      switch (dec.kind) {
        case 'none':
          return none(rec);
        case 'start':
          return { record: rec, changed: false, events: [], actions: [{ kind: 'start', manual: false }] };
        case 'stop':
          return { record: rec, changed: false, events: [], actions: [{ kind: 'stop', final: true, reason: dec.reason ?? 'no longer desired' }] };
        case 'update':
          return { record: rec, changed: false, events: [], actions: [{ kind: 'update', fields: dec.fields ?? [] }] };
        case 'restart':
          return {
            record: rec,
            changed: false,
            events: [{ type: TASK_EVENT.RestartSignaled, message: `Spec changed: ${dec.fields?.join(', ') ?? ''}${atRevision(d)}`, details: { fields: dec.fields, ...revisionDetail(d) } }],
            actions: [{ kind: 'stop', final: false, reason: `spec changed (${dec.fields?.join(', ')})` }],
          };
      }
      return none(rec);
    }
    case 'restart-requested': {
      if (!rec || !d) return none(rec);
      if (ev.failure) {
        // Only a running task fails a health check; the policy decides once it has stopped.
        if (!rec.handle || rec.state !== 'running') return none(rec);
        const reason = ev.reason ?? 'health check failed';
        return { record: rec, changed: false, events: [{ type: TASK_EVENT.RestartSignaled, message: reason }], actions: [{ kind: 'stop', final: false, reason, policy: true }] };
      }
      const x = copy(rec);
      x.window = undefined;
      const actions: WorkerAction[] = [];
      if (rec.handle) actions.push({ kind: 'stop', final: false, reason: 'restart requested' });
      else x.state = 'pending';
      actions.push({ kind: 'start', manual: true });
      return { record: x, changed: true, events: [{ type: TASK_EVENT.RestartSignaled, message: ev.reason ?? 'User requested restart' }], actions };
    }
    case 'kill-requested': {
      if (!rec?.handle || !(rec.state === 'running' || rec.state === 'starting')) return none(rec);
      return { record: rec, changed: false, events: [], actions: [{ kind: 'stop', final: false, reason: ev.reason, fail: ev.reason }] };
    }
    case 'waiting': {
      if (!rec) return none(rec);
      const x = copy(rec);
      x.state = 'pending';
      const events: TaskEventDraft[] = rec.error === ev.reason ? [] : [{ type: ev.event, message: ev.reason }];
      x.error = ev.reason;
      return { record: x, changed: true, events, actions: [] };
    }
    case 'group-stop': {
      if (!rec) return none(rec);
      const keep = ev.then === 'dead';
      if (rec.handle && (rec.state === 'running' || rec.state === 'starting')) {
        return { record: rec, changed: false, events: [], actions: [{ kind: 'stop', final: false, reason: ev.reason, ...(keep ? { keep } : {}) }] };
      }
      if (rec.state !== 'restarting') return none(rec);
      const x = copy(rec);
      x.state = keep ? 'dead' : 'pending';
      x.nextRestartAt = undefined;
      return { record: x, changed: true, events: [{ type: TASK_EVENT.NotRestarting, message: ev.reason }], actions: [] };
    }
    case 'alloc-reset': {
      if (!rec || rec.state === 'pending') return none(rec);
      const x = copy(rec);
      x.state = 'pending';
      x.nextRestartAt = undefined;
      x.error = undefined;
      x.window = undefined;
      return { record: x, changed: true, events: [{ type: TASK_EVENT.RestartSignaled, message: `Group restarts: ${ev.reason}` }], actions: [] };
    }
    case 'signaled':
      if (!rec) return none(rec);
      return { record: rec, changed: false, events: [{ type: TASK_EVENT.Signaled, message: `Task sent ${ev.signal} by an operator`, details: { signal: ev.signal } }], actions: [] };
    case 'exited': {
      if (!rec) return none(rec);
      // An exit of a run that is no longer the record's (stopped on purpose, or superseded) changes nothing.
      if (ev.handle && !sameHandle(rec.handle, ev.handle)) return none(rec);
      const exit = ev.exit;
      const x = copy(rec);
      x.handle = undefined;
      x.lastExit = exit;
      const out: Transition = { record: x, changed: true, events: [], actions: [{ kind: 'cleanup' }] };
      if (ev.recovered) out.events.push({ type: TASK_EVENT.Recovered, message: ev.recovered });
      if (exit.oomKilled) out.events.push({ type: TASK_EVENT.OOMKilled, message: 'Task killed by the OOM killer' });
      if (exit.monitorLost) {
        out.events.push({
          type: TASK_EVENT.MonitorLost,
          message: `Task monitor (pid ${exit.monitorLost.pid}) died: the task's output could no longer be collected, so it was stopped`,
          details: { monitorPid: exit.monitorLost.pid },
        });
      }
      out.events.push({ type: TASK_EVENT.Terminated, message: exitText(exit), details: { code: exit.code, signal: exit.signal, oomKilled: exit.oomKilled } });
      applyPolicy(x, out, exit, false, ctx);
      return out;
    }
    case 'interrupted': {
      if (!rec || rec.handle || !(rec.state === 'starting' || rec.state === 'running' || rec.state === 'stopping')) return none(rec);
      const x = copy(rec);
      x.state = 'pending';
      return { record: x, changed: true, events: [], actions: [] };
    }
    case 'rebuilt':
      return { record: copy(ev.record), changed: true, events: [], actions: [] };
    case 'adopted': {
      if (!rec) return none(rec);
      const x = copy(rec);
      x.handle = ev.handle;
      // Proven running, whatever was in flight when the agent went away; the next sync decides.
      x.state = 'running';
      if (ev.rebuilt) {
        x.startedAt = ev.handle.startedAt;
        x.error = undefined;
      }
      const events: TaskEventDraft[] = ev.message ? [{ type: TASK_EVENT.Recovered, message: ev.message, details: { pid: ev.handle.pid } }] : [];
      return { record: x, changed: true, events, actions: [{ kind: 'watch', handle: ev.handle }] };
    }
    case 'blocked': {
      if (!d) return none(rec);
      const events: TaskEventDraft[] = [];
      const x = rec ? copy(rec) : newRecord(d);
      if (!rec) events.push({ type: TASK_EVENT.Received, message: `Task received by the agent${atRevision(d)}`, details: { file: d.file, ...revisionDetail(d) } });
      const ports = ev.cause === 'ports';
      const error = ports ? `waiting for ports: ${ev.reason}` : `driver ${d.task.driver} unavailable: ${ev.reason}`;
      if (!rec || rec.error !== error || rec.hashes.restart !== d.hashes.restart) events.push({ type: ports ? TASK_EVENT.PortConflict : TASK_EVENT.DriverFailure, message: error });
      adopt(x, d);
      x.state = 'pending';
      x.error = error;
      return { record: x, changed: true, events, actions: [] };
    }
    case 'starting': {
      if (!d) return none(rec);
      const events: TaskEventDraft[] = [];
      const x = rec ? copy(rec) : newRecord(d);
      if (!rec) events.push({ type: TASK_EVENT.Received, message: `Task received by the agent${atRevision(d)}`, details: { file: d.file, ...revisionDetail(d) } });
      const counted = (x.lastExit !== undefined && x.state === 'restarting') || ev.manual;
      adopt(x, d);
      // A record rebuilt under another node id names another allocation: the new run is the desired one's.
      x.allocId = d.allocId;
      x.execId = d.execId;
      x.state = 'starting';
      x.error = undefined;
      x.nextRestartAt = undefined;
      if (counted) x.restarts++;
      return { record: x, changed: true, events, actions: counted ? [{ kind: 'count-restart' }] : [] };
    }
    case 'start-failed': {
      if (!rec) return none(rec);
      const x = copy(rec);
      const msg = `failed to start task: ${ev.message}`;
      x.error = msg;
      const out: Transition = { record: x, changed: true, events: [{ type: ev.event ?? TASK_EVENT.DriverFailure, message: msg, ...(ev.detail ? { details: { error: ev.detail } } : {}) }], actions: [] };
      if (ev.unrecoverable) {
        x.state = 'failed';
        out.events.push({ type: TASK_EVENT.NotRestarting, message: 'Error was unrecoverable' });
      } else {
        applyPolicy(x, out, { code: null }, true, ctx);
      }
      return out;
    }
    case 'launched': {
      if (!rec) return none(rec);
      const x = copy(rec);
      x.handle = ev.handle;
      x.startedAt = ev.handle.startedAt;
      x.resources.cores = ev.cores;
      return { record: x, changed: true, events: [], actions: [] };
    }
    case 'started': {
      if (!rec?.handle) return none(rec);
      const x = copy(rec);
      x.state = 'running';
      return { record: x, changed: true, events: [{ type: TASK_EVENT.Started, message: 'Task started by the agent', details: { pid: rec.handle.pid } }], actions: [{ kind: 'watch', handle: rec.handle }] };
    }
    case 'killing': {
      if (!rec?.handle) return none(rec);
      const x = copy(rec);
      x.state = 'stopping';
      return {
        record: x,
        changed: true,
        events: [{ type: TASK_EVENT.Killing, message: `${ev.reason}: sent ${rec.killSignal}, waiting ${fmtDelay(rec.killTimeoutMs)} before force killing` }],
        actions: [],
      };
    }
    case 'kill-failed': {
      if (!rec) return none(rec);
      const x = copy(rec);
      x.error = `failed to stop task: ${ev.message}`;
      return { record: x, changed: true, events: [{ type: TASK_EVENT.DriverFailure, message: x.error }], actions: [] };
    }
    case 'killed': {
      if (!rec) return none(rec);
      const x = copy(rec);
      x.handle = undefined;
      x.lastExit = ev.exit;
      return { record: x, changed: true, events: [{ type: TASK_EVENT.Killed, message: `Task killed (${exitText(ev.exit)})` }], actions: [] };
    }
    case 'stopped': {
      if (!rec) return none(rec);
      const x = copy(rec);
      if (ev.final) {
        x.state = 'dead';
        return { record: x, changed: true, events: [], actions: [{ kind: 'teardown' }] };
      }
      x.state = ev.fail !== undefined ? 'failed' : ev.keep ? 'dead' : 'pending';
      if (ev.policy && ev.fail === undefined && !ev.keep) {
        const out: Transition = { record: x, changed: true, events: [], actions: [] };
        applyPolicy(x, out, { code: rec.lastExit?.code ?? null }, false, ctx);
        return out;
      }
      if (ev.fail !== undefined) {
        x.error = ev.fail;
        return { record: x, changed: true, events: [{ type: TASK_EVENT.NotRestarting, message: ev.fail }], actions: [] };
      }
      return { record: x, changed: true, events: [], actions: [] };
    }
    case 'updated': {
      if (!rec || !d) return none(rec);
      const x = copy(rec);
      adopt(x, d);
      // Cores are set only when resources were applied ([] or undefined: back to the shared pool).
      if ('cores' in ev) x.resources.cores = ev.cores?.length ? ev.cores : undefined;
      return { record: x, changed: true, events: [{ type: TASK_EVENT.Updated, message: `Task updated in place: ${ev.fields.join(', ')}${atRevision(d)}`, details: { fields: ev.fields, ...revisionDetail(d) } }], actions: [] };
    }
  }
}

/** " (jobs revision 3f2a9c1)" when the jobs dir names a revision: the events of a change say which commit brought it. */
function atRevision(d: DesiredInstance | undefined): string {
  return d?.revision ? ` (jobs revision ${d.revision.slice(0, 7)})` : '';
}

function revisionDetail(d: DesiredInstance | undefined): { revision?: string } {
  return d?.revision ? { revision: d.revision } : {};
}
