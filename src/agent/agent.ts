/**
 * The Agent: keeps the tasks on this node equal to the desired set. Wiring only; the work is done by
 *
 *   - the job source (desired set, per file, last good),
 *   - the task worker (src/reconcile/task-worker.ts): the only writer of task records; every
 *     change reaches it as an input on its keyed queue,
 *   - the periodic launcher (src/reconcile/periodic.ts) and the dispatch launcher
 *     (src/reconcile/dispatch.ts): a periodic job runs only as the child runs it launches on
 *     schedule, a parameterized job only as the children dispatched from it; they join the
 *     desired set here (a dispatched child of a job that is also periodic is itself periodic: it
 *     goes to the periodic launcher),
 *   - the API facade (api-facade.ts): views and operator requests for the HTTP server.
 *
 *   start():  store → recover every recorded handle and rebuild the records of the executor's
 *             tasks the store lacks (inputs to the worker) → executor.gc(known) → watch the jobs
 *             dir → the worker acts → first pass
 *   pass:     level-triggered; diff the desired set against the records and submit a sync for
 *             every task that needs an action. A new set that differs only in ordinary jobs
 *             (#deltaOf) replaces those jobs' instances and its pass looks at their tasks alone;
 *             any other change (the first set, a jobs-dir revision, children, ports, rollouts,
 *             timers) looks at every task. Task exits go straight to the task's worker
 *   stop():   stop watching, drain in-flight work briefly, close the executor; tasks keep running
 *             unless stopTasks.
 */
import type pino from 'pino';
import type { DesiredSet, JobSource } from '../source/source.js';
import type { Job } from '../jobspec/model.js';
import type { Store, StoreLoadResult } from '../store/store.js';
import { decide } from '../reconcile/diff.js';
import { TaskWorker, diffOptionsFor as diffOptions } from '../reconcile/task-worker.js';
import { recoverTasks } from '../reconcile/recover.js';
import type { TaskHooks } from '../reconcile/hooks.js';
import { describeError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import type { AgentMetrics } from './metrics.js';
import { ApiFacade, type ApiFacadeOptions, type DesiredState } from './api-facade.js';
import { FileEvents } from './file-events.js';
import { PeriodicLauncher } from '../reconcile/periodic.js';
import { DispatchLauncher } from '../reconcile/dispatch.js';
import { runsOnItsOwn } from '../reconcile/child-jobs.js';
import { taskHooks } from './hooks.js';
import type { PortBook } from '../ports/book.js';
import { Rollouts } from '../reconcile/rollouts.js';
import type { AllocHealthSource } from '../reconcile/rollout-health.js';
import { parseInstanceId } from '../reconcile/expand.js';
import type { AllocHealth } from '../services/health.js';
import { portSpec } from '../ports/requests.js';
import type { DesiredInstance } from '../reconcile/reconcile.js';

/** How often allocations waiting for ports are tried again (besides every pass). */
const PORTS_RETRY_MS = 5000;

export interface AgentOptions extends Omit<ApiFacadeOptions, 'worker' | 'state' | 'diffOptions' | 'periodic' | 'dispatch' | 'rollouts'> {
  source: JobSource;
  logger: pino.Logger;
  metrics: AgentMetrics;
  concurrency: number;
  clock?: Clock;
  agentEnv?: Record<string, string | undefined>;
  /** Exclusive CPUs for `cores` (the oci executor's cgroup manager); absent on the plain executor. */
  reserveCores?(execId: string, count: number): number[];
  /** How the store loaded (a store missing or corrupt while tasks run is reported by recovery). */
  storeLoad?: StoreLoadResult;
  /** Task hooks and group order (default: this agent's registry, hooks.ts). */
  hooks?: TaskHooks;
  /** Ports of allocations (absent: tasks get none; unit tests of other parts). */
  ports?: PortBook;
  /** Health of service checks for rollouts with `health_check = "checks"` (absent: task states decide). */
  checks?: AllocHealthSource;
  /** Allocations' health by their checks (src/services/health.ts); absent without a catalog. */
  health?: AllocHealth;
}

export class Agent extends ApiFacade {
  readonly #o: AgentOptions;
  readonly #log: pino.Logger;
  readonly #store: Store;
  readonly #worker: TaskWorker;
  readonly #clock: Clock;
  readonly #state: DesiredState;
  readonly #fileEvents: FileEvents;
  readonly #periodic: PeriodicLauncher;
  readonly #dispatch: DispatchLauncher;
  readonly #rollouts: Rollouts;
  #passScheduled = false;
  #passRunning = false;
  /** What the scheduled pass looks at: every record and instance, or the tasks of these jobs. */
  #passScope: Set<string> | 'all' = 'all';
  /** Each job's instances in the desired set (the delta path replaces one job's). */
  #byJob = new Map<string, readonly DesiredInstance[]>();
  /** The desired set's jobs that ask for ports (the port book's sync looks only at their instances). */
  #portJobs = new Set<string>();
  #metricsTimer: NodeJS.Timeout | undefined;
  #portsTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(opts: AgentOptions) {
    const clock = opts.clock ?? systemClock;
    const state: DesiredState = { set: undefined, desired: new Map(), types: new Map(), jobs: new Map() };
    const ref: { metricsSoon?: () => void; childrenChanged?: () => void; versionsChanged?: () => void } = {};
    const rollouts = new Rollouts({ store: opts.store, clock, logger: opts.logger, checks: opts.checks, onChange: () => ref.versionsChanged?.() });
    const worker = new TaskWorker({
      ...opts,
      agentEnv: opts.agentEnv ?? process.env,
      clock,
      hooks: opts.hooks ?? taskHooks(),
      onRun: (id) => {
        ref.metricsSoon?.();
        const job = opts.store.get(id)?.job ?? parseInstanceId(id)?.job;
        if (job) rollouts.touch(job);
      },
    });
    const periodic = new PeriodicLauncher({ store: opts.store, clock, logger: opts.logger, onChange: () => ref.childrenChanged?.() });
    const dispatch = new DispatchLauncher({ store: opts.store, clock, logger: opts.logger, onChange: () => ref.childrenChanged?.() });
    super({ ...opts, worker, state, periodic, dispatch, rollouts, diffOptions: () => diffOptions(opts.drivers, clock, opts.ports) });
    ref.metricsSoon = () => this.#metricsSoon();
    ref.childrenChanged = () => {
      this.#children();
      this.schedulePass();
    };
    // A rollout let an allocation move to another version (or reverted the job): its tasks act on it.
    ref.versionsChanged = () => {
      if (this.#stopped) return;
      this.#expand();
      this.schedulePass();
    };
    this.#periodic = periodic;
    this.#dispatch = dispatch;
    this.#rollouts = rollouts;
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'agent' });
    this.#store = opts.store;
    this.#clock = clock;
    this.#state = state;
    this.#worker = worker;
    this.#fileEvents = new FileEvents(opts.store, this.#log, opts.metrics);
  }

  /**
   * Allocations' health by their service checks, for rolling updates (`health_check = "checks"`):
   * `health(allocId)` and `onHealthChange(cb)`, see src/services/health.ts. Absent when the agent
   * was made without a service catalog (unit tests).
   */
  get health(): AllocHealth | undefined {
    return this.#o.health;
  }

  /**
   * Relist the jobs dir now (`POST /v1/resync`, what `tendctl wait` asks first): resolves once the
   * agent has the set it gives, so what it then reports is about the files as they are on disk.
   */
  async resync(): Promise<{ generation: number; files: number }> {
    const set = await this.#o.source.resync('api');
    return { generation: set.generation, files: set.files.length };
  }

  /** Recover, garbage-collect, watch, converge. */
  async start(): Promise<void> {
    const set = await this.#o.source.start();
    this.#setDesired(set);
    await recoverTasks({
      store: this.#store,
      executor: this.#o.executor,
      worker: this.#worker,
      logger: this.#o.logger,
      clock: this.#clock,
      desired: this.#state.desired,
      storeLoad: this.#o.storeLoad,
      adoptPorts: (r, p) => this.#o.ports?.adopt(r, p.spec, p.list),
    });
    this.#worker.begin();
    this.#rollouts.begin();
    this.#unsubscribe = this.#o.source.onChange((s) => this.schedulePass(this.#setDesired(s)));
    // A set emitted while recovering was not seen by the listener.
    if (this.#o.source.current().generation !== set.generation) this.#setDesired(this.#o.source.current());
    this.schedulePass();
  }

  /** Stop watching and acting; tasks keep running unless `stopTasks`. */
  async stop(opts: { stopTasks?: boolean; drainMs?: number } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.stopSampling();
    this.#unsubscribe?.();
    this.#periodic.close();
    this.#dispatch.close();
    this.#rollouts.close();
    clearTimeout(this.#metricsTimer);
    clearTimeout(this.#portsTimer);
    await this.#o.source.stop().catch((err) => this.#log.warn({ err: describeError(err) }, 'failed to stop the job source'));
    const drained = await this.#worker.close(opts);
    if (!drained) this.#log.warn({}, 'in-flight task actions did not finish before shutdown');
    await this.#store.flush().catch(() => {});
    await this.#o.executor.close();
    await this.#store.close();
  }

  /** Resolves when no pass and no task work is pending (tests, benchmarks). */
  async settled(): Promise<void> {
    for (;;) {
      await this.#worker.idle();
      if (!this.#passScheduled && !this.#passRunning && this.#worker.depth === 0 && !this.#rollouts.pending) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Take a new desired set; returns the jobs whose tasks may need an action, or 'all'. */
  #setDesired(set: DesiredSet): Set<string> | 'all' {
    const prev = this.#state.set;
    this.#state.set = set;
    this.#dispatch.setJobs(set.jobs);
    const delta = prev ? this.#deltaOf(prev, set) : undefined;
    let scope: Set<string> | 'all' = 'all';
    if (delta) scope = this.#expandDelta(set, delta);
    else this.#children();
    this.#fileEvents.seen(set);
    return scope;
  }

  /**
   * What changed between two sets when only ordinary jobs did: the jobs that are new or edited (a
   * file's jobs keep their objects while it is unchanged) and the ids that left. Undefined when the
   * whole set is to be expanded again: a new jobs-dir revision (named by every instance), children
   * of periodic or parameterized jobs, or a changed job that launches children or asks for ports
   * (the port book decides in the set's order).
   */
  #deltaOf(prev: DesiredSet, set: DesiredSet): { changed: Job[]; removed: string[] } | undefined {
    if ((prev.revision?.commit ?? undefined) !== (set.revision?.commit ?? undefined)) return undefined;
    if (this.#dispatch.children().length) return undefined;
    this.#periodic.setJobs(set.jobs.values());
    if (this.#periodic.children().length) return undefined;
    const changed: Job[] = [];
    const removed: string[] = [];
    const plain = (j: Job) => runsOnItsOwn(j) && !this.#portJobs.has(j.id) && !j.groups.some((g) => portSpec(g));
    let whole = false;
    // forEach, not for…of: this runs once per event, never hot enough to be optimised, and each step
    // of a cold for…of over a Map allocates its entry and result (~0.4 MB per event at 1,000 jobs).
    set.jobs.forEach((j, id) => {
      const was = prev.jobs.get(id);
      if (was === j || whole) return;
      if (!plain(j) || (was && !plain(was))) whole = true;
      else changed.push(j);
    });
    prev.jobs.forEach((j, id) => {
      if (whole || set.jobs.has(id)) return;
      if (!plain(j)) whole = true;
      else removed.push(id);
    });
    return whole ? undefined : { changed, removed };
  }

  /**
   * The desired set with the instances of the changed and removed jobs replaced (and of any job the
   * rollouts stepped meanwhile); the rest is kept as it is. Returns the jobs a pass looks at.
   */
  #expandDelta(set: DesiredSet, delta: { changed: Job[]; removed: string[] }): Set<string> {
    const stepped = this.#rollouts.updateJobs(delta.changed, delta.removed, set.files);
    const changedIds = new Set(delta.changed.map((j) => j.id));
    const scope = new Set<string>([...delta.removed, ...changedIds, ...stepped]);
    const desired = new Map<string, DesiredInstance>();
    this.#state.desired.forEach((d, id) => desired.set(id, d));
    const types = this.#state.types as Map<string, string>;
    const jobs = this.#state.jobs as Map<string, Job>;
    const revision = set.revision?.commit;
    for (const id of delta.removed) {
      for (const d of this.#byJob.get(id) ?? []) desired.delete(d.id);
      this.#byJob.delete(id);
      this.#rollouts.forgetExpanded(id);
      types.delete(id);
      jobs.delete(id);
    }
    for (const id of scope) {
      const job = set.jobs.get(id);
      if (!job || (!this.#byJob.has(id) && !changedIds.has(id))) continue;
      for (const d of this.#byJob.get(id) ?? []) desired.delete(d.id);
      const instances = this.#rollouts.expandJob(job, this.#store.nodeId);
      for (const d of instances) {
        if (revision) d.revision = revision;
        desired.set(d.id, d);
        // A version the rollouts moved an allocation back to may ask for ports: the book hears of it below.
        if (portSpec(d.group)) this.#portJobs.add(id);
      }
      this.#byJob.set(id, instances);
      types.set(id, job.type);
      jobs.set(id, job);
    }
    this.#state.desired = desired;
    if (this.#portJobs.size) this.#syncPorts();
    this.#worker.setDesired(desired);
    return scope;
  }
  /** Children were launched, dispatched or finished: the periodic launcher sees the dispatched periodic children, then expand. */
  #children(): void {
    this.#periodic.setJobs([...(this.#state.set?.jobs.values() ?? []), ...this.#dispatch.children()]);
    this.#expand();
  }

  /**
   * Desired instances from the set's jobs, periodic and parameterized jobs replaced by their
   * unfinished children (periodic.ts, dispatch.ts), each allocation of a service job as the version
   * its rollout gives it (rollouts.ts).
   */
  #expand(): void {
    const all = [...(this.#state.set?.jobs.values() ?? []), ...this.#dispatch.children(), ...this.#periodic.children()];
    const runs = all.filter(runsOnItsOwn);
    this.#rollouts.setJobs(runs, this.#state.set?.files ?? []);
    this.#state.desired = this.#rollouts.expand(runs, this.#store.nodeId);
    // The events of what this set changes name the jobs dir's commit.
    const revision = this.#state.set?.revision?.commit;
    if (revision) for (const d of this.#state.desired.values()) d.revision = revision;
    this.#state.types = new Map(all.map((j) => [j.id, j.type]));
    this.#state.jobs = new Map(all.map((j) => [j.id, j]));
    const byJob = new Map<string, DesiredInstance[]>(runs.map((j) => [j.id, []]));
    for (const d of this.#state.desired.values()) byJob.get(d.job.id)?.push(d);
    this.#byJob = byJob;
    this.#portJobs = new Set();
    for (const d of this.#state.desired.values()) if (portSpec(d.group)) this.#portJobs.add(d.job.id);
    // Before any task can act on the new set: an allocation's ports are decided when it appears.
    this.#syncPorts();
    this.#worker.setDesired(this.#state.desired);
  }

  /**
   * The port book follows the desired set (in its order) and what still runs. An allocation whose
   * tasks have all ended for good (complete or failed) holds no ports, as in Nomad: a restart or an
   * edit asks for them again.
   */
  #syncPorts(): void {
    if (!this.#o.ports) return;
    // Only allocations that ask for ports matter to the book (the tasks of one allocation share its group).
    const asking: DesiredInstance[] = [];
    // #portJobs: no scan of every instance when none asks (issue 14: twice per file event).
    if (this.#portJobs.size) for (const d of this.#state.desired.values()) if (portSpec(d.group)) asking.push(d);
    const live = new Set<string>();
    // Nothing asks and nothing is held: no scan of every record (issue 14: twice per new file).
    if (asking.length || this.#store.portsAll().length) for (const r of this.#store.all()) if (r.handle) live.add(r.allocId);
    const ended = new Map<string, boolean>();
    for (const d of asking) {
      const state = this.#store.get(d.id)?.state;
      ended.set(d.allocId, (ended.get(d.allocId) ?? true) && (state === 'complete' || state === 'failed'));
    }
    this.#o.ports.sync(asking.filter((d) => !ended.get(d.allocId)), live);
  }

  /**
   * Ask for a pass soon (coalesced: one pass at a time). A scope (job ids) limits it to those jobs'
   * tasks: a file event decides the tasks of the jobs it changed, not every task (issue 14).
   */
  schedulePass(scope: Set<string> | 'all' = 'all'): void {
    if (this.#stopped) return;
    if (scope === 'all' || this.#passScope === 'all') this.#passScope = 'all';
    else if (this.#passScheduled) for (const id of scope) this.#passScope.add(id);
    else this.#passScope = new Set(scope);
    if (this.#passScheduled) return;
    this.#passScheduled = true;
    setImmediate(() => this.#pass());
  }

  /**
   * Submit a sync for every task the diff says needs an action (the worker decides again when it
   * runs, on the state of that moment), and for every task waiting to restart (its worker keeps the
   * restart timer; after an agent restart it is armed here).
   */
  #pass(): void {
    this.#passScheduled = false;
    const scope = this.#passScope;
    // The next pass looks at everything unless its requests narrow it.
    this.#passScope = new Set();
    if (this.#stopped) return;
    this.#passRunning = true;
    const t0 = performance.now();
    try {
      this.#periodic.checkFinished();
      this.#dispatch.checkFinished();
      // Allocations waiting for ports may get them now (a holder went away).
      this.#syncPorts();
      const opts = diffOptions(this.#o.drivers, this.#clock, this.#o.ports);
      const { desired } = this.#state;
      const seen = new Set<string>();
      const records = scope === 'all' ? this.#store.all() : [...scope].flatMap((job) => this.#store.ofJob(job));
      for (const r of records) {
        seen.add(r.id);
        const dec = decide(desired.get(r.id), r, opts);
        if (dec.kind !== 'none' || r.state === 'restarting') this.#worker.submit(r.id);
      }
      const instances = scope === 'all' ? desired.values() : [...scope].flatMap((job) => this.#byJob.get(job) ?? []);
      for (const d of instances) if (!seen.has(d.id) && decide(d, undefined, opts).kind !== 'none') this.#worker.submit(d.id);
      // The gauges within ~200 ms, one count for a burst of passes (issue 14: a count per pass).
      this.#metricsSoon();
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'reconcile pass failed');
    } finally {
      this.#passRunning = false;
      this.#retryPortsSoon();
      this.#o.metrics.reconcilePass(performance.now() - t0);
    }
  }

  #stateCounts(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    // Indexed loops and forEach: this runs once per burst, never hot, where a for…of allocates per step.
    const records = this.#store.all();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const byState = (out[r.driver] ??= {});
      byState[r.state] = (byState[r.state] ?? 0) + 1;
    }
    this.#state.desired.forEach((d, id) => {
      if (this.#store.get(id)) return;
      const byState = (out[d.task.driver] ??= {});
      byState.pending = (byState.pending ?? 0) + 1;
    });
    return out;
  }

  /**
   * While an allocation waits for ports, a pass runs every few seconds: a port freed by a process
   * that is not a tend task (or an agent config edit) is seen without a file change.
   */
  #retryPortsSoon(): void {
    if (this.#portsTimer || this.#stopped || !this.#o.ports?.blockedAll().length) return;
    this.#portsTimer = setTimeout(() => {
      this.#portsTimer = undefined;
      this.schedulePass();
    }, PORTS_RETRY_MS);
    this.#portsTimer.unref?.();
  }

  /** Task-state gauges follow changes within ~200 ms, without a pass per change. */
  #metricsSoon(): void {
    if (this.#metricsTimer || this.#stopped) return;
    this.#metricsTimer = setTimeout(() => {
      this.#metricsTimer = undefined;
      this.#o.metrics.setTaskStates(this.#stateCounts());
    }, 200);
    this.#metricsTimer.unref?.();
  }
}
