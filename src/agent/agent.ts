/**
 * The Agent: keeps the tasks on this node equal to the desired set.
 *
 *   start():  store → recover every recorded handle (adopt, or record the
 *             exit) → rebuild records of the executor's tasks the store
 *             lacks (adopt) → executor.gc(known) → watch the jobs dir → first pass
 *   pass:     level-triggered; diff the whole desired set against the records
 *             and submit every task that needs an action to the work queue;
 *             file events, task exits and restart timers only schedule a pass
 *   stop():   stop watching, drain in-flight actions briefly, close the
 *             executor; tasks keep running unless stopTasks.
 *
 * It implements AgentApi for the HTTP server and tendctl.
 */
import type pino from 'pino';
import type { AgentApi, DiskView, EventQuery, FileView, JobView, NodeView, Plan, TaskEvent, TaskView } from '../api/api.js';
import type { DriverName, ExecOptions, ExecSession, Executor, TaskStats } from '../executor/executor.js';
import type { Job, NodeInfo } from '../jobspec/model.js';
import type { DesiredSet, JobSource } from '../source/source.js';
import type { Driver } from '../drivers/driver.js';
import type { Store, StoreLoadResult } from '../store/store.js';
import type { DesiredInstance, DiffOptions } from '../reconcile/reconcile.js';
import { expandJobs } from '../reconcile/expand.js';
import { decide, diffAll } from '../reconcile/diff.js';
import { WorkQueue } from '../reconcile/work-queue.js';
import { TendError, describeError } from '../errors.js';
import type { AgentMetrics } from './metrics.js';
import { TaskRunner, systemClock, type Clock } from './task-runner.js';
import { fileView, jobViews, pendingView, taskView } from './views.js';
import { resolveQuery } from './resolve.js';
import { recoverTasks } from './recover.js';

export interface AgentOptions {
  dataDir: string;
  jobsDir: string;
  store: Store;
  executor: Executor;
  drivers: Map<string, Driver>;
  source: JobSource;
  node: NodeInfo;
  /** Static parts of the node view (executor, cgroup mode, cores, …). */
  nodeView: Omit<NodeView, 'drivers' | 'attributes' | 'meta' | 'name' | 'id' | 'class' | 'datacenter'>;
  logger: pino.Logger;
  metrics: AgentMetrics;
  concurrency: number;
  clock?: Clock;
  agentEnv?: Record<string, string | undefined>;
  /** Exclusive CPUs for `cores` (the oci executor's cgroup manager); absent on the plain executor. */
  reserveCores?(execId: string, count: number): number[];
  /** Disk pressure for the node view (DiskWatch); absent in unit tests. */
  disk?(): DiskView | undefined;
  /** Loads a dir for `plan(dir)` (the job loader); when absent, plan(dir) only works for the jobs dir. */
  loadDir?(dir: string, node: NodeInfo): Promise<{ jobs: Job[]; files: FileView[] }>;
  /** How the store loaded (a store missing or corrupt while tasks run is reported by recovery). */
  storeLoad?: StoreLoadResult;
}

export class Agent implements AgentApi {
  readonly #o: AgentOptions;
  readonly #log: pino.Logger;
  readonly #store: Store;
  readonly #runner: TaskRunner;
  readonly #queue: WorkQueue;
  readonly #clock: Clock;
  #set: DesiredSet | undefined;
  #desired = new Map<string, DesiredInstance>();
  #types = new Map<string, string>();
  #manual = new Set<string>();
  #passScheduled = false;
  #passRunning = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #metricsTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  #fileErrors = new Map<string, string>();
  #conflicts = new Set<string>();

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'agent' });
    this.#store = opts.store;
    this.#clock = opts.clock ?? systemClock;
    this.#runner = new TaskRunner({
      store: opts.store,
      executor: opts.executor,
      drivers: opts.drivers,
      node: opts.node,
      dataDir: opts.dataDir,
      agentEnv: opts.agentEnv ?? process.env,
      logger: opts.logger,
      metrics: opts.metrics,
      clock: this.#clock,
      reserveCores: opts.reserveCores,
      desired: (id) => this.#desired.get(id),
      changed: () => {
        this.schedulePass();
        this.#metricsSoon();
      },
    });
    this.#queue = new WorkQueue({
      concurrency: opts.concurrency,
      run: (id) => this.#work(id),
      onError: (id, err) => this.#log.error({ id, err: describeError(err) }, 'task action failed'),
      onDepth: (n) => opts.metrics.queueDepth(n),
    });
  }

  /** Recover, garbage-collect, watch, converge. */
  async start(): Promise<void> {
    const set = await this.#o.source.start();
    this.#setDesired(set);
    await recoverTasks({
      store: this.#store,
      executor: this.#o.executor,
      runner: this.#runner,
      logger: this.#o.logger,
      desired: (id) => this.#desired.get(id),
      storeLoad: this.#o.storeLoad,
    });
    this.#unsubscribe = this.#o.source.onChange((s) => {
      this.#setDesired(s);
      this.schedulePass();
    });
    // A set emitted while recovering was not seen by the listener.
    if (this.#o.source.current().generation !== set.generation) this.#setDesired(this.#o.source.current());
    this.schedulePass();
  }

  /** Stop watching and acting; tasks keep running unless `stopTasks`. */
  async stop(opts: { stopTasks?: boolean; drainMs?: number } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
    clearTimeout(this.#metricsTimer);
    await this.#o.source.stop().catch((err) => this.#log.warn({ err: describeError(err) }, 'failed to stop the job source'));
    const drained = await this.#queue.drain(opts.drainMs ?? 5000);
    if (!drained) this.#log.warn({}, 'in-flight task actions did not finish before shutdown');
    if (opts.stopTasks) {
      const recs = this.#store.all();
      await Promise.all(recs.map((r) => this.#runner.stop(r.id, { final: true, reason: 'agent shutting down' }).catch(() => {})));
    }
    this.#runner.unwatchAll();
    await this.#store.flush().catch(() => {});
    await this.#o.executor.close();
    await this.#store.close();
  }

  /** Resolves when no pass and no action is pending (tests, benchmarks). */
  async settled(): Promise<void> {
    for (;;) {
      await this.#queue.idle();
      if (!this.#passScheduled && !this.#passRunning && this.#queue.depth === 0) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  #setDesired(set: DesiredSet): void {
    this.#set = set;
    const jobs = [...set.jobs.values()];
    this.#desired = expandJobs(jobs, this.#store.nodeId);
    this.#types = new Map(jobs.map((j) => [j.id, j.type]));
    // File errors and conflicts become events once per distinct content.
    const seen = new Set<string>();
    for (const f of set.files) {
      seen.add(f.path);
      if (f.ok) {
        if (this.#fileErrors.has(f.path)) this.#store.addEvent({ file: f.path, type: 'File Loaded', message: `${f.path} loads again` });
        this.#fileErrors.delete(f.path);
        continue;
      }
      if (this.#fileErrors.get(f.path) === f.contentHash) continue;
      this.#fileErrors.set(f.path, f.contentHash);
      this.#o.metrics.fileLoadError();
      const d = f.diagnostics.find((x) => x.severity === 'error') ?? f.diagnostics[0];
      const where = d ? `${d.file}:${d.line}:${d.column}: ${d.message}` : f.path;
      this.#store.addEvent({ file: f.path, type: 'File Error', message: `${where}${f.jobs.length ? ' (last good version in force)' : ''}`, details: d ? { line: d.line, column: d.column, path: d.path } : undefined });
      this.#log.warn({ file: f.path, line: d?.line, column: d?.column, err: d?.message }, 'job file failed to load');
    }
    for (const p of [...this.#fileErrors.keys()]) if (!seen.has(p)) this.#fileErrors.delete(p);
    for (const c of set.conflicts) {
      const key = `${c.job}\0${c.winner}\0${c.losers.join('\0')}`;
      if (this.#conflicts.has(key)) continue;
      this.#conflicts.add(key);
      this.#store.addEvent({ job: c.job, file: c.losers[0], type: 'Conflict', message: `job "${c.job}" is defined in ${c.winner} and ${c.losers.join(', ')}; ${c.winner} wins` });
    }
  }

  #diffOptions(): DiffOptions {
    return {
      now: this.#clock.now(),
      driverBlocked: (name) => {
        const d = this.#o.drivers.get(name);
        if (!d) return `unknown driver "${name}"`;
        const a = d.availability();
        return a.ok ? undefined : a.reason;
      },
    };
  }

  /** Ask for a pass soon (coalesced: one pass at a time). */
  schedulePass(): void {
    if (this.#passScheduled || this.#stopped) return;
    this.#passScheduled = true;
    setImmediate(() => this.#pass());
  }

  #pass(): void {
    this.#passScheduled = false;
    if (this.#stopped) return;
    this.#passRunning = true;
    const t0 = performance.now();
    try {
      const opts = this.#diffOptions();
      const records = this.#store.all();
      let nextTimer = Infinity;
      const seen = new Set<string>();
      const submit = (id: string, kind: string, reason?: string) => {
        this.#log.debug({ id, action: kind, reason }, 'action planned');
        this.#queue.submit(id);
      };
      for (const r of records) {
        seen.add(r.id);
        if (this.#manual.has(r.id)) {
          submit(r.id, 'restart', 'requested');
          continue;
        }
        const dec = decide(this.#desired.get(r.id), r, opts);
        if (dec.kind !== 'none') submit(r.id, dec.kind, dec.reason);
        else if (r.state === 'restarting' && r.nextRestartAt) nextTimer = Math.min(nextTimer, Date.parse(r.nextRestartAt));
      }
      for (const [id, d] of this.#desired) {
        if (seen.has(id)) continue;
        const dec = decide(d, undefined, opts);
        if (dec.kind !== 'none') submit(id, dec.kind, dec.reason);
      }
      this.#armTimer(nextTimer);
      this.#o.metrics.setTaskStates(this.#stateCounts());
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'reconcile pass failed');
    } finally {
      this.#passRunning = false;
      this.#o.metrics.reconcilePass(performance.now() - t0);
    }
  }

  #armTimer(at: number): void {
    if (at === Infinity) return;
    if (this.#timer && at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.schedulePass();
    }, Math.max(0, at - this.#clock.now()));
    this.#timer.unref?.();
  }

  #stateCounts(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    const seen = new Set<string>();
    for (const r of this.#store.all()) {
      seen.add(r.id);
      const byState = (out[r.driver] ??= {});
      byState[r.state] = (byState[r.state] ?? 0) + 1;
    }
    for (const [id, d] of this.#desired) {
      if (seen.has(id)) continue;
      const byState = (out[d.task.driver] ??= {});
      byState.pending = (byState.pending ?? 0) + 1;
    }
    return out;
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

  /** One task's worker: decide from the latest state, act, repeat until nothing is left to do. */
  async #work(id: string): Promise<void> {
    try {
      await this.#workSteps(id);
    } finally {
      this.#metricsSoon();
    }
  }

  async #workSteps(id: string): Promise<void> {
    for (let step = 0; step < 4 && !this.#stopped; step++) {
      const d = this.#desired.get(id);
      if (this.#manual.delete(id)) {
        const r = this.#store.get(id);
        if (!d || !r) continue;
        if (r.handle) await this.#runner.stop(id, { final: false, reason: 'restart requested' });
        this.#store.update(id, (x) => {
          x.window = undefined;
          x.state = 'pending';
        });
        await this.#runner.start(d, true);
        continue;
      }
      const dec = decide(d, this.#store.get(id), this.#diffOptions());
      switch (dec.kind) {
        case 'none':
          return;
        case 'start':
          await this.#runner.start(d as DesiredInstance);
          if (this.#store.get(id)?.state !== 'running') return;
          break;
        case 'stop':
          await this.#runner.stop(id, { final: true, reason: dec.reason ?? 'no longer desired' });
          break;
        case 'restart':
          this.#runner.event(this.#store.get(id)!, 'Restart Signaled', `Spec changed: ${dec.fields?.join(', ') ?? ''}`, { fields: dec.fields });
          await this.#runner.stop(id, { final: false, reason: `spec changed (${dec.fields?.join(', ')})` });
          break;
        case 'update':
          await this.#runner.update(d as DesiredInstance, dec.fields ?? []);
          break;
      }
    }
    this.schedulePass();
  }

  // ---- AgentApi ----

  async node(): Promise<NodeView> {
    const n = this.#o.node;
    const drivers: NodeView['drivers'] = {};
    for (const [name, d] of this.#o.drivers) drivers[name] = { ...d.availability(), enabled: d.enabled };
    const disk = this.#o.disk?.();
    return { ...this.#o.nodeView, name: n.name, id: n.id, class: n.class, datacenter: n.datacenter, attributes: n.attributes, meta: n.meta, drivers, ...(disk ? { disk } : {}) };
  }

  tasks(): TaskView[] {
    const out: TaskView[] = [];
    const seen = new Set<string>();
    for (const r of this.#store.all()) {
      seen.add(r.id);
      out.push(taskView(r, this.#desired.get(r.id), this.#o.dataDir));
    }
    for (const [id, d] of this.#desired) if (!seen.has(id)) out.push(pendingView(d));
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  jobs(): JobView[] {
    return jobViews({ tasks: this.tasks(), files: this.#set?.files ?? [], types: this.#types });
  }

  files(): FileView[] {
    return (this.#set?.files ?? []).map(fileView);
  }

  async task(id: string, opts: { stats?: boolean } = {}): Promise<TaskView> {
    const r = this.#store.get(id);
    const d = this.#desired.get(id);
    if (!r && !d) throw new TendError('E_TASK_NOT_FOUND', `failed to find task ${id}: no such task instance`, { details: { task: id } });
    const v = r ? taskView(r, d, this.#o.dataDir, true) : { ...pendingView(d!), events: [] };
    if (opts.stats && r?.handle && r.state === 'running') {
      v.stats = await this.#o.executor.stats(r.handle).catch(() => undefined);
    }
    return v;
  }

  #ids(): Set<string> {
    const ids = new Set<string>(this.#desired.keys());
    for (const r of this.#store.all()) ids.add(r.id);
    return ids;
  }

  resolve(query: string): string[] {
    return resolveQuery(query, this.#ids());
  }

  events(q?: EventQuery): TaskEvent[] {
    return this.#store.events(q);
  }

  subscribe(listener: (e: TaskEvent) => void): () => void {
    return this.#store.subscribe(listener);
  }

  #running(id: string) {
    const r = this.#store.get(id);
    if (!r && !this.#desired.has(id)) throw new TendError('E_TASK_NOT_FOUND', `failed to find task ${id}: no such task instance`, { details: { task: id } });
    if (!r?.handle || r.state !== 'running') throw new TendError('E_BAD_REQUEST', `expected task ${id} to be running, got ${r?.state ?? 'pending'}`);
    return { r, handle: r.handle };
  }

  async signal(id: string, signal: string): Promise<void> {
    const { r, handle } = this.#running(id);
    await this.#o.executor.signal(handle, signal);
    this.#runner.event(r, 'Signaled', `Task sent ${signal} by an operator`, { signal });
  }

  async restart(id: string): Promise<void> {
    const r = this.#store.get(id);
    if (!r && !this.#desired.has(id)) throw new TendError('E_TASK_NOT_FOUND', `failed to find task ${id}: no such task instance`, { details: { task: id } });
    if (!this.#desired.has(id)) throw new TendError('E_BAD_REQUEST', `expected task ${id} to be desired, got a task being stopped`);
    if (r) this.#runner.event(r, 'Restart Signaled', 'User requested restart');
    this.#manual.add(id);
    this.#queue.submit(id);
  }

  async exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecSession> {
    const { handle } = this.#running(id);
    return this.#o.executor.exec(handle, command, opts);
  }

  async plan(dir?: string): Promise<Plan> {
    const opts = this.#diffOptions();
    if (!dir || dir === this.#o.jobsDir) {
      return { actions: diffAll(this.#desired, this.#store.all(), opts), files: this.files() };
    }
    if (!this.#o.loadDir) throw new TendError('E_BAD_REQUEST', `failed to plan ${dir}: this agent can only plan its jobs dir`);
    const loaded = await this.#o.loadDir(dir, this.#o.node);
    return { actions: diffAll(expandJobs(loaded.jobs, this.#store.nodeId), this.#store.all(), opts), files: loaded.files };
  }

  async stats(): Promise<Record<string, TaskStats>> {
    const out: Record<string, TaskStats> = {};
    const running = this.#store.all().filter((r) => r.handle && r.state === 'running');
    await Promise.all(
      running.map(async (r) => {
        try {
          out[r.id] = await this.#o.executor.stats(r.handle!);
        } catch {
          /* a task that just ended has no stats */
        }
      }),
    );
    return out;
  }

  /** Drivers by name (node view, tests). */
  driver(name: DriverName): Driver | undefined {
    return this.#o.drivers.get(name);
  }
}
