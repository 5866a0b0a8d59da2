/**
 * The agent as the API sees it (`AgentApi`, served by src/api/server.ts to tendctl): views over
 * the store's records and the desired set, and operator requests, which reach the task's worker
 * as inputs (restart, signal) or go to the executor when they change no record (exec, stats).
 */
import type { AgentApi, DeploymentView, DiskView, DispatchInput, EventQuery, FileView, JobView, NodeView, ParameterizedView, PeriodicView, Plan, SampleSeries, SamplesView, TaskEvent, TaskView, VariablesApi } from '../api/api.js';
import type { ExecOptions, ExecSession, Executor, TaskStats } from '../executor/executor.js';
import type { Job, NodeInfo } from '../jobspec/model.js';
import type { DesiredSet } from '../source/source.js';
import type { Driver } from '../drivers/driver.js';
import type { Store } from '../store/store.js';
import type { DesiredInstance, DiffOptions, PlanDetail } from '../reconcile/reconcile.js';
import type { TaskWorker } from '../reconcile/task-worker.js';
import type { PeriodicLauncher } from '../reconcile/periodic.js';
import type { DispatchLauncher } from '../reconcile/dispatch.js';
import { parseChildJobId, rootJobId, runsOnItsOwn } from '../reconcile/child-jobs.js';
import { expandJobs } from '../reconcile/expand.js';
import { diffAll } from '../reconcile/diff.js';
import type { PlanAction } from '../reconcile/reconcile.js';
import { TendError } from '../errors.js';
import { deploymentView, fileView, jobViews, pendingView, revertedText, taskView } from './views.js';
import type { Rollouts } from '../reconcile/rollouts.js';
import { resolveQuery, suggestTasks } from './resolve.js';
import { notRunning } from '../reconcile/not-running.js';
import type { AllocatedPort } from '../ports/ports.js';
import type { ServiceCatalog } from '../services/catalog.js';
import type { CheckView, ServiceInstanceView, ServiceSummaryView } from '../services/services.js';
import { StatsSampler } from './stats-sampler.js';

/** What the agent knows of the desired state right now (the agent replaces the fields). */
export interface DesiredState {
  set: DesiredSet | undefined;
  desired: ReadonlyMap<string, DesiredInstance>;
  /** Job type by job id. */
  types: ReadonlyMap<string, string>;
  /** Every job in force by id: the set's jobs and the unfinished children of periodic and parameterized jobs. */
  jobs: ReadonlyMap<string, Job>;
}

export interface ApiFacadeOptions {
  dataDir: string;
  jobsDir: string;
  store: Store;
  executor: Executor;
  drivers: Map<string, Driver>;
  node: NodeInfo;
  /** Static parts of the node view (executor, cgroup mode, cores, …). */
  nodeView: Omit<NodeView, 'drivers' | 'attributes' | 'meta' | 'name' | 'id' | 'class' | 'datacenter' | 'jobsRevision'>;
  worker: Pick<TaskWorker, 'submit' | 'signal'>;
  state: DesiredState;
  /** Periodic jobs: their schedules and forced launches (absent in unit tests of other views). */
  periodic?: Pick<PeriodicLauncher, 'force' | 'next' | 'isPeriodic'>;
  /** Parameterized jobs: dispatches (absent in unit tests of other views). */
  dispatch?: Pick<DispatchLauncher, 'dispatch' | 'isParameterized'>;
  /** Rollouts of service jobs: what each rolls out, and the operator's fail and promote (absent in unit tests of other views). */
  rollouts?: Pick<Rollouts, 'target' | 'fail' | 'promote'>;
  diffOptions(): DiffOptions;
  /** Disk pressure for the node view (DiskWatch); absent in unit tests. */
  disk?(): DiskView | undefined;
  /** The allocations' ports (the port book); absent: views show none. */
  ports?: { portsOf(allocId: string): AllocatedPort[] | undefined; blockedAll(): { allocId: string; job: string; reason: string }[] };
  /** Loads a dir for `plan(dir)` (the job loader); when absent, plan(dir) only works for the jobs dir. */
  loadDir?(dir: string, node: NodeInfo): Promise<{ jobs: Job[]; files: FileView[] }>;
  /** The Nomad-variables store (`tendctl var …`); absent in unit tests of other views. */
  variables?: VariablesApi;
  /** The local service catalog (`tendctl services`, task checks); absent: no services. */
  services?: Pick<ServiceCatalog, 'summaries' | 'instances' | 'checksOfAlloc'>;
  /** The stats sampler's interval and how many samples it keeps (defaults in stats-sampler.ts: 10 s, 60). */
  sampler?: { intervalMs?: number; keep?: number };
}

function notFound(id: string): TendError {
  return new TendError('E_TASK_NOT_FOUND', `failed to find task ${id}: no such task instance`, { details: { task: id } });
}

export class ApiFacade implements AgentApi {
  readonly #f: ApiFacadeOptions;
  readonly variables?: VariablesApi;
  readonly #sampler: StatsSampler;

  constructor(opts: ApiFacadeOptions) {
    this.#f = opts;
    if (opts.variables) this.variables = opts.variables;
    this.#sampler = new StatsSampler({ ...opts.sampler, read: () => this.stats() });
  }

  async samples(): Promise<SamplesView> {
    await this.#sampler.touch();
    return this.#sampler.latest();
  }

  async sampleSeries(id: string): Promise<SampleSeries> {
    const r = this.#f.store.get(id);
    if (!r && !this.#f.state.desired.has(id)) throw notFound(id);
    await this.#sampler.touch(r?.state === 'running' ? id : undefined);
    return this.#sampler.series(id);
  }

  /** Stops the stats sampler (agent shutdown). */
  protected stopSampling(): void {
    this.#sampler.close();
  }

  async node(): Promise<NodeView> {
    const n = this.#f.node;
    const drivers: NodeView['drivers'] = {};
    for (const [name, d] of this.#f.drivers) drivers[name] = { ...d.availability(), enabled: d.enabled };
    const disk = this.#f.disk?.();
    const jobsRevision = this.#f.state.set?.revision ?? null;
    return { ...this.#f.nodeView, name: n.name, id: n.id, class: n.class, datacenter: n.datacenter, attributes: n.attributes, meta: n.meta, drivers, jobsRevision, ...(disk ? { disk } : {}) };
  }

  tasks(): TaskView[] {
    const { desired } = this.#f.state;
    const out: TaskView[] = [];
    const seen = new Set<string>();
    const ports = (allocId: string) => this.#f.ports?.portsOf(allocId);
    for (const r of this.#f.store.all()) {
      seen.add(r.id);
      out.push(this.#withChecks(taskView(r, desired.get(r.id), this.#f.dataDir, false, ports(r.allocId))));
    }
    for (const [id, d] of desired) if (!seen.has(id)) out.push(this.#withChecks(pendingView(d, ports(d.allocId))));
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  jobs(): JobView[] {
    const portsBlocked = new Map((this.#f.ports?.blockedAll() ?? []).map((b) => [b.job, b.reason]));
    const views = jobViews({ tasks: this.tasks(), files: this.#f.state.set?.files ?? [], types: this.#f.state.types, portsBlocked });
    for (const v of views) {
      const parent = parseChildJobId(v.id)?.parent;
      if (parent) v.parent = parent;
      const dep = this.#deploymentView(v.id);
      if (dep) {
        v.deployment = dep;
        // A failed rollout leaves instances on their old version (unless it had none to replace).
        const left = dep.groups.some((g) => g.placed < g.desiredTotal);
        const why = revertedText(dep) ?? (dep.status === 'failed' && left ? `rollout of version ${dep.version} failed: ${dep.description}; instances not yet replaced keep their version` : undefined);
        if (why) v.reason = v.reason ? `${why}; ${v.reason}` : why;
      }
      const q = this.#parameterizedView(v.id);
      // The parent runs nothing itself: it is "running" while it may be dispatched (Nomad's status of a parameterized job).
      if (q) {
        v.parameterized = q;
        if (v.status === 'dead') v.status = 'running';
      }
      const p = this.#periodicView(v.id);
      if (!p) continue;
      v.periodic = p;
      // Likewise "running" while it launches (Nomad's status of a periodic job).
      if (v.status === 'dead') v.status = p.enabled ? 'running' : 'dead';
      if (!p.enabled && !v.reason) v.reason = 'periodic job disabled (enabled = false): never launches';
    }
    return views;
  }

  #deploymentView(id: string): DeploymentView | undefined {
    const rec = this.#f.store.getRollout(id);
    return rec ? deploymentView(rec, this.#f.rollouts?.target(id) ?? this.#f.state.jobs.get(id)) : undefined;
  }

  deployment(job: string): DeploymentView {
    const v = this.#deploymentView(job);
    if (!v) throw new TendError('E_JOB_NOT_FOUND', `failed to find a deployment of ${job}: no service job ${job} with rollouts has run`, { details: { job } });
    return v;
  }

  async failDeployment(job: string): Promise<DeploymentView> {
    if (!this.#f.rollouts) throw new TendError('E_JOB_NOT_FOUND', `failed to fail the deployment of ${job}: this agent has no rollouts`, { details: { job } });
    this.#f.rollouts.fail(job);
    return this.deployment(job);
  }

  async promoteDeployment(job: string): Promise<DeploymentView & { promoted: number }> {
    if (!this.#f.rollouts) throw new TendError('E_JOB_NOT_FOUND', `failed to promote the deployment of ${job}: this agent has no rollouts`, { details: { job } });
    const promoted = this.#f.rollouts.promote(job);
    return { ...this.deployment(job), promoted };
  }

  #parameterizedView(id: string): ParameterizedView | undefined {
    const job = this.#f.state.jobs.get(id);
    if (!job?.parameterized || !this.#f.dispatch?.isParameterized(id)) return undefined;
    const r = this.#f.store.getDispatch(id);
    return {
      payload: job.parameterized.payload,
      metaRequired: job.parameterized.metaRequired,
      metaOptional: job.parameterized.metaOptional,
      ...(job.periodic ? { periodic: true } : {}),
      children: (r?.children ?? []).map((c) => ({
        id: c.id,
        launchedAt: c.launchedAt,
        status: c.finished?.status ?? 'running',
        ...(c.finished ? { finishedAt: c.finished.at, exits: c.finished.exits } : {}),
        meta: c.meta,
        payloadBytes: c.payloadBytes ?? 0,
      })),
    };
  }

  #periodicView(id: string): PeriodicView | undefined {
    const job = this.#f.state.jobs.get(id);
    if (!job?.periodic || !this.#f.periodic?.isPeriodic(id)) return undefined;
    const r = this.#f.store.getPeriodic(id);
    const next = this.#f.periodic.next(id);
    return {
      crons: job.periodic.crons,
      timeZone: job.periodic.timeZone,
      enabled: job.periodic.enabled,
      prohibitOverlap: job.periodic.prohibitOverlap,
      ...(next !== undefined ? { nextLaunch: new Date(next).toISOString() } : {}),
      children: (r?.children ?? []).map((c) => ({
        id: c.id,
        launchedAt: c.launchedAt,
        ...(c.forced ? { forced: true } : {}),
        status: c.finished?.status ?? 'running',
        ...(c.finished ? { finishedAt: c.finished.at, exits: c.finished.exits } : {}),
      })),
      ...(r?.missed ? { missed: r.missed } : {}),
      ...(r?.lastSkipped ? { lastSkipped: r.lastSkipped } : {}),
    };
  }

  async forcePeriodic(job: string): Promise<{ job: string; child: string }> {
    if (!this.#f.periodic) throw new TendError('E_JOB_NOT_FOUND', `failed to force a launch of ${job}: no periodic job ${job} in force`, { details: { job } });
    return { job, child: this.#f.periodic.force(job) };
  }

  async dispatchJob(job: string, input: DispatchInput = {}): Promise<{ job: string; child: string }> {
    if (!this.#f.dispatch) throw new TendError('E_JOB_NOT_FOUND', `failed to dispatch ${job}: no job ${job} in force`, { details: { job } });
    const payload = input.payload === undefined ? undefined : Buffer.from(input.payload, 'base64');
    return { job, child: this.#f.dispatch.dispatch(job, { meta: input.meta ?? {}, ...(payload ? { payload } : {}) }) };
  }

  files(): FileView[] {
    return (this.#f.state.set?.files ?? []).map(fileView);
  }

  async task(id: string, opts: { stats?: boolean } = {}): Promise<TaskView> {
    const r = this.#f.store.get(id);
    const d = this.#f.state.desired.get(id);
    if (!r && !d) throw notFound(id);
    const allocId = r?.allocId ?? d!.allocId;
    const ports = this.#f.ports?.portsOf(allocId);
    const v = this.#withChecks(r ? taskView(r, d, this.#f.dataDir, true, ports) : { ...pendingView(d!, ports), events: [] });
    if (opts.stats && r?.handle && r.state === 'running') {
      v.stats = await this.#f.executor.stats(r.handle).catch(() => undefined);
    }
    return v;
  }

  /** The checks a task view shows: its own services' and its group's. */
  #withChecks(v: TaskView): TaskView {
    const checks = this.#f.services?.checksOfAlloc(v.allocId).filter((c: CheckView) => c.group || c.task === v.task);
    if (checks?.length) v.checks = checks;
    return v;
  }

  services(): ServiceSummaryView[] {
    return this.#f.services?.summaries() ?? [];
  }

  service(name: string): ServiceInstanceView[] {
    const list = this.#f.services?.instances(name) ?? [];
    if (!list.length) throw new TendError('E_SERVICE_NOT_FOUND', `service "${name}" not found: no instance is registered in the local catalog`, { details: { service: name } });
    return list;
  }

  resolve(query: string): string[] {
    const allocs = new Map<string, string>();
    for (const [id, d] of this.#f.state.desired) allocs.set(id, d.allocId);
    for (const r of this.#f.store.all()) allocs.set(r.id, r.allocId);
    return resolveQuery(query, allocs.keys(), allocs);
  }

  suggestTasks(query: string): string[] {
    const ids = new Set<string>(this.#f.state.desired.keys());
    for (const r of this.#f.store.all()) ids.add(r.id);
    return suggestTasks(query, ids);
  }

  events(q?: EventQuery): TaskEvent[] {
    return this.#f.store.events(q);
  }

  subscribe(listener: (e: TaskEvent) => void): () => void {
    return this.#f.store.subscribe(listener);
  }

  #running(id: string, what: string) {
    const r = this.#f.store.get(id);
    if (!r && !this.#f.state.desired.has(id)) throw notFound(id);
    if (!r?.handle || r.state !== 'running') throw notRunning(id, r?.state, what);
    return { r, handle: r.handle };
  }

  async signal(id: string, signal: string): Promise<void> {
    this.#running(id, 'a signal');
    await this.#f.worker.signal(id, signal);
  }

  async restart(id: string): Promise<void> {
    const r = this.#f.store.get(id);
    if (!r && !this.#f.state.desired.has(id)) throw notFound(id);
    if (!this.#f.state.desired.has(id)) throw new TendError('E_BAD_REQUEST', `task ${id} is being stopped (it is no longer in the job files); restart needs a task the files describe`, { details: { task: id } });
    this.#f.worker.submit(id, { type: 'restart-requested' });
  }

  async exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecSession> {
    const { handle } = this.#running(id, 'exec');
    return this.#f.executor.exec(handle, command, opts);
  }

  async plan(dir?: string, detail: PlanDetail = {}): Promise<Plan> {
    const opts = this.#f.diffOptions();
    if (!dir || dir === this.#f.jobsDir) {
      return { actions: this.#withRollouts(diffAll(this.#f.state.desired, this.#f.store.all(), opts, detail), opts, detail), files: this.files() };
    }
    if (!this.#f.loadDir) throw new TendError('E_BAD_REQUEST', `failed to plan ${dir}: this agent can only plan its jobs dir`);
    const loaded = await this.#f.loadDir(dir, this.#f.node);
    // Periodic and parameterized jobs start nothing at load; the children of those the dir still has keep running.
    const kept = new Set(loaded.jobs.map((j) => j.id));
    const desired = expandJobs(loaded.jobs.filter(runsOnItsOwn), this.#f.store.nodeId);
    for (const [id, d] of this.#f.state.desired) if (d.job.parent && kept.has(rootJobId(d.job.id))) desired.set(id, d);
    return { actions: diffAll(desired, this.#f.store.all(), opts, detail), files: loaded.files };
  }

  /** Allocations a rollout keeps on their version for now: what the job asks of them, and that they wait. */
  #withRollouts(actions: PlanAction[], opts: DiffOptions, detail: PlanDetail): PlanAction[] {
    const r = this.#f.rollouts;
    if (!r) return actions;
    const targets = new Map<string, Map<string, DesiredInstance> | undefined>();
    return actions.map((a) => {
      if (a.kind !== 'none') return a;
      if (!targets.has(a.job)) {
        const job = r.target(a.job);
        targets.set(a.job, job ? expandJobs([job], this.#f.store.nodeId) : undefined);
      }
      const want = targets.get(a.job)?.get(a.task);
      const rec = this.#f.store.get(a.task);
      if (!want || !rec || want.hashes.restart === rec.hashes.restart) return a;
      const target = diffAll(new Map([[a.task, want]]), [rec], opts, detail)[0];
      if (target.kind === 'none') return a;
      const d = this.#f.store.getRollout(a.job)?.deployment;
      const parallel = want.group.update?.maxParallel;
      const waits = d?.status === 'failed' ? `not replaced: the rollout failed (${d.description})` : `waits for its turn in the rollout${parallel ? ` (max_parallel ${parallel})` : ''}`;
      return { ...target, waits };
    });
  }

  async stats(): Promise<Record<string, TaskStats>> {
    const out: Record<string, TaskStats> = {};
    const running = this.#f.store.all().filter((r) => r.handle && r.state === 'running');
    const ex = this.#f.executor;
    if (ex.statsAll) {
      // Keyed by handle id (the executor's), answered by instance id.
      const ids = new Map(running.map((r) => [r.handle!.id, r.id]));
      for (const [handleId, s] of await ex.statsAll(running.map((r) => r.handle!))) {
        const id = ids.get(handleId);
        if (id) out[id] = s;
      }
      return out;
    }
    await Promise.all(
      running.map(async (r) => {
        try {
          out[r.id] = await this.#f.executor.stats(r.handle!);
        } catch {
          /* a task that just ended has no stats */
        }
      }),
    );
    return out;
  }
}
