/**
 * The task hook contract (after Nomad's `client/allocrunner/interfaces/task_lifecycle.go`).
 *
 * The task worker (`task-worker.ts`) runs every task through fixed points; at each one it calls
 * the hooks registered for it, in registration order. A hook is a small object with a `name` and
 * the one method of its point; a new capability (artifacts, templates, volumes, checks) is a new
 * hook in its own file, registered by the agent (`src/agent/hooks.ts`), never a new branch in the
 * worker.
 *
 *   start:    order ─▶ ports ─▶ driver task dirs + user ─▶ prestart hooks ─▶ driver prepare ─▶ launch
 *             ─▶ handle persisted ─▶ "Started" ─▶ poststart hooks
 *   recover:  a running task adopted after an agent restart ─▶ poststart hooks (`recovered`)
 *   exit:     "Terminated" + restart policy ─▶ exited hooks
 *   update:   resources applied in place ─▶ update hooks (templates re-rendered)
 *   stop:     stop hooks ─▶ kill signal, kill timeout ─▶ "Killed"
 *             ─▶ teardown hooks (when the task is no longer desired, before its record goes)
 *
 * Rules every hook follows:
 *  - Hooks run inside the worker, one task operation at a time: a hook never writes the task's
 *    record. It reports progress through `emit` (task events, Nomad's wording: "Task Setup",
 *    "Downloading Artifacts", "Failed Artifact Download", …) and failure by throwing.
 *  - A prestart hook that throws fails the start: its message becomes the task's error and a
 *    "Setup Failure" event (after any event the hook emitted itself, e.g. "Failed Artifact
 *    Download"), the later hooks and the launch do not run, and the restart policy decides as for
 *    any failed start (a TendError coded E_SPEC_INVALID, E_USER_DENIED,
 *    E_CAPABILITY_DENIED or E_DRIVER_UNAVAILABLE is unrecoverable: the task fails at once).
 *  - A prestart hook whose inputs are not there yet (a template waiting for a variable) throws a
 *    TendError coded E_NOT_READY: the task waits (`pending`, the message as its error and one
 *    event) without using the restart policy, and the hook calls `task.wake()` when the input
 *    arrives.
 *  - `signal` aborts when the agent shuts down; long work (downloads) must stop on it.
 *  - Hooks of other points log and swallow their errors: a poststart, exited, stop or teardown
 *    hook cannot change the task's fate.
 *  - Hooks must be idempotent: a restart runs the start hooks again, and an agent that dies
 *    mid-hook runs them again for the same task dirs.
 */
import type pino from 'pino';
import type { ExitResult, TaskHandle } from '../executor/executor.js';
import type { TaskDirs } from '../drivers/alloc-dir.js';
import type { ResolvedUser } from '../drivers/user.js';
import type { AllocatedPort } from '../ports/ports.js';
import type { TaskEventType, TaskRecord } from '../store/store.js';
import type { DesiredInstance } from './reconcile.js';

/** Records one task event (appears in `tendctl events` and the task's status). */
export type EmitEvent = (type: TaskEventType, message: string, details?: Record<string, unknown>) => void;

/**
 * What a hook may ask of its task later, through the task's worker (in turn with its other
 * work): a hook never acts on the process or the record itself.
 */
export interface TaskControl {
  /**
   * Restart the task (a restart requested by the hook: `reason` is the event's message). With
   * `failure` (check_restart) the restart counts against the task's restart policy, as Nomad's:
   * the policy's delay applies, and a task out of attempts fails (mode "fail").
   */
  restart(reason: string, opts?: { failure?: boolean }): void;
  /** Send a signal to the running task. */
  signal(signal: string): Promise<void>;
  /** Run a command inside the running task; resolves with its exit code and (bounded) output. */
  exec(command: string[], timeoutMs: number): Promise<{ code: number; output: string }>;
  /** Stop the task and mark it failed with `reason`. */
  kill(reason: string): void;
  /** Look at the task again (a waiting prestart hook's input arrived). */
  wake(): void;
}

interface HookContextBase {
  /** Child logger with the task's job, group, index and task fields. */
  logger: pino.Logger;
  emit: EmitEvent;
}

export interface PrestartContext extends HookContextBase {
  /** The desired instance being started (job, group, task as the job file gives them, not interpolated). */
  instance: DesiredInstance;
  /** The task's dirs, made and owned by the task's user (`local/`, `secrets/`, `tmp/`, shared `alloc/`). */
  dirs: TaskDirs;
  /** Who the task runs as, when the agent is root (undefined: the agent's own user). Files a hook writes for the task belong to it. */
  user?: ResolvedUser;
  /** The allocation's ports (for the task's runtime variables: `RuntimeContext.ports`); empty when it has none. */
  ports?: readonly AllocatedPort[];
  /** Aborted when the agent shuts down. */
  signal: AbortSignal;
  /** Add variables to the task's environment (template `env = true`); later hooks and the task see them. */
  setEnv(env: Record<string, string>): void;
  /** The task, for what a hook does after the start (template change modes). */
  task: TaskControl;
}

export interface UpdateContext extends HookContextBase {
  /** The new desired instance. */
  instance: DesiredInstance;
  /** The record after the update. */
  record: Readonly<TaskRecord>;
  /** The fields that changed in place (`templates`, `resources.memory`, `kill_timeout`, …). */
  fields: string[];
}

export interface PoststartContext extends HookContextBase {
  instance: DesiredInstance;
  dirs: TaskDirs;
  handle: TaskHandle;
  /** The allocation's ports (empty when it has none). */
  ports: readonly AllocatedPort[];
  /** The task, for what a hook does while it runs (script checks, check_restart). */
  task: TaskControl;
  /**
   * The task was found running by recovery (an agent restart), not started now: poststart hooks
   * run again for it, so that what they set up while it runs (service registrations) comes back.
   */
  recovered?: boolean;
}

export interface ExitedContext extends HookContextBase {
  /** The record after the exit was applied (its state says what the restart policy decided). */
  record: Readonly<TaskRecord>;
  exit: ExitResult;
}

export interface StopContext extends HookContextBase {
  record: Readonly<TaskRecord>;
  /** Why the task stops ("no longer in the job files", "restart requested", …). */
  reason: string;
  /** True when the task is no longer desired (its record goes after the teardown hooks). */
  final: boolean;
}

export interface TeardownContext extends HookContextBase {
  record: Readonly<TaskRecord>;
  dataDir: string;
  /** No other task of the allocation remains: shared allocation state may go. */
  lastOfAlloc: boolean;
}

export interface PrestartHook {
  readonly name: string;
  /** Before the driver prepares the launch; throwing fails the start. */
  prestart(ctx: PrestartContext): Promise<void>;
}

export interface PoststartHook {
  readonly name: string;
  /** After the task is reported started. */
  poststart(ctx: PoststartContext): Promise<void>;
}

export interface ExitedHook {
  readonly name: string;
  /** After a task ended on its own (or while the agent was down) and the restart policy decided. */
  exited(ctx: ExitedContext): Promise<void>;
}

export interface UpdateHook {
  readonly name: string;
  /** After the task was updated in place (no new process). */
  update(ctx: UpdateContext): Promise<void>;
}

export interface StopHook {
  readonly name: string;
  /** Before the kill signal is sent to a running task. */
  stop(ctx: StopContext): Promise<void>;
}

export interface TeardownHook {
  readonly name: string;
  /** After a task that is no longer desired has stopped, before its record is deleted. */
  teardown(ctx: TeardownContext): Promise<void>;
}

/**
 * What the order of a task's allocation asks of the task now (Nomad's task lifecycle):
 *  - `act`: decide as usual (the diff and the restart policy). `noStart`: a start is not allowed
 *    now, and why (the task waits for its turn: it is asked again when a peer changes state).
 *    `lingers`: the task is no longer desired but still has to run (a poststop task of a group
 *    being removed): act with its last desired instance;
 *  - `hold`: do nothing now (a live task waiting for its turn to stop, a stopped one waiting for
 *    the rest of the group); asked again when a task of the allocation changes state;
 *  - `stop`: its wave of a group stop has come. `then`: the record's state after the stop,
 *    `pending` for a group that ended by itself, `dead` for one being removed or restarted
 *    (the record stays until the whole group has stopped);
 *  - `reset`: a restart of the allocation has run its course (every task stopped, poststop
 *    tasks done): every record of the allocation goes back to `pending`, to start anew in order.
 */
export type OrderStep =
  | { kind: 'act'; noStart?: string; lingers?: boolean }
  | { kind: 'hold'; reason: string }
  | { kind: 'stop'; reason: string; then: 'pending' | 'dead' }
  | { kind: 'reset'; reason: string };

export interface OrderContext {
  /** The task's desired instance, or its last one when it is no longer desired. */
  instance: DesiredInstance;
  /** Its record, if it has one. */
  self: Readonly<TaskRecord> | undefined;
  /** The other records of its allocation. */
  peers: readonly Readonly<TaskRecord>[];
  /** No task of the allocation is desired any more (its file was removed, its count lowered). */
  leaving: boolean;
  /** Whether a record's restart-relevant spec differs from its desired instance's. */
  specChanged(record: Readonly<TaskRecord>): boolean;
}

/**
 * The order of an allocation's tasks, consulted on every sync and before every start (first
 * start, restart, spec change). Lifecycle ordering plugs in here.
 */
export interface TaskOrder {
  step(ctx: OrderContext): OrderStep;
  /** Whether this instance's allocation is ordered at all (the worker then wakes all its tasks on any change). */
  orders(instance: DesiredInstance): boolean;
}

export const ACT: OrderStep = { kind: 'act' };

/** The order when nothing orders tasks: every task acts on its own. */
export const noOrder: TaskOrder = { step: () => ACT, orders: () => false };

/** Every hook the worker runs, by point, in order. */
export interface TaskHooks {
  prestart: PrestartHook[];
  poststart: PoststartHook[];
  exited: ExitedHook[];
  stop: StopHook[];
  update: UpdateHook[];
  teardown: TeardownHook[];
  order: TaskOrder;
}

export function emptyHooks(): TaskHooks {
  return { prestart: [], poststart: [], exited: [], stop: [], update: [], teardown: [], order: noOrder };
}
