/**
 * The task worker's contract with the agent: what reaches a task's worker through the queue,
 * the metrics it reports, its options, and the two timed inputs it arms for itself (a running
 * handle's exit, a restart's due time). The worker itself is task-worker.ts.
 */
import type pino from 'pino';
import type { Executor, ExitResult, TaskHandle } from '../executor/executor.js';
import type { NodeInfo } from '../jobspec/model.js';
import type { Driver } from '../drivers/driver.js';
import type { Store } from '../store/store.js';
import { describeError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { DesiredInstance, DiffOptions } from './reconcile.js';
import type { AllocatedPort, PortsForStart } from '../ports/ports.js';
import type { WorkerEvent } from './transition.js';
import type { TaskHooks } from './hooks.js';

/** What reaches a task's worker through the queue. */
export type WorkerInput =
  | { type: 'sync' }
  | { type: 'restart-requested'; reason?: string; failure?: boolean }
  | { type: 'kill-requested'; reason: string }
  /** Send `signal` to the running task; `done` is called with the outcome. */
  | { type: 'signal'; signal: string; done(err?: unknown): void }
  | Extract<WorkerEvent, { type: 'exited' | 'interrupted' | 'rebuilt' | 'adopted' }>;

/** The metrics the worker reports (the agent's AgentMetrics satisfies it). */
export interface WorkerMetrics {
  taskStarted(driver: string, latencyMs: number): void;
  taskExited(driver: string, exit: { code: number | null; signal?: string | null; oomKilled?: boolean }): void;
  restart(driver: string): void;
  oomKill(driver: string): void;
  queueDepth(n: number): void;
}

export interface TaskWorkerOptions {
  store: Store;
  executor: Executor;
  drivers: Map<string, Driver>;
  node: NodeInfo;
  dataDir: string;
  agentEnv: Record<string, string | undefined>;
  logger: pino.Logger;
  metrics: WorkerMetrics;
  clock: Clock;
  /** Runs at once (the queue's concurrency). */
  concurrency: number;
  /** Exclusive CPUs (`cores`), when the executor can pin them. */
  reserveCores?(execId: string, count: number): number[];
  /** Hooks and the group order (default: none, every task acts on its own). */
  hooks?: TaskHooks;
  /** The allocations' ports (the agent's port book); absent: tasks get none. */
  ports?: PortGate;
  /** After each run of a task (metrics). */
  onRun?(id: string): void;
}

/** What the worker asks of the port book (src/ports/book.ts). */
export interface PortGate {
  /** The ports for a start of this instance, or why its allocation cannot have them now. */
  forStart(d: DesiredInstance): PortsForStart;
  /** Why the instance's allocation has no ports for its current spec (undefined: it has them or asks for none). */
  blocked(d: DesiredInstance): string | undefined;
  /** The ports an allocation holds now (a recovered task's, for its poststart hooks). */
  portsOf?(allocId: string): readonly AllocatedPort[] | undefined;
}

/** How inputs queued for one task combine before its next run. */
export function mergeInputs(pending: WorkerInput[], next: WorkerInput): WorkerInput[] {
  // Every run ends with a sync; a restart request counts once.
  if (next.type === 'sync') return pending;
  if (next.type === 'restart-requested' && pending.some((p) => p.type === 'restart-requested')) return pending;
  return [...pending, next];
}

/** The diff's inputs now: the time, why a driver cannot run tasks (undefined when it can), why an allocation has no ports. */
export function diffOptionsFor(drivers: ReadonlyMap<string, Driver>, clock: Clock, ports?: Pick<PortGate, 'blocked'>): DiffOptions {
  return {
    now: clock.now(),
    ...(ports ? { allocBlocked: (d: DesiredInstance) => ports.blocked(d) } : {}),
    driverBlocked: (name) => {
      const d = drivers.get(name);
      if (!d) return `unknown driver "${name}"`;
      const a = d.availability();
      return a.ok ? undefined : a.reason;
    },
  };
}

/**
 * The worker's own timed inputs: each running handle's exit (it comes back as an `exited`
 * input, unless the handle was stopped on purpose or superseded meanwhile) and each restart's
 * due time (a sync when it fires).
 */
export class TaskTimers {
  readonly #watching = new Map<string, TaskHandle>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #closed = false;
  readonly #o: { executor: Executor; store: Store; clock: Clock; logger: pino.Logger; submit(id: string, input?: WorkerInput): void };

  constructor(o: { executor: Executor; store: Store; clock: Clock; logger: pino.Logger; submit(id: string, input?: WorkerInput): void }) {
    this.#o = o;
  }

  /** Follow a running handle's exit. */
  watch(id: string, handle: TaskHandle): void {
    this.#watching.set(id, handle);
    const exited = (exit: ExitResult) => {
      if (this.#watching.get(id) !== handle) return; // stopped on purpose, or superseded
      this.#watching.delete(id);
      this.#o.submit(id, { type: 'exited', handle, exit });
    };
    this.#o.executor.wait(handle).then(exited, (err) => {
      this.#o.logger.error({ id, err: describeError(err) }, 'failed to wait for task');
      exited({ code: null, signal: null, oomKilled: false, at: new Date(this.#o.clock.now()).toISOString(), known: false, message: `lost track of the task: ${describeError(err)}` });
    });
  }

  /** The task is being stopped on purpose: its exit is not an input. */
  unwatch(id: string): void {
    this.#watching.delete(id);
  }

  /** A task waiting to restart gets a timer for its restart time; any other loses its timer. */
  arm(id: string): void {
    const r = this.#o.store.get(id);
    const at = r?.state === 'restarting' && r.nextRestartAt ? Date.parse(r.nextRestartAt) : undefined;
    const cur = this.#timers.get(id);
    if (cur && cur.at === at) return;
    if (cur) clearTimeout(cur.timer);
    this.#timers.delete(id);
    if (at === undefined || this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.#o.submit(id);
    }, Math.max(0, at - this.#o.clock.now()));
    timer.unref?.();
    this.#timers.set(id, { at, timer });
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    this.#watching.clear();
  }
}
