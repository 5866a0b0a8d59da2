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
import type { ExitResult, TaskHandle } from '../executor/executor.js';
import type { TaskSetup } from '../drivers/driver.js';
import { taskDirs } from '../drivers/alloc-dir.js';
import { TASK_EVENT, type TaskEventType } from '../store/store.js';
import { TendError, describeError, isTendError } from '../errors.js';
import type { DesiredInstance, DiffOptions } from './reconcile.js';
import { WorkQueue } from './work-queue.js';
import { transition, type Transition, type WorkerAction, type WorkerEvent } from './transition.js';
import { emptyHooks, type EmitEvent, type TaskControl, type TaskHooks } from './hooks.js';
import { GroupOrders } from './group-order.js';
import { TaskTimers, diffOptionsFor, mergeInputs, type TaskWorkerOptions, type WorkerInput } from './worker-inputs.js';
import { taskNotes } from './rebuild.js';
import { runCaptured } from '../executor/run-captured.js';
import { taskResources } from '../drivers/launch-spec.js';
import { notRunning } from './not-running.js';

export type { TaskWorkerOptions, WorkerInput, WorkerMetrics } from './worker-inputs.js';
export { diffOptionsFor } from './worker-inputs.js';

/** Launch errors no retry can fix: the task fails at once. */
const UNRECOVERABLE = new Set(['E_SPEC_INVALID', 'E_USER_DENIED', 'E_CAPABILITY_DENIED', 'E_DRIVER_UNAVAILABLE']);

/** Steps of one sync before the task goes back to the queue (a spec change is a stop then a start). */
const SYNC_STEPS = 4;

export class TaskWorker {
  readonly #o: TaskWorkerOptions;
  readonly #log: pino.Logger;
  readonly #queue: WorkQueue<WorkerInput>;
  readonly #hooks: TaskHooks;
  readonly #abort = new AbortController();
  #desired: ReadonlyMap<string, DesiredInstance> = new Map();
  readonly #groups: GroupOrders;
  readonly #timers: TaskTimers;
  #live = false;
  #closed = false;

  constructor(opts: TaskWorkerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'worker' });
    this.#hooks = opts.hooks ?? emptyHooks();
    this.#timers = new TaskTimers({ executor: opts.executor, store: opts.store, clock: opts.clock, logger: this.#log, submit: (id, input) => this.submit(id, input) });
    this.#groups = new GroupOrders({ store: opts.store, order: this.#hooks.order, logger: this.#log, submit: (id) => this.submit(id), portsBlocked: (d) => opts.ports?.blocked(d) });
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
    this.#desired = desired;
    this.#groups.setDesired(desired);
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
    this.#timers.close();
    const drained = await this.#queue.drain(opts.drainMs ?? 5000);
    if (opts.stopTasks) {
      const ids = this.#o.store.all().map((r) => r.id);
      await Promise.all(ids.map((id) => this.#stop(id, true, 'agent shutting down').catch(() => {})));
    }
    return drained;
  }

  // ---- one run ----

  async #run(id: string, inputs: WorkerInput[]): Promise<void> {
    const before = this.#o.store.get(id)?.state;
    try {
      for (const input of inputs) await this.#input(id, input);
      if (this.#live && !this.#closed) await this.#sync(id);
    } finally {
      this.#timers.arm(id);
      const after = this.#o.store.get(id);
      if (!after) this.#groups.forgetLeft();
      if (after?.state !== before) this.#groups.wakePeers(id, after?.allocId);
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
        if (input.type === 'adopted' && t.changed) await this.#recovered(id);
      }
    }
  }

  /** A task recovery proved running: the poststart hooks again (what they set up lived in the agent that went away). */
  async #recovered(id: string): Promise<void> {
    const r = this.#o.store.get(id);
    const d = this.#desired.get(id);
    if (!r?.handle || r.state !== 'running' || !d || !this.#hooks.poststart.length) return;
    const log = this.#taskLog(r);
    const ports = this.#o.ports?.portsOf?.(r.allocId) ?? [];
    for (const h of this.#hooks.poststart) {
      await h
        .poststart({ instance: d, dirs: taskDirs(this.#o.dataDir, r.allocId, r.task), handle: r.handle, ports, emit: this.#emitter(id), logger: log, task: this.#control(id), recovered: true })
        .catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'poststart hook failed'));
    }
  }

  /** Decide from the latest state and act, until nothing is left (or SYNC_STEPS, then queue again). */
  async #sync(id: string): Promise<void> {
    for (let step = 0; step < SYNC_STEPS; step++) {
      if (this.#closed) return;
      const step = this.#groups.step(id);
      if (step.kind === 'hold') return;
      if (step.kind === 'reset') {
        this.#groups.reset(id, step.reason, (x, ev) => this.#apply(x, ev));
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
    const t = transition(rec, ev, { desired: this.#groups.want(id), diff: this.#diffOptions(), random: this.#o.clock.random });
    if (t.changed && t.record) store.put(t.record);
    const r = t.record ?? rec;
    for (const e of t.events) store.addEvent({ task: id, job: r?.job, file: r?.file, ...e });
    return t;
  }

  #diffOptions(): DiffOptions {
    return diffOptionsFor(this.#o.drivers, this.#o.clock, this.#o.ports);
  }

  async #act(id: string, actions: WorkerAction[], log: pino.Logger): Promise<void> {
    for (const a of actions) {
      switch (a.kind) {
        case 'start':
          await this.#start(id, a.manual);
          break;
        case 'stop':
          await this.#stop(id, a.final, a.reason, a.keep, a.fail, a.policy);
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
          this.#timers.watch(id, a.handle);
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
    const d = this.#groups.want(id);
    if (!d) return;
    const log = this.#taskLog({ job: d.job.id, group: d.group.name, index: d.index, task: d.task.name });
    if (!this.#groups.mayStart(id)) return;
    const driver = this.#o.drivers.get(d.task.driver);
    const avail = driver ? driver.availability() : { ok: false as const, reason: `unknown driver "${d.task.driver}"` };
    if (!driver || !avail.ok) {
      const t = this.#apply(id, { type: 'blocked', reason: avail.reason ?? 'unavailable' });
      if (t.events.some((e) => e.type === TASK_EVENT.DriverFailure)) log.warn({ driver: d.task.driver, reason: avail.reason }, 'driver unavailable, task pending');
      return;
    }
    // The allocation's ports: kept by the port book across restarts; none to be had is a wait, not a failure.
    const ports = this.#o.ports?.forStart(d) ?? { ok: true as const, ports: [] };
    if (!ports.ok) {
      const t = this.#apply(id, { type: 'blocked', reason: ports.reason, cause: 'ports' });
      if (t.events.length) log.warn({ reason: ports.reason }, 'ports unavailable, task pending');
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
    const env: Record<string, string> = {};
    const setEnv = (vars: Record<string, string>) => void Object.assign(env, vars);
    for (const h of this.#hooks.prestart) {
      try {
        await h.prestart({ instance: d, dirs: setup.dirs, user: setup.user, ports: ports.ports, emit, signal: this.#abort.signal, logger: log, setEnv, task: this.#control(id) });
      } catch (err) {
        if (isTendError(err) && err.code === 'E_NOT_READY') {
          log.info({ hook: h.name, reason: err.message }, 'task waits for its inputs');
          this.#apply(id, { type: 'waiting', reason: err.message, event: (err.details?.event as TaskEventType | undefined) ?? TASK_EVENT.TaskSetup });
          return;
        }
        return this.#startFailed(id, err, log.child({ hook: h.name }), TASK_EVENT.SetupFailure);
      }
    }
    if (Object.keys(env).length) setup = { ...setup, env };
    let handle: TaskHandle;
    let prepareMs = 0;
    let cores: number[] | undefined;
    try {
      const spec = await driver.prepare(d, { node: this.#o.node, agentEnv: this.#o.agentEnv, reserveCores: this.#o.reserveCores, setup, ports: ports.ports });
      prepareMs = performance.now() - t0;
      cores = spec.resources.cores;
      // Kept by the executor beside the task: a record lost with the store is rebuilt from it.
      spec.notes = { ...taskNotes(d, this.#o.node.id, cores, ports.ports) };
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
      await h.poststart({ instance: d, dirs: setup.dirs, handle, ports: ports.ports, emit, logger: log, task: this.#control(id) }).catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'poststart hook failed'));
    }
  }

  async #startFailed(id: string, err: unknown, log: pino.Logger, event?: TaskEventType): Promise<void> {
    const full = describeError(err);
    log.error({ err: full, code: isTendError(err) ? err.code : undefined }, 'task launch failed');
    // The reason in the task's terms when the executor gave one; the runtime's own chain stays in the event's details.
    const reason = isTendError(err) && typeof err.details.reason === 'string' ? err.details.reason : undefined;
    const msg = reason ?? full;
    // Give back what prepare may have reserved (exclusive cores) and what launch left behind.
    const r = this.#o.store.get(id);
    if (r) await this.#o.executor.cleanup(r.execId).catch(() => {});
    const unrecoverable = isTendError(err) && UNRECOVERABLE.has(err.code);
    this.#apply(id, { type: 'start-failed', message: msg, unrecoverable, ...(event ? { event } : {}), ...(reason ? { detail: full } : {}) });
  }

  async #stop(id: string, final: boolean, reason: string, keep = false, fail?: string, policy = false): Promise<void> {
    const { store, executor } = this.#o;
    const r = store.get(id);
    if (!r) return;
    const log = this.#taskLog(r);
    const handle = r.handle;
    this.#timers.unwatch(id);
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
    const t = this.#apply(id, { type: 'stopped', final, ...(keep ? { keep } : {}), ...(fail !== undefined ? { fail } : {}), ...(policy ? { policy } : {}) });
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
    const lastOfAlloc = !store.ofAlloc(r.allocId).some((x) => x.id !== id && x.state !== 'dead');
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
      const want = d.task.resources.cores;
      const cores = want && this.#o.reserveCores ? this.#o.reserveCores(r.execId, want) : undefined;
      // [] returns the task to the shared pool when `cores` was removed.
      await this.#o.executor.updateResources(r.handle, taskResources(d.task, cores ?? (r.resources.cores?.length ? [] : undefined)));
      this.#apply(id, { type: 'updated', fields, cores });
    } else {
      this.#apply(id, { type: 'updated', fields });
    }
    const log = this.#taskLog(r);
    log.info({ fields }, 'task updated in place');
    const record = this.#o.store.get(id);
    if (!record) return;
    for (const h of this.#hooks.update) {
      await h.update({ instance: d, record, fields, emit: this.#emitter(id), logger: log }).catch((err) => log.warn({ hook: h.name, err: describeError(err) }, 'update hook failed'));
    }
  }

  async #signal(id: string, signal: string, done: (err?: unknown) => void): Promise<void> {
    const r = this.#o.store.get(id);
    if (!r?.handle || r.state !== 'running') {
      done(notRunning(id, r?.state, 'a signal'));
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

  /** What hooks may ask of the task later: everything goes through the task's queue. */
  #control(id: string): TaskControl {
    return {
      restart: (reason, opts) => void this.submit(id, { type: 'restart-requested', reason, ...(opts?.failure ? { failure: true } : {}) }),
      signal: (sig) => this.signal(id, sig),
      exec: (command, timeoutMs) => this.#execIn(id, command, timeoutMs),
      kill: (reason) => void this.submit(id, { type: 'kill-requested', reason }),
      wake: () => void this.submit(id),
    };
  }

  /** Run a command inside the running task (template change_script). */
  async #execIn(id: string, command: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
    const r = this.#o.store.get(id);
    if (!r?.handle || r.state !== 'running') throw notRunning(id, r?.state, 'a change_script');
    return runCaptured(this.#o.executor, r.handle, command, timeoutMs);
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
