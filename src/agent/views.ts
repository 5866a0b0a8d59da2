/**
 * Turns records, desired instances and file states into the API's views
 * (src/api/api.ts): what `tendctl status` and friends print.
 */
import type { FileView, JobStatus, JobView, TaskView } from '../api/api.js';
import type { FileState } from '../source/source.js';
import type { DesiredInstance } from '../reconcile/reconcile.js';
import type { TaskRecord } from '../store/store.js';
import type { AllocatedPort } from '../ports/ports.js';
import { taskDirs } from '../drivers/alloc-dir.js';
import { instanceFields } from '../reconcile/expand.js';
import type { Task } from '../jobspec/model.js';
import type { ExitResult } from '../executor/executor.js';
import { formatDuration } from '../jobspec/duration.js';

/**
 * The resolved task as an operator reads it in `tendctl status TASK`: the
 * jobspec's own field names and units (`memory`, `interval = "5m"`,
 * `kill_timeout`), the driver config as written, and no bookkeeping of the
 * model (source positions, empty lists, defaults of absent blocks).
 */
export function taskSpecView(t: Task): Record<string, unknown> {
  const nonEmpty = <T extends object>(v: T | undefined): T | undefined => (v && Object.keys(v).length ? v : undefined);
  const list = <T>(v: T[]): T[] | undefined => (v.length ? v : undefined);
  const r = t.resources;
  return {
    name: t.name,
    driver: t.driver,
    user: t.user,
    leader: t.leader || undefined,
    lifecycle: t.lifecycle,
    config: t.config.raw,
    env: nonEmpty(t.env),
    meta: nonEmpty(t.meta),
    resources: { cpu: r.cores === undefined ? r.cpu : undefined, cores: r.cores, memory: r.memoryMB, memory_max: r.memoryMaxMB },
    restart: { attempts: t.restart.attempts, interval: formatDuration(t.restart.intervalMs), delay: formatDuration(t.restart.delayMs), mode: t.restart.mode },
    kill_signal: t.killSignal,
    kill_timeout: formatDuration(t.killTimeoutMs),
    logs: t.logs.disabled ? { disabled: true } : { max_files: t.logs.maxFiles, max_file_size: t.logs.maxFileSizeMB },
    constraint: list(t.constraints.map((c) => ({ attribute: c.attribute, operator: c.operator, value: c.value }))),
    artifact: list(t.artifacts.map((a) => ({ source: a.source, destination: a.destination, mode: a.mode }))),
    template: list(t.templates.map((x) => ({ source: x.source, data: x.data, destination: x.destination, change_mode: x.changeMode, change_signal: x.changeSignal, perms: x.perms, env: x.env || undefined }))),
    volume_mount: list(t.volumeMounts.map((v) => ({ volume: v.volume, destination: v.destination, read_only: v.readOnly }))),
  };
}

export function taskView(r: TaskRecord, d: DesiredInstance | undefined, dataDir: string, detail = false, ports?: AllocatedPort[]): TaskView {
  const v: TaskView = {
    id: r.id,
    job: r.job,
    group: r.group,
    index: r.index,
    task: r.task,
    allocId: r.allocId,
    driver: r.driver,
    state: r.state,
    restarts: r.restarts,
    resources: { cpu: r.resources.cpu, memoryMB: r.resources.memoryMB, memoryMaxMB: r.resources.memoryMaxMB, cores: r.resources.cores },
    file: r.file,
  };
  if (r.handle && (r.state === 'running' || r.state === 'stopping' || r.state === 'starting')) {
    v.pid = r.handle.pid;
    v.startedAt = r.handle.startedAt;
  }
  if (r.nextRestartAt && r.state === 'restarting') v.nextRestartAt = r.nextRestartAt;
  if (r.lastExit) v.lastExit = r.lastExit;
  if (r.error) v.error = r.error;
  if (ports?.length) v.ports = ports;
  if (d) {
    if (d.task.lifecycle) v.lifecycle = d.task.lifecycle;
    if (d.task.leader) v.leader = true;
  }
  if (detail) {
    v.events = r.events.slice();
    if (d) v.spec = JSON.parse(JSON.stringify(taskSpecView(d.task))) as Record<string, unknown>;
    const dirs = taskDirs(dataDir, r.allocId, r.task);
    v.dirs = { alloc: dirs.allocDir, task: dirs.taskDir, logs: dirs.logDir, logKey: dirs.key };
  }
  return v;
}

/** A desired instance that has no record yet (queued). */
export function pendingView(d: DesiredInstance, ports?: AllocatedPort[]): TaskView {
  return {
    ...instanceFields(d),
    state: 'pending',
    restarts: 0,
    ...(ports?.length ? { ports } : {}),
    ...(d.task.lifecycle ? { lifecycle: d.task.lifecycle } : {}),
    ...(d.task.leader ? { leader: true } : {}),
  };
}

export function fileView(f: FileState): FileView {
  const v: FileView = { path: f.path, ok: f.ok, jobs: f.jobs.map((j) => j.id), diagnostics: f.diagnostics };
  if (f.lastGoodAt) v.lastGoodAt = f.lastGoodAt;
  if (f.reads?.length) v.reads = f.reads;
  return v;
}

function jobStatus(tasks: TaskView[], inForce: boolean): JobStatus {
  if (tasks.length === 0) return 'dead';
  const states = new Set(tasks.map((t) => t.state));
  if (!inForce) return tasks.every((t) => t.state === 'dead') ? 'dead' : 'stopping';
  if (states.has('failed')) return 'failed';
  if (states.has('restarting')) return 'degraded';
  if (tasks.every((t) => t.state === 'complete')) return 'complete';
  if (tasks.every((t) => t.state === 'dead')) return 'dead';
  if (tasks.some((t) => t.state === 'pending' && (t.error?.startsWith('driver ') || t.error?.startsWith('waiting for ports')))) return 'blocked';
  if (tasks.every((t) => t.state === 'running' || t.state === 'complete')) return 'running';
  return 'pending';
}

function describeExit(e: ExitResult): string {
  if (!e.known) return 'exit not recorded';
  if (e.oomKilled) return 'OOM killed';
  if (e.signal) return `killed by ${e.signal}`;
  return e.code === null ? 'exit code not recorded' : `exit code ${e.code}`;
}

export interface JobsInput {
  tasks: TaskView[];
  files: FileState[];
  /** job id → type, for jobs in force. */
  types: ReadonlyMap<string, string>;
  /** Allocations waiting for ports, by job (an edit of a running job that cannot get its ports is not applied). */
  portsBlocked?: ReadonlyMap<string, string>;
}

export function jobViews({ tasks, files, types, portsBlocked }: JobsInput): JobView[] {
  const byJob = new Map<string, TaskView[]>();
  for (const t of tasks) {
    const list = byJob.get(t.job) ?? [];
    list.push(t);
    byJob.set(t.job, list);
  }
  const fileOf = new Map<string, FileState>();
  for (const f of files) for (const j of f.jobs) if (!fileOf.has(j.id)) fileOf.set(j.id, f);
  const out: JobView[] = [];
  const ids = new Set([...byJob.keys(), ...types.keys()]);
  for (const id of [...ids].sort()) {
    const list = byJob.get(id) ?? [];
    const f = fileOf.get(id);
    const v: JobView = { id, file: f?.path ?? list[0]?.file ?? '', type: types.get(id) ?? 'service', status: jobStatus(list, types.has(id)), tasks: list };
    if (!types.has(id)) v.reason = v.status === 'stopping' ? 'its file left the jobs dir: stopping its tasks' : 'its file left the jobs dir';
    else if (v.status === 'blocked') v.reason = list.find((t) => t.error)?.error;
    else if (v.status === 'degraded') {
      const down = list.filter((t) => t.state === 'restarting');
      const t = down[0];
      v.reason = `${t.id} ${t.lastExit ? `ended (${describeExit(t.lastExit)}) and ` : ''}waits to restart (restart policy)${down.length > 1 ? `; ${down.length - 1} more task${down.length > 2 ? 's' : ''} too` : ''}`;
    }
    else if (v.status === 'failed') {
      const failed = list.find((t) => t.state === 'failed');
      if (failed) v.reason = `${failed.id} failed${failed.error ? `: ${failed.error}` : ''}${failed.lastExit ? ` (last ${describeExit(failed.lastExit)})` : ''}`;
    }
    const held = portsBlocked?.get(id);
    if (held && !v.reason) v.reason = `waiting for ports: ${held}`;
    if (f && !f.ok) {
      v.reason = `file invalid (last good version in force)${v.reason ? `; ${v.reason}` : ''}`;
      v.diagnostics = f.diagnostics;
    }
    out.push(v);
  }
  for (const f of files) {
    for (const ex of f.excluded) {
      if (ids.has(ex.job)) continue;
      out.push({ id: ex.job, file: f.path, type: 'service', status: 'excluded', reason: `not for this node: ${ex.reason}`, tasks: [] });
    }
  }
  return out;
}
