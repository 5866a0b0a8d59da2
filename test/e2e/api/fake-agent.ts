/**
 * A fake AgentApi for the API and tendctl tests and the status benchmark:
 * in-memory jobs, tasks and events, and an exec that runs a real `sh -c` (or
 * any argv). Logs are real files read by the executor's real reader.
 */
import { spawn } from 'node:child_process';
import type { AgentApi, DeploymentView, DispatchInput, EventQuery, FileView, JobView, NodeView, Plan, ServiceInstanceView, ServiceSummaryView, TaskEvent, TaskView } from '../../../src/api/api.js';
import type { Job } from '../../../src/jobspec/model.js';
import { dispatchProblem } from '../../../src/reconcile/dispatch.js';
import type { ExecOptions, ExecSession, TaskStats, TtySize } from '../../../src/executor/executor.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import { TendError } from '../../../src/errors.js';

export function makeTask(job: string, group: string, index: number, task: string, over: Partial<TaskView> = {}): TaskView {
  return {
    id: `${job}/${group}[${index}]/${task}`,
    job,
    group,
    index,
    task,
    allocId: `${job}-${group}-${index}`,
    driver: 'raw_exec',
    state: 'running',
    pid: 1000 + index,
    startedAt: new Date(Date.now() - 65_000).toISOString(),
    restarts: 0,
    resources: { cpu: 100, memoryMB: 300 },
    file: `/jobs/${job}.hcl`,
    ...over,
  };
}

export class FakeAgent implements AgentApi {
  jobList: JobView[] = [];
  fileList: FileView[] = [];
  eventList: TaskEvent[] = [];
  statsById: Record<string, TaskStats> = {};
  /** Calls of signal/restart, for assertions. */
  calls: { kind: 'signal' | 'restart'; id: string; signal?: string }[] = [];
  /** Pids of exec children still running, so tests can prove nothing is left. */
  execPids = new Set<number>();
  #listeners = new Set<(e: TaskEvent) => void>();
  #seq = 0;

  constructor(jobs: JobView[] = [], files: FileView[] = []) {
    this.jobList = jobs;
    this.fileList = files;
  }

  async node(): Promise<NodeView> {
    return {
      name: 'test-node',
      id: 'node-1',
      class: 'edge',
      datacenter: 'dc1',
      version: '0.1.0',
      executor: 'plain',
      cgroupMode: 'hybrid',
      cores: [0, 1],
      reservedCores: [],
      memoryBytes: 4 * 1024 ** 3,
      attributes: { 'kernel.name': 'linux', 'cpu.numcores': '2' },
      meta: { rack: 'r1' },
      drivers: {
        raw_exec: { ok: true, enabled: true },
        exec: { ok: false, enabled: true, reason: 'requires root' },
      },
      dataDir: '/tmp/state',
      jobsDir: '/tmp/jobs',
      jobsRevision: null,
      startedAt: new Date(Date.now() - 3_600_000).toISOString(),
    };
  }

  jobs(): JobView[] {
    return this.jobList;
  }

  files(): FileView[] {
    return this.fileList;
  }

  tasks(): TaskView[] {
    return this.jobList.flatMap((j) => j.tasks);
  }

  async task(id: string, opts: { stats?: boolean } = {}): Promise<TaskView> {
    const t = this.tasks().find((x) => x.id === id);
    if (!t) throw new TendError('E_TASK_NOT_FOUND', `task "${id}" not found`, { details: { task: id } });
    return {
      ...t,
      events: this.eventList.filter((e) => e.task === id),
      spec: { driver: t.driver, config: { command: '/bin/sh', args: ['-c', 'sleep 1000'] }, resources: { cpu: t.resources.cpu, memory: t.resources.memoryMB } },
      stats: opts.stats ? this.statsById[id] : undefined,
    };
  }

  /** Exact id; else ids starting with the query; else `job/task` and `job/group` shorthands. */
  resolve(query: string): string[] {
    const ids = this.tasks().map((t) => t.id);
    if (ids.includes(query)) return [query];
    const byPrefix = ids.filter((id) => id.startsWith(query));
    if (byPrefix.length) return byPrefix;
    return this.tasks()
      .filter((t) => `${t.job}/${t.task}` === query || `${t.job}/${t.group}` === query)
      .map((t) => t.id);
  }

  events(q: EventQuery = {}): TaskEvent[] {
    let list = this.eventList.filter(
      (e) => (q.after === undefined || e.seq > q.after) && (!q.task || e.task === q.task) && (!q.job || e.job === q.job),
    );
    if (q.limit !== undefined) list = list.slice(-q.limit);
    return list;
  }

  subscribe(listener: (e: TaskEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records an event and hands it to live subscribers. */
  publish(e: Omit<TaskEvent, 'seq' | 'time'> & { time?: string }): TaskEvent {
    const full: TaskEvent = { time: new Date().toISOString(), ...e, seq: ++this.#seq };
    this.eventList.push(full);
    for (const l of this.#listeners) l(full);
    return full;
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  async signal(id: string, signal: string): Promise<void> {
    await this.task(id);
    this.calls.push({ kind: 'signal', id, signal });
  }

  async restart(id: string): Promise<void> {
    await this.task(id);
    this.calls.push({ kind: 'restart', id });
  }

  /** The options of the last exec, and the window sizes its sessions were given (in order). */
  lastExecOpts?: ExecOptions;
  resizes: TtySize[] = [];

  async exec(id: string, command: string[], opts: ExecOptions = {}): Promise<ExecSession> {
    await this.task(id);
    this.lastExecOpts = opts;
    const child = spawn(command[0], command.slice(1), { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid !== undefined) this.execPids.add(pid);
    const exit = new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new TendError('E_EXECUTOR', `failed to exec in task ${id}: ${err.message}`, { cause: err })));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? osSignal(signal) : 0)));
    }).finally(() => pid !== undefined && this.execPids.delete(pid));
    return {
      stdin: child.stdin,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exit,
      kill: (s) => child.kill(s ?? 'SIGKILL'),
      ...(opts.tty ? { resize: (size: TtySize) => this.resizes.push(size) } : {}),
    };
  }

  /** The dir of the last plan request. */
  lastPlanDir?: string;

  async plan(dir?: string): Promise<Plan> {
    this.lastPlanDir = dir;
    return { actions: [{ kind: 'start', task: 'new/g[0]/t', job: 'new' }], files: this.fileList };
  }

  async stats(): Promise<Record<string, TaskStats>> {
    return this.statsById;
  }

  /** The catalog's answers (set by tests). */
  serviceList: ServiceSummaryView[] = [];
  serviceInstances = new Map<string, ServiceInstanceView[]>();

  services(): ServiceSummaryView[] {
    return this.serviceList;
  }

  service(name: string): ServiceInstanceView[] {
    const list = this.serviceInstances.get(name);
    if (!list?.length) throw new TendError('E_SERVICE_NOT_FOUND', `service "${name}" not found: no instance is registered`, { details: { service: name } });
    return list;
  }

  /** Periodic jobs a force may launch (by id), and the launches forced. */
  periodicJobs = new Set<string>();
  forced: string[] = [];

  async forcePeriodic(job: string): Promise<{ job: string; child: string }> {
    if (!this.periodicJobs.has(job)) throw new TendError('E_JOB_NOT_FOUND', `failed to force a launch of ${job}: no periodic job ${job} in force`, { details: { job } });
    const child = `${job}/periodic-${1_700_000_000 + this.forced.length}`;
    this.forced.push(child);
    return { job, child };
  }

  /** Parameterized jobs a dispatch may reach (by id), checked with the agent's own rules, and the dispatches made. */
  parameterizedJobs = new Map<string, Job>();
  dispatched: { child: string; meta: Record<string, string>; payload?: Buffer }[] = [];

  async dispatchJob(job: string, input: DispatchInput = {}): Promise<{ job: string; child: string }> {
    const j = this.parameterizedJobs.get(job);
    if (!j) throw new TendError('E_JOB_NOT_FOUND', `failed to dispatch ${job}: no job ${job} in force`, { details: { job } });
    const payload = input.payload === undefined ? undefined : Buffer.from(input.payload, 'base64');
    const why = dispatchProblem(j, { meta: input.meta, payload });
    if (why) throw new TendError('E_BAD_REQUEST', `failed to dispatch ${job}: ${why}`, { details: { job } });
    const child = `${job}/dispatch-${1_700_000_000 + this.dispatched.length}-0000000${this.dispatched.length % 10}`;
    this.dispatched.push({ child, meta: input.meta ?? {}, ...(payload ? { payload } : {}) });
    return { job, child };
  }

  /** Deployments by job (the jobs' views carry them too), and the operator's requests. */
  deployments = new Map<string, DeploymentView>();
  deploymentCalls: { kind: 'fail' | 'promote'; job: string }[] = [];

  deployment(job: string): DeploymentView {
    const d = this.deployments.get(job) ?? this.jobList.find((j) => j.id === job)?.deployment;
    if (!d) throw new TendError('E_JOB_NOT_FOUND', `failed to find a deployment of ${job}: no service job ${job} with rollouts has run`, { details: { job } });
    return d;
  }

  async failDeployment(job: string): Promise<DeploymentView> {
    const d = this.deployment(job);
    if (d.status !== 'running') throw new TendError('E_BAD_REQUEST', `failed to fail the deployment of ${job}: expected a running deployment, got ${d.status} (${d.description})`);
    this.deploymentCalls.push({ kind: 'fail', job });
    const next: DeploymentView = { ...d, status: 'failed', description: 'Deployment marked as failed' };
    this.deployments.set(job, next);
    return next;
  }

  async promoteDeployment(job: string): Promise<DeploymentView & { promoted: number }> {
    const d = this.deployment(job);
    this.deploymentCalls.push({ kind: 'promote', job });
    return { ...d, promoted: 1 };
  }
}

function osSignal(name: NodeJS.Signals): number {
  const map: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return map[name] ?? 0;
}

/** An agent with one running task, web/g[0]/t. */
export function agentWithTasks(): FakeAgent {
  return new FakeAgent([{ id: 'web', file: '/jobs/web.hcl', type: 'service', status: 'running', tasks: [makeTask('web', 'g', 0, 't')] }]);
}

/** A pino logger whose lines land in `lines`. */
export function capturingLogger(lines: string[], level: pino.Level = 'trace'): pino.Logger {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return pino({ level }, sink);
}
