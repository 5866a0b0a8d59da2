/**
 * The task worker: the only code that changes a task's record (the kubelet's pod worker, fed by
 * PLEG; Nomad's task runner). Everything that concerns a task reaches it as an input on the keyed
 * work queue: a sync (the reconcile pass, a restart timer, a file change), an exit seen by the
 * executor, an operator's restart or signal, and what recovery found. One run per task at a time;
 * inputs that arrive meanwhile wait for the next run (syncs merge into one).
 *
 * A run hands each input to the pure `transition()` (`transition.ts`), writes the record it
 * returns, records its events and carries out its actions: start (group order, driver task dirs,
 * prestart hooks, prepare, launch, persist the handle, "Started", poststart hooks), stop (stop
 * hooks, kill signal and timeout, cleanup, teardown hooks), update in place, cleanup of an ended
 * run. Then, once the agent has recovered (`begin()`), it syncs: decides from the latest desired
 * state and acts, until nothing is left to do.
 */
import type pino from 'pino';
import type { Executor, ExitResult, TaskHandle } from '../executor/executor.js';
import type { NodeInfo } from '../jobspec/model.js';
import type { Driver, TaskSetup } from '../drivers/driver.js';
import { taskDirs } from '../drivers/alloc-dir.js';
import { TASK_EVENT, type Store, type TaskEventType } from '../store/store.js';
import { TendError, describeError, isTendError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { DesiredInstance, DiffOptions } from './reconcile.js';
import { WorkQueue } from './work-queue.js';
import { transition, type Transition, type WorkerAction, type WorkerEvent } from './transition.js';
import { ACT, emptyHooks, type EmitEvent, type OrderStep, type TaskHooks } from './hooks.js';
import { taskNotes } from './rebuild.js';

/** What reaches a task's worker through the queue. */
export type WorkerInput =
  | { type: 'sync' }
  | { type: 'restart-requested' }
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
  /** After each run of a task (metrics). */
  onRun?(id: string): void;
}

/** Launch errors no retry can fix: the task fails at once. */
const UNRECOVERABLE = new Set(['E_SPEC_INVALID', 'E_USER_DENIED', 'E_CAPABILITY_DENIED', 'E_DRIVER_UNAVAILABLE']);

/** Steps of one sync before the task goes back to the queue (a spec change is a stop then a start). */
const SYNC_STEPS = 4;

function mergeInputs(pending: WorkerInput[], next: WorkerInput): WorkerInput[] {
  // Every run ends with a sync; a restart request counts once.
  if (next.type === 'sync') return pending;
  if (next.type === 'restart-requested' && pending.some((p) => p.type === 'restart-requested')) return pending;
  return [...pending, next];
}

export class TaskWorker {
  readonly #o: TaskWorkerOptions;
  readonly #log: pino.Logger;
  readonly #queue: WorkQueue<WorkerInput>;
  readonly #hooks: TaskHooks;
  readonly #abort = new AbortController();
  #desired: ReadonlyMap<string, DesiredInstance> = new Map();
  /** Allocations with a desired task. */
  #desiredAllocs = new Set<string>();
  /** The last instance of tasks that left the desired set while their group is ordered (see setDesired). */
  readonly #leaving = new Map<string, DesiredInstance>();
  /** Tasks no longer desired that still run as their last instance (poststop of a removed group). */
  readonly #lingering = new Set<string>();
  /** Tasks whose order holds them (logged once per reason). */
  readonly #held = new Map<string, string>();
  /** Handles whose exit is being watched, by task id. */
  readonly #watching = new Map<string, TaskHandle>();
  /** Restart timers, by task id. */
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #live = false;
  #closed = false;

  constructor(opts: TaskWorkerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'worker' });
    this.#hooks = opts.hooks ?? emptyHooks();
    this.#queue = new WorkQueue<WorkerInput>({
      concurrency: opts.concurrency,
      run: (id, inputs) => this.#run(id, inputs),
      merge: mergeInputs,
      onDropped: (_id, inputs) => {
        for (const i of inputs) if (i.type === 'signal') i.done(new TendError('E_BAD_REQUEST', 'failed to signal task: the agent is shutting down'));
      },
      onError: (id, err) => this.#log.error({ id, err: describeError(err) }, 'task action failed'),
      onDepth: (n) => opts.metrics.queueDepth(n),
    });
  }

  /** The desired set, as the reconcile loop expanded it (read when a task's run decides). */
  setDesired(desired: ReadonlyMap<string, DesiredInstance>): void {
    // Tasks of an ordered group (lifecycle) that leave the desired set stop in their group's order
    // (and its poststop tasks run): keep their last instance until their allocation is gone.
    const order = this.#hooks.order;
    for (const [id, d] of this.#desired) if (!desired.has(id) && order.orders(d)) this.#leaving.set(id, d);
    for (const id of this.#leaving.keys()) if (desired.has(id)) this.#leaving.delete(id);
    this.#desired = desired;
    this.#desiredAllocs = new Set([...desired.values()].map((d) => d.allocId));
    this.#forgetLeft();
  }

  /** Recovery is over: from now on a run also decides and acts (before, inputs are only recorded). */
  begin(): void {
    this.#live = true;
  }

  /** Hand an input to a task's worker (no input: just sync). False once closed. */
  submit(id: string, input?: WorkerInput): boolean {
    return this.#queue.submit(id, input);
  }

  /** Send a signal to a running task, in turn with the task's other work. */
  signal(id: string, signal: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ok = this.submit(id, { type: 'signal', signal, done: (err) => (err ? reject(err) : resolve()) });
      if (!ok) reject(new TendError('E_BAD_REQUEST', 'failed to signal task: the agent is shutting down'));
    });
  }

  /** Tasks queued or running. */
  get depth(): number {
    return this.#queue.depth;
  }

  /** Resolves when no task has work queued or running. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Stop taking work: queued runs are dropped, running ones get `drainMs` to finish. With
   * `stopTasks`, every task is then stopped (the queue is closed, so nothing else acts on them).
   * Resolves false when runs were still in flight at the deadline.
   */
  async close(opts: { stopTasks?: boolean; drainMs?: number } = {}): Promise<boolean> {
    this.#closed = true;
    this.#abort.abort();
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    const drained = await this.#queue.drain(opts.drainMs ?? 5000);
    if (opts.stopTasks) {
      const ids = this.#o.store.all().map((r) => r.id);
      await Promise.all(ids.map((id) => this.#stop(id, true, 'agent shutting down').catch(() => {})));
    }
    this.#watching.clear();
    return drained;
  }

  // ---- one run ----

  async #run(id: string, inputs: WorkerInput[]): Promise<void> {
    const before = this.#o.store.get(id)?.state;
    try {
      for (const input of inputs) await this.#input(id, input);
      if (this.#live && !this.#closed) await this.#sync(id);
    } finally {
      this.#armTimer(id);
      const after = this.#o.store.get(id);
      const allocId = after?.allocId ?? this.#desired.get(id)?.allocId ?? this.#leaving.get(id)?.allocId;
      if (!after) this.#forgetLeft();
      if (after?.state !== before) this.#wakePeers(id, allocId);
      this.#o.onRun?.(id);
    }
  }

  async #input(id: string, input: WorkerInput): Promise<void> {
    switch (input.type) {
      case 'sync':
        return;
      case 'signal':
        return this.#signal(id, input.signal, input.done);
      case 'exited': {
        const t = this.#apply(id, input);
        if (!t.changed || !t.record) return;
        const r = t.record;
        this.#o.metrics.taskExited(r.driver, input.exit);
        if (input.exit.oomKilled) this.#o.metrics.oomKill(r.driver);
        const log = this.#taskLog(r);
        log.info({ code: input.exit.code, signal: input.exit.signal, oomKilled: input.exit.oomKilled, known: input.exit.known }, 'task exited');
        await this.#act(id, t.actions, log);
        for (const h of this.#hooks.exited) {
          await h.exited({ record: r, exit: input.exit, logger: log, emit: this.#emitter(id) }).catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'exited hook failed'));
        }
        return;
      }
      default: {
        const t = this.#apply(id, input);
        await this.#act(id, t.actions, this.#log);
      }
    }
  }

  /** Decide from the latest state and act, until nothing is left (or SYNC_STEPS, then queue again). */
  async #sync(id: string): Promise<void> {
    for (let step = 0; step < SYNC_STEPS; step++) {
      if (this.#closed) return;
      const step = this.#order(id);
      if (step.kind === 'hold') return;
      if (step.kind === 'reset') {
        this.#resetAlloc(id, step.reason);
        continue;
      }
      const t = this.#apply(id, step.kind === 'stop' ? { type: 'group-stop', reason: step.reason, then: step.then } : { type: 'sync' });
      if (!t.actions.length) return;
      await this.#act(id, t.actions, this.#log);
      // A start that did not end running (blocked, held back, failed) waits for its timer or the next pass.
      if (t.actions[0].kind === 'start' && this.#o.store.get(id)?.state !== 'running') return;
    }
    this.submit(id);
  }

  /** The one write path: transition, store the record, record the events. */
  #apply(id: string, ev: WorkerEvent): Transition {
    const { store } = this.#o;
    const rec = store.get(id);
    const t = transition(rec, ev, { desired: this.#want(id), diff: this.#diffOptions(), random: this.#o.clock.random });
    if (t.changed && t.record) store.put(t.record);
    const r = t.record ?? rec;
    for (const e of t.events) store.addEvent({ task: id, job: r?.job, file: r?.file, ...e });
    return t;
  }

  #diffOptions(): DiffOptions {
    return diffOptionsFor(this.#o.drivers, this.#o.clock);
  }

  async #act(id: string, actions: WorkerAction[], log: pino.Logger): Promise<void> {
    for (const a of actions) {
      switch (a.kind) {
        case 'start':
          await this.#start(id, a.manual);
          break;
        case 'stop':
          await this.#stop(id, a.final, a.reason, a.keep);
          break;
        case 'update':
          await this.#update(id, a.fields);
          break;
        case 'cleanup': {
          const r = this.#o.store.get(id);
          if (r) await this.#o.executor.cleanup(r.execId).catch((err) => log.warn({ id, err: describeError(err) }, 'failed to clean up task'));
          break;
        }
        case 'watch':
          this.#watch(id, a.handle);
          break;
        case 'teardown':
          await this.#teardown(id);
          break;
        case 'count-restart': {
          const r = this.#o.store.get(id);
          if (r) this.#o.metrics.restart(r.driver);
          break;
        }
      }
    }
  }

  // ---- actions ----

  async #start(id: string, manual: boolean): Promise<void> {
    const { store, executor } = this.#o;
    const d = this.#want(id);
    if (!d) return;
    const log = this.#taskLog({ job: d.job.id, group: d.group.name, index: d.index, task: d.task.name });
    const step = this.#order(id);
    const held = step.kind === 'act' ? step.noStart : step.kind === 'hold' ? step.reason : `group ${step.kind}`;
    if (held !== undefined) {
      if (this.#held.get(id) !== held) log.info({ reason: held }, 'task start held back by its group order');
      this.#held.set(id, held);
      return;
    }
    const driver = this.#o.drivers.get(d.task.driver);
    const avail = driver ? driver.availability() : { ok: false as const, reason: `unknown driver "${d.task.driver}"` };
    if (!driver || !avail.ok) {
      const t = this.#apply(id, { type: 'blocked', reason: avail.reason ?? 'unavailable' });
      if (t.events.some((e) => e.type === TASK_EVENT.DriverFailure)) log.warn({ driver: d.task.driver, reason: avail.reason }, 'driver unavailable, task pending');
      return;
    }
    await this.#act(id, this.#apply(id, { type: 'starting', manual }).actions, log);
    const t0 = performance.now();
    let setup: TaskSetup;
    try {
      setup = driver.setup ? await driver.setup(d) : { dirs: taskDirs(this.#o.dataDir, d.allocId, d.task.name) };
    } catch (err) {
      return this.#startFailed(id, err, log);
    }
    const emit = this.#emitter(id);
    for (const h of this.#hooks.prestart) {
      try {
        await h.prestart({ instance: d, dirs: setup.dirs, user: setup.user, emit, signal: this.#abort.signal, logger: log });
      } catch (err) {
        return this.#startFailed(id, err, log.child({ hook: h.name }), TASK_EVENT.SetupFailure);
      }
    }
    let handle: TaskHandle;
    let prepareMs = 0;
    let cores: number[] | undefined;
    try {
      const spec = await driver.prepare(d, { node: this.#o.node, agentEnv: this.#o.agentEnv, reserveCores: this.#o.reserveCores, setup });
      prepareMs = performance.now() - t0;
      cores = spec.resources.cores;
      // Kept by the executor beside the task: a record lost with the store is rebuilt from it.
      spec.notes = { ...taskNotes(d, this.#o.node.id, cores) };
      handle = await executor.launch(spec);
    } catch (err) {
      return this.#startFailed(id, err, log);
    }
    this.#apply(id, { type: 'launched', handle, cores });
    const launchedAt = performance.now();
    // Written before the task is reported started, so that an agent that dies now finds it; a
    // failed write is logged and the task reported started anyway (recovery then finds it through
    // the executor's records, `list()`).
    await store.flush().catch((err) => log.error({ err: describeError(err) }, 'failed to persist task handle'));
    const persistMs = performance.now() - launchedAt;
    const started = this.#apply(id, { type: 'started' });
    const ms = performance.now() - t0;
    this.#o.metrics.taskStarted(d.task.driver, ms);
    log.info({ pid: handle.pid, ms: Math.round(ms), prepareMs: Math.round(prepareMs), launchMs: Math.round(launchedAt - t0 - prepareMs), persistMs: Math.round(persistMs) }, 'task started');
    await this.#act(id, started.actions, log);
    for (const h of this.#hooks.poststart) {
      await h.poststart({ instance: d, dirs: setup.dirs, handle, emit, logger: log }).catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'poststart hook failed'));
    }
  }

  async #startFailed(id: string, err: unknown, log: pino.Logger, event?: TaskEventType): Promise<void> {
    const msg = describeError(err);
    log.error({ err: msg, code: isTendError(err) ? err.code : undefined }, 'task launch failed');
    // Give back what prepare may have reserved (exclusive cores) and what launch left behind.
    const r = this.#o.store.get(id);
    if (r) await this.#o.executor.cleanup(r.execId).catch(() => {});
    const unrecoverable = isTendError(err) && UNRECOVERABLE.has(err.code);
    this.#apply(id, { type: 'start-failed', message: msg, unrecoverable, ...(event ? { event } : {}) });
  }

  async #stop(id: string, final: boolean, reason: string, keep = false): Promise<void> {
    const { store, executor } = this.#o;
    const r = store.get(id);
    if (!r) return;
    const log = this.#taskLog(r);
    const handle = r.handle;
    this.#watching.delete(id);
    if (handle) {
      for (const h of this.#hooks.stop) {
        await h.stop({ record: r, reason, final, emit: this.#emitter(id), logger: log }).catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'stop hook failed'));
      }
      this.#apply(id, { type: 'killing', reason });
      log.info({ reason, signal: r.killSignal, timeoutMs: r.killTimeoutMs, pid: handle.pid }, 'stopping task');
      let exit: ExitResult;
      try {
        exit = await executor.shutdown(handle, r.killSignal, r.killTimeoutMs);
      } catch (err) {
        log.error({ err: describeError(err) }, 'failed to stop task');
        this.#apply(id, { type: 'kill-failed', message: describeError(err) });
        throw err;
      }
      await executor.cleanup(r.execId).catch((err) => log.warn({ err: describeError(err) }, 'failed to clean up task'));
      this.#apply(id, { type: 'killed', exit });
      this.#o.metrics.taskExited(r.driver, exit);
    }
    const t = this.#apply(id, { type: 'stopped', final, ...(keep ? { keep } : {}) });
    await this.#act(id, t.actions, log);
    if (final) log.info({ reason }, 'task stopped');
  }

  /**
   * A task no longer desired has stopped: the teardown hooks (the alloc dir goes when no other
   * task of the allocation remains), then the record. In that order: an agent that dies in between
   * finds the dead record and stops it again, while a record deleted first would leave the dir
   * behind for good. Of tasks of one allocation stopping together, the last one marked dead is the
   * last of its allocation.
   */
  async #teardown(id: string): Promise<void> {
    const { store } = this.#o;
    const r = store.get(id);
    if (!r) return;
    const log = this.#taskLog(r);
    const lastOfAlloc = !store.all().some((x) => x.allocId === r.allocId && x.id !== id && x.state !== 'dead');
    for (const h of this.#hooks.teardown) {
      await h.teardown({ record: r, dataDir: this.#o.dataDir, lastOfAlloc, emit: this.#emitter(id), logger: log }).catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'teardown hook failed'));
    }
    store.delete(id);
  }

  /** New resources (in place, same pid) and store-only fields. */
  async #update(id: string, fields: string[]): Promise<void> {
    const d = this.#desired.get(id);
    const r = this.#o.store.get(id);
    if (!d || !r) return;
    if (r.hashes.resources !== d.hashes.resources && r.handle && r.state === 'running') {
      const spec = d.task.resources;
      const MiB = 1024 * 1024;
      const cores = spec.cores && this.#o.reserveCores ? this.#o.reserveCores(r.execId, spec.cores) : undefined;
      await this.#o.executor.updateResources(r.handle, {
        cpuShares: spec.cpu,
        memoryBytes: spec.memoryMB * MiB,
        memoryMaxBytes: (spec.memoryMaxMB ?? spec.memoryMB) * MiB,
        // [] returns the task to the shared pool when `cores` was removed.
        cores: cores ?? (r.resources.cores?.length ? [] : undefined),
        pidsLimit: d.task.config.pidsLimit,
      });
      this.#apply(id, { type: 'updated', fields, cores });
    } else {
      this.#apply(id, { type: 'updated', fields });
    }
    this.#taskLog(r).info({ fields }, 'task updated in place');
  }

  async #signal(id: string, signal: string, done: (err?: unknown) => void): Promise<void> {
    const r = this.#o.store.get(id);
    if (!r?.handle || r.state !== 'running') {
      done(new TendError('E_BAD_REQUEST', `expected task ${id} to be running, got ${r?.state ?? 'pending'}`));
      return;
    }
    try {
      await this.#o.executor.signal(r.handle, signal);
    } catch (err) {
      done(err);
      return;
    }
    this.#apply(id, { type: 'signaled', signal });
    done();
  }

  // ---- exits, timers, group order ----

  /** Follow a running handle's exit: it comes back as an `exited` input. */
  #watch(id: string, handle: TaskHandle): void {
    this.#watching.set(id, handle);
    const exited = (exit: ExitResult) => {
      if (this.#watching.get(id) !== handle) return; // stopped on purpose, or superseded
      this.#watching.delete(id);
      this.submit(id, { type: 'exited', handle, exit });
    };
    this.#o.executor.wait(handle).then(exited, (err) => {
      this.#log.error({ id, err: describeError(err) }, 'failed to wait for task');
      exited({ code: null, signal: null, oomKilled: false, at: new Date(this.#o.clock.now()).toISOString(), known: false, message: `lost track of the task: ${describeError(err)}` });
    });
  }

  /** A task waiting to restart gets a timer for its restart time; any other loses its timer. */
  #armTimer(id: string): void {
    const r = this.#o.store.get(id);
    const at = r?.state === 'restarting' && r.nextRestartAt ? Date.parse(r.nextRestartAt) : undefined;
    const cur = this.#timers.get(id);
    if (cur && cur.at === at) return;
    if (cur) clearTimeout(cur.timer);
    this.#timers.delete(id);
    if (at === undefined || this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.submit(id);
    }, Math.max(0, at - this.#o.clock.now()));
    timer.unref?.();
    this.#timers.set(id, { at, timer });
  }

  /** A task of an ordered allocation changed state: every other task of it looks again. */
  #wakePeers(id: string, allocId: string | undefined): void {
    if (!allocId) return;
    for (const [lid, l] of this.#leaving) if (l.allocId === allocId && lid !== id) this.submit(lid);
    const d = this.#desired.get(id) ?? this.#leaving.get(id);
    if (!d || !this.#hooks.order.orders(d)) return;
    for (const [pid, p] of this.#desired) if (p.allocId === allocId && pid !== id) this.submit(pid);
  }

  /** The instance a task acts as: its desired one, or its last one while it lingers. */
  #want(id: string): DesiredInstance | undefined {
    return this.#desired.get(id) ?? (this.#lingering.has(id) ? this.#leaving.get(id) : undefined);
  }

  /** What the task's allocation order asks of it now (see TaskOrder); logs a new hold once. */
  #order(id: string): OrderStep {
    const d = this.#desired.get(id) ?? this.#leaving.get(id);
    if (!d) return ACT;
    const { store } = this.#o;
    const self = store.get(id);
    const allocId = self?.allocId ?? d.allocId;
    const peers = store.all().filter((x) => x.allocId === allocId && x.id !== id);
    const step = this.#hooks.order.step({
      instance: d,
      self,
      peers,
      leaving: !this.#desiredAllocs.has(allocId),
      specChanged: (r) => {
        const want = this.#desired.get(r.id);
        return want !== undefined && want.hashes.restart !== r.hashes.restart;
      },
    });
    if (step.kind === 'act' && step.lingers) this.#lingering.add(id);
    else this.#lingering.delete(id);
    if (step.kind === 'hold') {
      if (this.#held.get(id) !== step.reason) this.#taskLog(self ?? { job: d.job.id, group: d.group.name, index: d.index, task: d.task.name }).info({ reason: step.reason }, 'task held by its group order');
      this.#held.set(id, step.reason);
    } else if (step.kind !== 'act' || !step.noStart) {
      this.#held.delete(id);
    }
    return step;
  }

  /**
   * A restart of the task's allocation has run its course: every record of the allocation goes
   * back to `pending`, at once, and each task looks again (the group starts anew in order). The
   * one write to other tasks' records: it happens only when no task of the allocation has
   * anything in flight (the order says `reset` only once nothing is alive).
   */
  #resetAlloc(id: string, reason: string): void {
    const r = this.#o.store.get(id);
    const allocId = r?.allocId ?? this.#desired.get(id)?.allocId;
    if (!allocId) return;
    const ids = this.#o.store
      .all()
      .filter((x) => x.allocId === allocId)
      .map((x) => x.id);
    for (const x of ids) this.#apply(x, { type: 'alloc-reset', reason });
    this.#log.info({ allocId, reason, tasks: ids.length }, 'group restarts in order');
    for (const x of ids) if (x !== id) this.submit(x);
  }

  /** Forget the last instances of allocations that have no record left. */
  #forgetLeft(): void {
    if (!this.#leaving.size) return;
    const live = new Set(this.#o.store.all().map((r) => r.allocId));
    for (const [id, l] of this.#leaving) {
      if (live.has(l.allocId)) continue;
      this.#leaving.delete(id);
      this.#lingering.delete(id);
      this.#held.delete(id);
    }
  }

  #emitter(id: string): EmitEvent {
    return (type, message, details) => {
      const r = this.#o.store.get(id);
      this.#o.store.addEvent({ task: id, job: r?.job, file: r?.file, type, message, ...(details ? { details } : {}) });
    };
  }

  #taskLog(r: { job: string; group: string; index: number; task: string }): pino.Logger {
    return this.#log.child({ job: r.job, group: r.group, index: r.index, task: r.task });
  }
}

/** The diff's inputs now: the time, and why a driver cannot run tasks (undefined when it can). */
export function diffOptionsFor(drivers: ReadonlyMap<string, Driver>, clock: Clock): DiffOptions {
  return {
    now: clock.now(),
    driverBlocked: (name) => {
      const d = drivers.get(name);
      if (!d) return `unknown driver "${name}"`;
      const a = d.availability();
      return a.ok ? undefined : a.reason;
    },
  };
}
