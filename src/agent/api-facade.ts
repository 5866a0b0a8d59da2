/**
 * The agent as the API sees it (`AgentApi`, served by src/api/server.ts to tendctl): views over
 * the store's records and the desired set, and operator requests, which reach the task's worker
 * as inputs (restart, signal) or go to the executor when they change no record (exec, stats).
 */
import type { AgentApi, DiskView, EventQuery, FileView, JobView, NodeView, Plan, TaskEvent, TaskView } from '../api/api.js';
import type { ExecOptions, ExecSession, Executor, TaskStats } from '../executor/executor.js';
import type { Job, NodeInfo } from '../jobspec/model.js';
import type { DesiredSet } from '../source/source.js';
import type { Driver } from '../drivers/driver.js';
import type { Store } from '../store/store.js';
import type { DesiredInstance, DiffOptions } from '../reconcile/reconcile.js';
import type { TaskWorker } from '../reconcile/task-worker.js';
import { expandJobs } from '../reconcile/expand.js';
import { diffAll } from '../reconcile/diff.js';
import { TendError } from '../errors.js';
import { fileView, jobViews, pendingView, taskView } from './views.js';
import { resolveQuery } from './resolve.js';

/** What the agent knows of the desired state right now (the agent replaces the fields). */
export interface DesiredState {
  set: DesiredSet | undefined;
  desired: ReadonlyMap<string, DesiredInstance>;
  /** Job type by job id. */
  types: ReadonlyMap<string, string>;
}

export interface ApiFacadeOptions {
  dataDir: string;
  jobsDir: string;
  store: Store;
  executor: Executor;
  drivers: Map<string, Driver>;
  node: NodeInfo;
  /** Static parts of the node view (executor, cgroup mode, cores, …). */
  nodeView: Omit<NodeView, 'drivers' | 'attributes' | 'meta' | 'name' | 'id' | 'class' | 'datacenter'>;
  worker: Pick<TaskWorker, 'submit' | 'signal'>;
  state: DesiredState;
  diffOptions(): DiffOptions;
  /** Disk pressure for the node view (DiskWatch); absent in unit tests. */
  disk?(): DiskView | undefined;
  /** Loads a dir for `plan(dir)` (the job loader); when absent, plan(dir) only works for the jobs dir. */
  loadDir?(dir: string, node: NodeInfo): Promise<{ jobs: Job[]; files: FileView[] }>;
}

function notFound(id: string): TendError {
  return new TendError('E_TASK_NOT_FOUND', `failed to find task ${id}: no such task instance`, { details: { task: id } });
}

export class ApiFacade implements AgentApi {
  readonly #f: ApiFacadeOptions;

  constructor(opts: ApiFacadeOptions) {
    this.#f = opts;
  }

  async node(): Promise<NodeView> {
    const n = this.#f.node;
    const drivers: NodeView['drivers'] = {};
    for (const [name, d] of this.#f.drivers) drivers[name] = { ...d.availability(), enabled: d.enabled };
    const disk = this.#f.disk?.();
    return { ...this.#f.nodeView, name: n.name, id: n.id, class: n.class, datacenter: n.datacenter, attributes: n.attributes, meta: n.meta, drivers, ...(disk ? { disk } : {}) };
  }

  tasks(): TaskView[] {
    const { desired } = this.#f.state;
    const out: TaskView[] = [];
    const seen = new Set<string>();
    for (const r of this.#f.store.all()) {
      seen.add(r.id);
      out.push(taskView(r, desired.get(r.id), this.#f.dataDir));
    }
    for (const [id, d] of desired) if (!seen.has(id)) out.push(pendingView(d));
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  jobs(): JobView[] {
    return jobViews({ tasks: this.tasks(), files: this.#f.state.set?.files ?? [], types: this.#f.state.types });
  }

  files(): FileView[] {
    return (this.#f.state.set?.files ?? []).map(fileView);
  }

  async task(id: string, opts: { stats?: boolean } = {}): Promise<TaskView> {
    const r = this.#f.store.get(id);
    const d = this.#f.state.desired.get(id);
    if (!r && !d) throw notFound(id);
    const v = r ? taskView(r, d, this.#f.dataDir, true) : { ...pendingView(d!), events: [] };
    if (opts.stats && r?.handle && r.state === 'running') {
      v.stats = await this.#f.executor.stats(r.handle).catch(() => undefined);
    }
    return v;
  }

  resolve(query: string): string[] {
    const ids = new Set<string>(this.#f.state.desired.keys());
    for (const r of this.#f.store.all()) ids.add(r.id);
    return resolveQuery(query, ids);
  }

  events(q?: EventQuery): TaskEvent[] {
    return this.#f.store.events(q);
  }

  subscribe(listener: (e: TaskEvent) => void): () => void {
    return this.#f.store.subscribe(listener);
  }

  #running(id: string) {
    const r = this.#f.store.get(id);
    if (!r && !this.#f.state.desired.has(id)) throw notFound(id);
    if (!r?.handle || r.state !== 'running') throw new TendError('E_BAD_REQUEST', `expected task ${id} to be running, got ${r?.state ?? 'pending'}`);
    return { r, handle: r.handle };
  }

  async signal(id: string, signal: string): Promise<void> {
    this.#running(id);
    await this.#f.worker.signal(id, signal);
  }

  async restart(id: string): Promise<void> {
    const r = this.#f.store.get(id);
    if (!r && !this.#f.state.desired.has(id)) throw notFound(id);
    if (!this.#f.state.desired.has(id)) throw new TendError('E_BAD_REQUEST', `expected task ${id} to be desired, got a task being stopped`);
    this.#f.worker.submit(id, { type: 'restart-requested' });
  }

  async exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecSession> {
    const { handle } = this.#running(id);
    return this.#f.executor.exec(handle, command, opts);
  }

  async plan(dir?: string): Promise<Plan> {
    const opts = this.#f.diffOptions();
    if (!dir || dir === this.#f.jobsDir) {
      return { actions: diffAll(this.#f.state.desired, this.#f.store.all(), opts), files: this.files() };
    }
    if (!this.#f.loadDir) throw new TendError('E_BAD_REQUEST', `failed to plan ${dir}: this agent can only plan its jobs dir`);
    const loaded = await this.#f.loadDir(dir, this.#f.node);
    return { actions: diffAll(expandJobs(loaded.jobs, this.#f.store.nodeId), this.#f.store.all(), opts), files: loaded.files };
  }

  async stats(): Promise<Record<string, TaskStats>> {
    const out: Record<string, TaskStats> = {};
    const running = this.#f.store.all().filter((r) => r.handle && r.state === 'running');
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
