/** Hand-built jobs (Nomad defaults) and a fake executor for agent and reconcile unit tests. */
import type { Group, Job, Task, UpdateStrategy } from '../../../src/jobspec/model.js';
import type { DriverAvailability, DriverName, ExecSession, Executor, ExitResult, LaunchSpec, ListedTask, ReattachResult, TaskHandle, TaskResources, TaskStats } from '../../../src/executor/executor.js';
import type { Driver, PrepareContext, TaskInstance } from '../../../src/drivers/driver.js';
import type { DesiredSet, JobSource } from '../../../src/source/source.js';

export function makeTask(name: string, over: Partial<Task> = {}, cfg: Partial<Task['config']> = {}): Task {
  return {
    name,
    driver: 'raw_exec',
    config: { command: '/bin/sleep', args: ['1000'], capAdd: [], capDrop: [], raw: {}, ...cfg },
    env: {},
    meta: {},
    resources: { cpu: 100, memoryMB: 300 },
    restart: { attempts: 2, intervalMs: 30 * 60_000, delayMs: 15_000, mode: 'fail' },
    killSignal: 'SIGINT',
    killTimeoutMs: 5000,
    logs: { maxFiles: 10, maxFileSizeMB: 10, disabled: false },
    artifacts: [],
    templates: [],
    constraints: [],
    volumeMounts: [],
    leader: false,
    pos: { file: '/jobs/x.hcl', line: 1, column: 1 },
    ...over,
  };
}

export function makeJob(id: string, opts: { count?: number; tasks?: Task[]; type?: 'service' | 'batch'; file?: string; update?: UpdateStrategy } = {}): Job {
  const group: Group = {
    name: 'g',
    count: opts.count ?? 1,
    restart: { attempts: 2, intervalMs: 30 * 60_000, delayMs: 15_000, mode: 'fail' },
    meta: {},
    constraints: [],
    volumes: [],
    tasks: opts.tasks ?? [makeTask('t')],
    ...(opts.update ? { update: opts.update } : {}),
    pos: { file: opts.file ?? `/jobs/${id}.hcl`, line: 2, column: 1 },
  };
  return {
    id,
    name: id,
    type: opts.type ?? 'service',
    datacenters: ['dc1'],
    priority: 50,
    meta: {},
    constraints: [],
    groups: [group],
    file: opts.file ?? `/jobs/${id}.hcl`,
    pos: { file: opts.file ?? `/jobs/${id}.hcl`, line: 1, column: 1 },
  };
}

interface FakeTask {
  spec: LaunchSpec;
  handle: TaskHandle;
  resources: TaskResources;
  exit?: ExitResult;
  resolve: (e: ExitResult) => void;
  done: Promise<ExitResult>;
}

/** An in-memory executor: "processes" live until exit() or shutdown(). */
export class FakeExecutor implements Executor {
  readonly kind = 'plain' as const;
  #pid = 1000;
  readonly tasks = new Map<string, FakeTask>();
  readonly launches: string[] = [];
  readonly shutdowns: string[] = [];
  readonly cleanups: string[] = [];
  readonly updates: { id: string; resources: TaskResources }[] = [];
  gcKnown: ReadonlySet<string> | undefined;
  /** Ids cleaned up since their last launch: list() no longer shows them. */
  readonly #cleaned = new Set<string>();
  launchError: Error | undefined;
  launchDelayMs = 0;

  async fingerprint(): Promise<Record<DriverName, DriverAvailability>> {
    return { raw_exec: { ok: true }, exec: { ok: false, reason: 'requires root' } };
  }

  async launch(spec: LaunchSpec): Promise<TaskHandle> {
    if (this.launchDelayMs) await new Promise((r) => setTimeout(r, this.launchDelayMs));
    if (this.launchError) throw this.launchError;
    const live = this.tasks.get(spec.id);
    if (live && !live.exit) throw new Error(`fake: ${spec.id} launched twice`);
    this.launches.push(spec.id);
    this.#cleaned.delete(spec.id);
    const pid = ++this.#pid;
    const handle: TaskHandle = { version: 1, executor: 'plain', id: spec.id, pid, pidStartTime: pid * 7, startedAt: new Date().toISOString(), data: {} };
    let resolve!: (e: ExitResult) => void;
    const done = new Promise<ExitResult>((r) => (resolve = r));
    this.tasks.set(spec.id, { spec, handle, resources: spec.resources, resolve, done });
    return handle;
  }

  /** Make a task exit on its own (`extra`: more of the result, e.g. a lost monitor). */
  exit(id: string, code: number | null, signal: string | null = null, extra: Partial<ExitResult> = {}): void {
    const t = this.tasks.get(id);
    if (!t || t.exit) throw new Error(`fake: ${id} not running`);
    t.exit = { code, signal, oomKilled: false, at: new Date().toISOString(), known: true, ...extra };
    t.resolve(t.exit);
  }

  running(): string[] {
    return [...this.tasks].filter(([, t]) => !t.exit).map(([id]) => id);
  }

  pidOf(id: string): number | undefined {
    const t = this.tasks.get(id);
    return t && !t.exit ? t.handle.pid : undefined;
  }

  wait(handle: TaskHandle): Promise<ExitResult> {
    const t = this.tasks.get(handle.id);
    if (!t || t.handle.pid !== handle.pid) return Promise.resolve({ code: null, signal: null, oomKilled: false, at: new Date().toISOString(), known: false });
    return t.done;
  }

  async signal(): Promise<void> {}

  async shutdown(handle: TaskHandle): Promise<ExitResult> {
    this.shutdowns.push(handle.id);
    const t = this.tasks.get(handle.id);
    if (t && !t.exit && t.handle.pid === handle.pid) {
      t.exit = { code: null, signal: 'SIGINT', oomKilled: false, at: new Date().toISOString(), known: true };
      t.resolve(t.exit);
    }
    return t?.exit ?? { code: null, signal: null, oomKilled: false, at: new Date().toISOString(), known: false };
  }

  async updateResources(handle: TaskHandle, resources: TaskResources): Promise<void> {
    this.updates.push({ id: handle.id, resources });
    const t = this.tasks.get(handle.id);
    if (t) t.resources = resources;
  }

  async stats(): Promise<TaskStats> {
    return { at: Date.now(), pids: 1, cpuPercent: 0, memoryBytes: 0 };
  }

  async exec(): Promise<ExecSession> {
    throw new Error('fake: no exec');
  }

  async reattach(handle: TaskHandle): Promise<ReattachResult> {
    const t = this.tasks.get(handle.id);
    if (t && !t.exit && t.handle.pid === handle.pid) return { state: 'running', handle };
    return { state: 'exited', exit: t?.exit ?? { code: null, signal: null, oomKilled: false, at: new Date().toISOString(), known: false, message: 'exit code not recorded' } };
  }

  async cleanup(id: string): Promise<void> {
    this.cleanups.push(id);
    this.#cleaned.add(id);
  }

  async list(): Promise<ListedTask[]> {
    return [...this.tasks]
      .filter(([id]) => !this.#cleaned.has(id))
      .map(([id, t]) => ({ id, identity: t.spec.identity, driver: t.spec.driver, handle: t.handle, ...(t.spec.notes ? { notes: t.spec.notes } : {}) }));
  }

  async gc(known: ReadonlySet<string>): Promise<string[]> {
    this.gcKnown = known;
    const removed: string[] = [];
    for (const [id, t] of this.tasks) {
      if (!known.has(id) && !t.exit) {
        t.exit = { code: null, signal: 'SIGKILL', oomKilled: false, at: new Date().toISOString(), known: true };
        t.resolve(t.exit);
        removed.push(id);
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}

/** A driver that makes a LaunchSpec without touching the disk or the interpolator. */
export class FakeDriver implements Driver {
  constructor(
    readonly name: DriverName,
    readonly enabled = true,
    readonly reason?: string,
  ) {}

  availability(): DriverAvailability {
    return this.enabled && !this.reason ? { ok: true } : { ok: false, reason: this.reason ?? 'disabled' };
  }

  /** The context of each prepare, by executor id (the last one). */
  readonly prepared = new Map<string, PrepareContext>();

  async prepare(inst: TaskInstance, ctx: PrepareContext): Promise<LaunchSpec> {
    this.prepared.set(inst.execId, ctx);
    const t = inst.task;
    return {
      id: inst.execId,
      identity: { job: inst.job.id, group: inst.group.name, index: inst.index, task: t.name, allocId: inst.allocId },
      driver: this.name,
      command: t.config.command,
      args: t.config.args,
      env: { ...t.env },
      allocDir: '/tmp/alloc',
      taskDir: '/tmp/task',
      cwd: '/tmp/task',
      logDir: '/tmp/alloc/logs',
      logs: { maxFiles: 1, maxFileSizeBytes: 1024 },
      resources: { cpuShares: t.resources.cpu, memoryBytes: t.resources.memoryMB * 1048576, memoryMaxBytes: (t.resources.memoryMaxMB ?? t.resources.memoryMB) * 1048576 },
    };
  }
}

/** A job source whose set the test sets (`emit`), as the watcher would emit it. */
export class FakeSource implements JobSource {
  #set: DesiredSet = { generation: 0, files: [], jobs: new Map(), conflicts: [], reason: 'initial' };
  #listeners = new Set<(s: DesiredSet) => void>();
  constructor(jobs: Job[]) {
    this.#set = this.#make(jobs, 'initial');
  }
  #make(jobs: Job[], reason: string, bad?: string): DesiredSet {
    return {
      generation: this.#set.generation + 1,
      files: jobs.map((j) => ({
        path: j.file,
        ok: bad !== j.file,
        diagnostics: bad === j.file ? [{ severity: 'error', kind: 'syntax', file: j.file, line: 3, column: 5, path: '', message: 'bad syntax' }] : [],
        jobs: [j],
        excluded: [],
        contentHash: String(Math.random()),
      })),
      jobs: new Map(jobs.map((j) => [j.id, j])),
      conflicts: [],
      reason,
    };
  }
  emit(jobs: Job[], bad?: string, conflicts: DesiredSet['conflicts'] = []): void {
    this.#set = { ...this.#make(jobs, 'watch', bad), conflicts };
    for (const l of this.#listeners) l(this.#set);
  }
  async start() {
    return this.#set;
  }
  onChange(l: (s: DesiredSet) => void) {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  current() {
    return this.#set;
  }
  async resync() {
    return this.#set;
  }
  async stop() {}
}
