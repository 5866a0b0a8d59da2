/**
 * Lifecycle ordering of one allocation (one group instance), after Nomad's
 * task coordinator and alloc runner (client/allocrunner/tasklifecycle,
 * alloc_runner.go), as pure functions the per-task worker consults on every
 * pass: which task may start now, which must stop now, whether poststop
 * tasks run, and the allocation's phase. No I/O, no clock, no executor.
 *
 * Nomad's semantics, as implemented here:
 *  - prestart tasks start first. Main tasks start once every prestart task
 *    with `sidecar = false` has completed successfully and every prestart
 *    sidecar is running. Ephemeral prestart tasks run once per allocation:
 *    once main tasks have started they are not started again.
 *  - poststart tasks start once every main task has started (is running, or
 *    has run). Poststart sidecars keep running (and restart) while the
 *    allocation runs; ephemeral ones run once.
 *  - A task of the group that fails (restarts exhausted, or a launch error
 *    with no restart left) stops the whole group ("sibling failed"), and a
 *    `leader` task that stops for good (complete, failed, dead) stops its
 *    siblings ("leader dead"). When only sidecars remain alive (every other
 *    non-poststop task is complete, failed or dead), the sidecars are
 *    stopped ("main tasks dead").
 *  - A group stop (file removed, count lowered, an edit that restarts the
 *    group, or one of the reasons above) goes in waves: the leader first,
 *    then the other non-sidecar tasks, then the sidecars; poststop tasks run
 *    once nothing else is alive, and run to completion (they are not
 *    killed); then the allocation is done.
 *  - A task restarts on a successful exit only if it is a sidecar, or a
 *    main task of a service job (restartsOnSuccess).
 *
 * A deliberate difference: poststop tasks run only if some other task of
 * the allocation ran (a group deleted before anything started has nothing
 * to clean up after).
 */
import type { JobType, Task } from '../jobspec/model.js';
import type { TaskState } from '../api/api.js';

export type Hook = 'prestart' | 'main' | 'poststart' | 'poststop';

/** Where a task sits in its group's lifecycle. `sidecar` is only ever true for prestart and poststart. */
export interface Role {
  hook: Hook;
  sidecar: boolean;
  leader: boolean;
}

/** The part of a task (model) the planner reads. */
export type LifecycleTask = Pick<Task, 'name' | 'lifecycle' | 'leader'>;

/** The part of a task record the planner reads (a TaskRecord fits). */
export interface TaskStatus {
  state: TaskState;
}

/**
 * What the worker wants of the allocation:
 *  - `run`: it is desired as it runs;
 *  - `stop`: it is no longer desired (file removed, count lowered, job excluded);
 *  - `restart`: it is desired, but its tasks must restart (spec changed): the
 *    old run is stopped in order (poststop included), then a new one starts.
 */
export type Intent = 'run' | 'stop' | 'restart';

/**
 * - `prestart`: prestart tasks run; the others wait.
 * - `main`: prestart done; main tasks (and prestart sidecars) may start.
 * - `poststart`: every main task has started; poststart tasks may start.
 * - `running`: every ephemeral poststart task has finished; the long-lived tasks run.
 * - `stopping`: the group stops in waves (see `stopOrder`); nothing starts.
 * - `poststop`: nothing but poststop tasks is alive; they run to completion.
 * - `done`: nothing runs and nothing will: for `stop`, tear the allocation
 *   down; for `restart`, reset its records and start it anew; for `run`, it
 *   has finished (outcome) and stays so until its spec changes.
 */
export type AllocPhase = 'prestart' | 'main' | 'poststart' | 'running' | 'stopping' | 'poststop' | 'done';

export interface TaskPlan {
  name: string;
  role: Role;
  /** May the task be started (or restarted) now, if the diff and its restart policy want it to? */
  mayStart: boolean;
  /** Must the task be stopped now (its wave of a group stop has come)? True until it is no longer alive. */
  mustStop: boolean;
  /** Why it may not start, or why it stops: for status ("waiting for prestart task "init" to complete"). */
  reason?: string;
}

export interface AllocPlan {
  phase: AllocPhase;
  /** Why the group stops or stopped ("leader task "web" completed", "task "init" failed", …). */
  reason?: string;
  /** Once stopping: how the run ends. `stopped` for a stop or restart the worker asked for. */
  outcome?: 'complete' | 'failed' | 'stopped';
  /** Poststop tasks may run now. */
  runPoststop: boolean;
  /** Alive tasks still to stop, wave by wave: stop `stopOrder[0]` now, the next once it is done. Empty unless stopping. */
  stopOrder: string[][];
  /** One per task, in the group's order. */
  tasks: TaskPlan[];
}

export interface AllocInput {
  /** The group's tasks, in the group's order. */
  tasks: readonly LifecycleTask[];
  /** Each task's record by task name; absent (undefined) when it has no record yet. */
  states: Readonly<Record<string, TaskStatus | undefined>>;
  intent: Intent;
}

export function roleOf(t: Pick<Task, 'lifecycle' | 'leader'>): Role {
  const hook: Hook = t.lifecycle?.hook ?? 'main';
  return { hook, sidecar: (hook === 'prestart' || hook === 'poststart') && (t.lifecycle?.sidecar ?? false), leader: t.leader };
}

/** A group that orders its tasks at all (a lifecycle hook or a leader): it restarts as a whole, in order. */
export function usesLifecycle(tasks: readonly Pick<Task, 'lifecycle' | 'leader'>[]): boolean {
  return tasks.some((t) => t.lifecycle !== undefined || t.leader);
}

/**
 * Whether a task that exits 0 is started again (Nomad's restart tracker):
 * sidecars always, main tasks of service jobs, nothing else (ephemeral
 * prestart/poststart tasks and poststop tasks are complete on exit 0).
 */
export function restartsOnSuccess(t: Pick<Task, 'lifecycle'>, jobType: JobType): boolean {
  const hook = t.lifecycle?.hook;
  if (hook === 'poststop') return false;
  if (hook === 'prestart' || hook === 'poststart') return t.lifecycle!.sidecar;
  return jobType === 'service';
}

/**
 * The job type to hand to `nextRestart` (restart-policy.ts) so that it applies
 * restartsOnSuccess: `batch` completes a task on exit 0, `service` restarts it.
 */
export function restartJobType(t: Pick<Task, 'lifecycle'>, jobType: JobType): JobType {
  return restartsOnSuccess(t, jobType) ? 'service' : 'batch';
}

/**
 * The intent for an allocation of a group that usesLifecycle: `stop` when it
 * is not desired; `restart` when a task whose spec changed has run in the
 * current run (it is not pending, or has no record); else `run`. After a
 * restart reaches `done`, the worker resets every record of the allocation
 * to `pending`, which makes the intent `run` again.
 */
export function intentOf(desired: boolean, tasks: readonly { status: TaskStatus | undefined; specChanged: boolean }[]): Intent {
  if (!desired) return 'stop';
  return tasks.some((t) => t.specChanged && t.status !== undefined && t.status.state !== 'pending') ? 'restart' : 'run';
}

/**
 * The order in which a group stops: the leader, then every other task that
 * is neither a sidecar nor poststop, then the sidecars. Poststop tasks are
 * not stopped: they run after. Empty waves are left out.
 */
export function stopWaves(tasks: readonly LifecycleTask[]): string[][] {
  const leader: string[] = [];
  const others: string[] = [];
  const sidecars: string[] = [];
  for (const t of tasks) {
    const r = roleOf(t);
    if (r.hook === 'poststop') continue;
    if (r.leader) leader.push(t.name);
    else if (r.sidecar) sidecars.push(t.name);
    else others.push(t.name);
  }
  return [leader, others, sidecars].filter((w) => w.length > 0);
}

const RANK: Record<Hook, number> = { prestart: 0, main: 1, poststart: 2, poststop: 3 };

/** Position of a task in display order: prestart, main, poststart, poststop (no lifecycle: main). */
export function displayRank(lifecycle: Task['lifecycle'] | undefined): number {
  return RANK[lifecycle?.hook ?? 'main'];
}

/** A group's tasks in display order (stable within a hook). */
export function orderForDisplay<T extends Pick<Task, 'lifecycle'>>(tasks: readonly T[]): T[] {
  return tasks
    .map((t, i) => ({ t, i }))
    .sort((a, b) => displayRank(a.t.lifecycle) - displayRank(b.t.lifecycle) || a.i - b.i)
    .map((x) => x.t);
}

/** "prestart", "prestart sidecar", "poststart", "poststop", or undefined for a main task; "leader" is added when set. */
export function hookLabel(lifecycle: Task['lifecycle'] | undefined, leader = false): string | undefined {
  const parts: string[] = [];
  if (lifecycle) {
    parts.push(lifecycle.hook);
    if (lifecycle.sidecar && lifecycle.hook !== 'poststop') parts.push('sidecar');
  }
  if (leader) parts.push('leader');
  return parts.length ? parts.join(' ') : undefined;
}

// ── the planner ────────────────────────────────────────────────────────────

type Entry = { task: LifecycleTask; role: Role; s: TaskStatus | undefined };

/** A process exists or will exist without a new start: it must be stopped to be gone. */
function isAlive(s: TaskStatus | undefined): boolean {
  return s !== undefined && (s.state === 'starting' || s.state === 'running' || s.state === 'restarting' || s.state === 'stopping');
}

/** Finished for this run: it will not start again without a new run. */
function isOver(s: TaskStatus | undefined): boolean {
  return s !== undefined && (s.state === 'complete' || s.state === 'failed' || s.state === 'dead');
}

/** Has started at least once in this run. */
function hasRun(s: TaskStatus | undefined): boolean {
  if (s === undefined || s.state === 'pending' || s.state === 'starting') return false;
  return true;
}

const names = (es: Entry[]): string => es.map((e) => `"${e.task.name}"`).join(', ');
const plural = (es: Entry[], one: string, many: string): string => (es.length === 1 ? one : many);

/** Why a running group stops by itself (Nomad's leader-dead, sibling-failed and main-dead rules), if it does. */
function selfStop(entries: Entry[]): { reason: string; outcome: 'complete' | 'failed' } | undefined {
  const body = entries.filter((e) => e.role.hook !== 'poststop');
  const failed = body.find((e) => e.s?.state === 'failed');
  const outcome = failed ? 'failed' : 'complete';
  const leader = body.find((e) => e.role.leader && isOver(e.s));
  if (leader) {
    const how = leader.s!.state === 'complete' ? 'completed' : leader.s!.state === 'failed' ? 'failed' : 'stopped';
    return { reason: `leader task "${leader.task.name}" ${how}`, outcome };
  }
  if (failed) return { reason: `task "${failed.task.name}" failed`, outcome };
  const nonSidecars = body.filter((e) => !e.role.sidecar);
  if (nonSidecars.length > 0 && nonSidecars.every((e) => isOver(e.s))) return { reason: 'main tasks finished', outcome };
  return undefined;
}

/** The plan for one allocation now. Call it on every pass, with the records as they are. */
export function planAlloc(input: AllocInput): AllocPlan {
  const entries: Entry[] = input.tasks.map((task) => ({ task, role: roleOf(task), s: input.states[task.name] }));
  const plan = (phase: AllocPhase, extra: Partial<AllocPlan>, each: (e: Entry) => Omit<TaskPlan, 'name' | 'role'>): AllocPlan => ({
    phase,
    runPoststop: false,
    stopOrder: [],
    ...extra,
    tasks: entries.map((e) => ({ name: e.task.name, role: e.role, ...each(e) })),
  });

  const stop =
    input.intent === 'stop'
      ? { reason: 'the group is no longer desired', outcome: 'stopped' as const }
      : input.intent === 'restart'
        ? { reason: 'the group restarts with a new spec', outcome: 'stopped' as const }
        : selfStop(entries);

  if (stop) {
    const byName = new Map(entries.map((e) => [e.task.name, e]));
    const order = stopWaves(input.tasks)
      .map((w) => w.filter((n) => isAlive(byName.get(n)!.s)))
      .filter((w) => w.length > 0);
    if (order.length > 0) {
      const now = new Set(order[0]);
      return plan('stopping', { reason: stop.reason, outcome: stop.outcome, stopOrder: order }, (e) => {
        if (now.has(e.task.name)) return { mayStart: false, mustStop: true, reason: `stopping: ${stop.reason}` };
        if (e.role.hook === 'poststop') return { mayStart: false, mustStop: false, reason: 'waiting for the other tasks to stop' };
        if (isAlive(e.s)) return { mayStart: false, mustStop: false, reason: `stops after ${names(entries.filter((x) => now.has(x.task.name)))}` };
        return { mayStart: false, mustStop: false, reason: `group stopping: ${stop.reason}` };
      });
    }
    const ran = entries.some((e) => e.role.hook !== 'poststop' && hasRun(e.s));
    const post = entries.filter((e) => e.role.hook === 'poststop');
    if (ran && post.some((e) => !isOver(e.s))) {
      return plan('poststop', { reason: stop.reason, outcome: stop.outcome, runPoststop: true }, (e) => {
        if (e.role.hook === 'poststop') return isOver(e.s) ? { mayStart: false, mustStop: false, reason: e.s!.state } : { mayStart: true, mustStop: false };
        return { mayStart: false, mustStop: false, reason: `group stopped: ${stop.reason}` };
      });
    }
    return plan('done', { reason: stop.reason, outcome: stop.outcome }, () => ({ mayStart: false, mustStop: false, reason: `group ${stop.outcome}: ${stop.reason}` }));
  }

  // Running: how far the start order has come.
  const of = (hook: Hook, sidecar?: boolean) => entries.filter((e) => e.role.hook === hook && (sidecar === undefined || e.role.sidecar === sidecar));
  const initTasks = of('prestart', false);
  const preSidecars = of('prestart', true);
  const mains = of('main');
  const postEphemeral = of('poststart', false);
  const initPending = initTasks.filter((e) => e.s?.state !== 'complete');
  const sidecarsDown = preSidecars.filter((e) => e.s?.state !== 'running');
  const mainsStarted = mains.every((e) => hasRun(e.s));
  const prestartDone = mains.some((e) => hasRun(e.s)) || (initPending.length === 0 && sidecarsDown.length === 0);
  const phase: AllocPhase = !prestartDone ? 'prestart' : !mainsStarted ? 'main' : postEphemeral.some((e) => !isOver(e.s)) ? 'poststart' : 'running';

  const waitPrestart = (): string => {
    const parts: string[] = [];
    if (initPending.length) parts.push(`prestart ${plural(initPending, 'task', 'tasks')} ${names(initPending)} to complete`);
    if (sidecarsDown.length) parts.push(`prestart ${plural(sidecarsDown, 'sidecar', 'sidecars')} ${names(sidecarsDown)} to run`);
    return `waiting for ${parts.join(' and ')}`;
  };
  const waitMains = (): string => {
    const notYet = mains.filter((e) => !hasRun(e.s));
    return `waiting for main ${plural(notYet, 'task', 'tasks')} ${names(notYet)} to run`;
  };

  return plan(phase, {}, (e) => {
    if (e.s?.state === 'complete' || e.s?.state === 'failed') return { mayStart: false, mustStop: false, reason: e.s.state };
    switch (e.role.hook) {
      case 'prestart':
        if (e.role.sidecar || phase === 'prestart') return { mayStart: true, mustStop: false };
        return { mayStart: false, mustStop: false, reason: 'prestart is over: the main tasks have started' };
      case 'main':
        return phase === 'prestart' ? { mayStart: false, mustStop: false, reason: waitPrestart() } : { mayStart: true, mustStop: false };
      case 'poststart':
        if (phase === 'prestart') return { mayStart: false, mustStop: false, reason: waitPrestart() };
        if (phase === 'main') return { mayStart: false, mustStop: false, reason: waitMains() };
        if (e.role.sidecar || phase === 'poststart') return { mayStart: true, mustStop: false };
        return { mayStart: false, mustStop: false, reason: 'poststart is over' };
      case 'poststop':
        return { mayStart: false, mustStop: false, reason: 'runs after the main tasks stop' };
    }
  });
}
