/**
 * What `tendctl status` prints: the node-wide task table (one line per task
 * instance, grouped by job), the jobs that do not run as written and why, and
 * the detail views of one job or one task (after `nomad job status` and
 * `nomad alloc status`). Pure: data, the current time and a palette in,
 * text out.
 */
import type { AllocatedPort, DiskView, FileView, JobView, TaskEvent, TaskView } from '../../api/api.js';
import type { Diagnostic } from '../../jobspec/model.js';
import type { JobsRevision } from '../../source/source.js';
import { formatRevision } from './node.js';
import type { ExitResult, TaskStats } from '../../executor/executor.js';
import { formatBytes, formatUsage, formatPercent } from './bytes.js';
import { formatDuration, formatRelative, formatSince, parseTime } from './duration.js';
import { palette as makePalette, type Palette } from './color.js';
import { formatKeyValues, formatTable } from './table.js';
import { formatSpec } from './spec.js';
import { formatDiagnostic as formatDiagnosticText } from '../../jobspec/format.js';
import { displayRank, hookLabel } from '../../reconcile/lifecycle.js';
import { renderPeriodic, renderPeriodicJobs } from './periodic.js';
import { renderParameterized, renderParameterizedJobs } from './parameterized.js';
import { deploymentSummary, renderDeployment, renderDeploymentJobs } from './deployment.js';
import { checkSettings, colorCheck, renderChecks } from './services.js';

export interface StatusInput {
  jobs: JobView[];
  files: FileView[];
  /** Live stats by instance id (from /v1/stats); TaskView.stats is used when absent. */
  stats?: Record<string, TaskStats>;
  /** The node's disk pressure (NodeView.disk): its warnings head the output. */
  disk?: DiskView;
  /** The jobs dir's revision (NodeView.jobsRevision): a line above the tasks when there is one. */
  revision?: JobsRevision | null;
}

export interface RenderOptions {
  now: number;
  palette?: Palette;
  /** A task's view: also the full error chain of its last failure (`Error Detail`). */
  verbose?: boolean;
  /** A task's view: the last lines of its stderr (shown for a task that failed, see showsStderr). */
  stderr?: string;
}

/**
 * Whether `status TASK` shows the last lines of the task's stderr (as `systemctl status` does):
 * it failed, waits to restart, or ended with a non-zero exit, a signal or the OOM killer.
 */
export function showsStderr(t: Pick<TaskView, 'state' | 'lastExit'>): boolean {
  if (t.state === 'failed' || t.state === 'restarting') return true;
  const e = t.lastExit;
  const bad = e !== undefined && (e.oomKilled || e.signal !== null || (e.code !== null && e.code !== 0));
  return bad && (t.state === 'dead' || t.state === 'complete' || t.state === 'pending');
}

const MiB = 1024 * 1024;

/** `http: 127.0.0.1:23456`, `db: 127.0.0.1:5432 -> 5432` (mapped `to`), `x: …  [task t]` (a task-level port). */
export function formatPort(p: AllocatedPort): string {
  const host = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${p.label}: ${host}:${p.value}${p.to > 0 && p.to !== p.value ? ` -> ${p.to}` : ''}${p.task !== undefined ? ` [task ${p.task}]` : ''}`;
}

/** "server[0]" */
export function groupLabel(t: Pick<TaskView, 'group' | 'index'>): string {
  return `${t.group}[${t.index}]`;
}

export function colorState(state: string, p: Palette): string {
  switch (state) {
    case 'running':
    case 'complete':
      return p.green(state);
    case 'pending':
    case 'starting':
    case 'restarting':
    case 'stopping':
    case 'blocked':
    case 'degraded':
      return p.yellow(state);
    case 'failed':
    case 'invalid':
      return p.red(state);
    default:
      return p.dim(state);
  }
}

/** "exit 1", "OOM killed", "killed by SIGKILL", "exit code not recorded". */
export function describeExit(exit: ExitResult): string {
  if (exit.oomKilled) return 'OOM killed';
  if (!exit.known) return exit.message ?? 'exit code not recorded';
  if (exit.code !== null) return `exit ${exit.code}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.message ?? 'exited';
}

/** An error printed in full further down (the jobs section): its first clause, pointing there (a one-clause error as is). */
export function shortError(error: string): string {
  const i = error.indexOf(': ');
  return i > 0 ? `${error.slice(0, i)} (reason below)` : error;
}

/**
 * The last column of the task table: the current error, else the last exit; plus when the next
 * restart is due. `errorBelow`: the error is printed in full below, so only its first clause here.
 */
export function taskNote(t: TaskView, now: number, p: Palette, errorBelow = false): string {
  const parts: string[] = [];
  if (t.error) parts.push(p.red(errorBelow ? shortError(t.error) : t.error));
  else if (t.lastExit) {
    const at = parseTime(t.lastExit.at);
    const when = describeExit(t.lastExit) + (at === undefined ? '' : ` ${formatRelative(at, now)}`);
    // A task that runs again: the exit is its previous run's, not the process shown.
    const rerun = t.state === 'running' || t.state === 'starting';
    const text = rerun ? `last exit: ${when}` : when;
    const bad = t.lastExit.oomKilled || (t.lastExit.code !== null && t.lastExit.code !== 0) || t.lastExit.signal !== null;
    parts.push(bad && t.state !== 'dead' && !rerun ? p.red(text) : text);
  }
  if (t.waiting && !t.error && (t.state === 'pending' || t.state === 'stopping' || t.state === 'dead')) parts.push(p.yellow(t.waiting));
  // A failing check of a running task, at a glance (the details are in status JOB/TASK).
  const failing = isLive(t) ? (t.checks ?? []).filter((c) => c.status === 'critical' || c.status === 'warning') : [];
  if (failing.length) {
    const text = `check "${failing[0].name}" ${failing[0].status}${failing.length > 1 ? ` (+${failing.length - 1} more)` : ''}`;
    parts.push(failing[0].status === 'critical' ? p.red(text) : p.yellow(text));
  }
  if (t.state === 'restarting') {
    const next = parseTime(t.nextRestartAt);
    parts.push(p.yellow(next === undefined ? 'restarting' : next > now ? `restarting ${formatRelative(next, now)}` : 'restarting now'));
  }
  return parts.length ? parts.join('; ') : '-';
}

/**
 * Memory used against the limit the executor enforces (`120 MiB / 256 MiB`). An executor that
 * reports no limit does not enforce one (the plain executor): `208 MiB (not enforced)`, never a
 * limit from the spec that reads as enforced.
 */
function memoryCell(s: TaskStats): string {
  return s.memoryLimitBytes ? formatUsage(s.memoryBytes, s.memoryLimitBytes) : `${formatBytes(s.memoryBytes)} (not enforced)`;
}

/** The task view's memory line: the cell, and for a limit not enforced the limit the spec asks for. */
function memoryDetail(t: TaskView, s: TaskStats): string {
  if (s.memoryLimitBytes) return memoryCell(s);
  const mb = t.resources.memoryMaxMB ?? t.resources.memoryMB;
  return `${formatBytes(s.memoryBytes)} (limit ${formatBytes(mb * MiB)} not enforced by this agent's executor)`;
}

function isLive(t: TaskView): boolean {
  return t.state === 'running' || t.state === 'starting' || t.state === 'stopping';
}

function taskCells(t: TaskView, s: TaskStats | undefined, now: number, p: Palette, errorBelow = false): string[] {
  const live = isLive(t);
  return [
    groupLabel(t),
    taskLabel(t, p),
    t.driver,
    colorState(t.state, p),
    live && t.pid ? String(t.pid) : '-',
    live ? formatSince(t.startedAt, now) : '-',
    t.restarts > 0 ? p.yellow(String(t.restarts)) : '0',
    live && s ? formatPercent(s.cpuPercent) : '-',
    live && s ? memoryCell(s) : '-',
    taskNote(t, now, p, errorBelow),
  ];
}

const TASK_HEADER = ['GROUP', 'TASK', 'DRIVER', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU', 'MEMORY', 'DETAILS'];

/** "init [prestart]", "proxy [prestart sidecar]", "web [leader]"; a main task's bare name. */
export function taskLabel(t: Pick<TaskView, 'task' | 'lifecycle' | 'leader'>, p: Palette = makePalette(false)): string {
  const tag = hookLabel(t.lifecycle, t.leader ?? false);
  return tag ? `${t.task} ${p.dim(`[${tag}]`)}` : t.task;
}

/** By job, group and index, then in lifecycle order (prestart, main, poststart, poststop; main when unknown), then by name. */
export function compareTasks(a: TaskView, b: TaskView): number {
  return (
    a.job.localeCompare(b.job) ||
    a.group.localeCompare(b.group) ||
    a.index - b.index ||
    displayRank(a.lifecycle) - displayRank(b.lifecycle) ||
    a.task.localeCompare(b.task)
  );
}

/** `file:line:col: error: message`, then `at <path>` and `hint: …` lines, as `tendctl validate` prints them. */
export function formatDiagnostic(d: Diagnostic, p: Palette = makePalette(false)): string {
  return formatDiagnosticText(d, { color: p.enabled });
}

function indentLines(text: string, pad: string): string {
  return text.split('\n').map((l) => pad + l).join('\n');
}

/** Jobs that do not run as their file says, with the reason. */
function troubledJobs(jobs: JobView[]): JobView[] {
  return jobs.filter((j) => j.reason || ['invalid', 'excluded', 'blocked', 'failed'].includes(j.status));
}

/** The node-wide view: every task instance, then what is not running as written. */
export function renderStatus(input: StatusInput, opts: RenderOptions): string {
  const p = opts.palette ?? makePalette(false);
  const now = opts.now;
  const jobs = [...input.jobs].sort((a, b) => a.id.localeCompare(b.id));
  const tasks = jobs.flatMap((j) => [...j.tasks].sort(compareTasks));
  const out: string[] = [];
  if (input.disk?.warnings.length) {
    out.push(p.bold('Node warnings:'), ...input.disk.warnings.map((w) => `  ${p.red(w)}`), '');
  }
  if (input.revision) out.push(formatKeyValues([['Jobs Revision', formatRevision(input.revision, now)]]));
  const troubled = troubledJobs(jobs);
  // An error the jobs section repeats in full is shortened in the task's row (printed once).
  const reasons = new Map(troubled.map((j) => [j.id, j.reason ?? '']));
  const below = (t: TaskView) => t.error !== undefined && (reasons.get(t.job) ?? '').includes(t.error);
  if (tasks.length === 0) out.push('No tasks.');
  else {
    const rows = tasks.map((t) => [t.job, ...taskCells(t, input.stats?.[t.id] ?? t.stats, now, p, below(t))]);
    out.push(formatTable(['JOB', ...TASK_HEADER], rows, { headerStyle: p.bold }).trimEnd());
  }
  out.push(...renderPeriodicJobs(jobs, now, p));
  out.push(...renderParameterizedJobs(jobs, now, p));
  out.push(...renderDeploymentJobs(jobs, p));
  if (troubled.length) {
    out.push('', p.bold('Jobs not running as written:'));
    out.push(
      formatTable(
        ['JOB', 'STATUS', 'FILE', 'REASON'],
        troubled.map((j) => [j.id, colorState(j.status, p), j.file, j.reason ?? '-']),
        { indent: '  ', headerStyle: p.bold },
      ).trimEnd(),
    );
  }
  const diags = new Set<string>();
  for (const f of input.files) if (!f.ok) for (const d of f.diagnostics) if (d.severity === 'error') diags.add(formatDiagnostic(d, p));
  for (const j of troubled) for (const d of j.diagnostics ?? []) if (d.severity === 'error') diags.add(formatDiagnostic(d, p));
  const badFiles = input.files.filter((f) => !f.ok);
  if (diags.size || badFiles.length) {
    out.push('', p.bold('File errors:'));
    for (const f of badFiles) {
      if (f.lastGoodAt) out.push(`  ${f.path}: last good version (from ${formatRelative(parseTime(f.lastGoodAt) ?? now, now)}) stays in force`);
      else if (f.diagnostics.every((d) => d.severity !== 'error')) out.push(`  ${f.path}: invalid`);
    }
    for (const d of diags) out.push(indentLines(d, '  '));
  }
  return out.join('\n').replace(/\n*$/, '\n');
}

/** `tendctl status JOB` */
export function renderJob(
  job: JobView,
  files: FileView[],
  stats: Record<string, TaskStats> | undefined,
  opts: RenderOptions & { /** The job's recent events (shown newest first with their task). */ events?: TaskEvent[] },
): string {
  const p = opts.palette ?? makePalette(false);
  const pairs: [string, string][] = [
    ['ID', job.id],
    ...(job.parent ? [['Parent', job.parent] as [string, string]] : []),
    ['Type', job.type],
    ['Status', colorState(job.status, p)],
    ...(job.deployment ? [['Deployment', deploymentSummary(job.deployment, p)] as [string, string]] : []),
    ['File', job.file],
  ];
  if (job.reason) pairs.push(['Reason', job.reason]);
  const out = [formatKeyValues(pairs)];
  const diags = new Set((job.diagnostics ?? []).map((d) => formatDiagnostic(d, p)));
  for (const f of files) if (f.path === job.file) for (const d of f.diagnostics) diags.add(formatDiagnostic(d, p));
  if (diags.size) out.push(p.bold('Diagnostics'), ...[...diags].map((d) => indentLines(d, '  ')), '');
  if (job.parameterized) out.push(p.bold('Parameterized'), ...renderParameterized(job.parameterized, opts.now, p, '  '), '');
  if (job.periodic) out.push(p.bold('Periodic'), ...renderPeriodic(job.periodic, opts.now, p, '  '), '');
  if (job.deployment && (job.deployment.status !== 'successful' || job.deployment.reverted)) out.push(p.bold('Deployment'), ...renderDeployment(job.deployment, opts.now, p, '  '), '');
  // One line per allocation with ports (its tasks share them).
  const allocs = new Map<string, TaskView>();
  for (const t of [...job.tasks].sort(compareTasks)) if (t.ports?.length && !allocs.has(t.allocId)) allocs.set(t.allocId, t);
  if (allocs.size) {
    out.push(p.bold('Ports'), formatTable(['GROUP', 'PORTS'], [...allocs.values()].map((t) => [groupLabel(t), t.ports!.map(formatPort).join(', ')]), { indent: '  ', headerStyle: p.bold }).trimEnd(), '');
  }
  // Each check once (a group's checks are on every task of its allocation).
  const checks = new Map<string, NonNullable<TaskView['checks']>[number]>();
  for (const t of [...job.tasks].sort(compareTasks)) for (const c of t.checks ?? []) if (!checks.has(c.id)) checks.set(c.id, c);
  if (checks.size) out.push(p.bold('Checks'), renderChecks([...checks.values()], opts.now, p, { service: true, indent: '  ' }).trimEnd(), '');
  out.push(p.bold('Tasks'));
  if (job.tasks.length === 0) out.push('No tasks.');
  else {
    // The job's Reason above says it in full.
    const rows = [...job.tasks].sort(compareTasks).map((t) => taskCells(t, stats?.[t.id] ?? t.stats, opts.now, p, t.error !== undefined && (job.reason ?? '').includes(t.error)));
    out.push(formatTable(TASK_HEADER, rows, { headerStyle: p.bold }).trimEnd());
  }
  if (opts.events) {
    out.push('', p.bold('Recent Events:'));
    out.push(opts.events.length ? renderEvents(opts.events, opts.now, p, { subject: true }).trimEnd() : 'No events.');
  }
  return out.join('\n') + '\n';
}

/** The "Recent Events:" table, newest first; with `subject`, a column naming the task (or file). */
export function renderEvents(events: TaskEvent[], now: number, p: Palette = makePalette(false), o: { subject?: boolean } = {}): string {
  const rows = [...events]
    .sort((a, b) => b.seq - a.seq)
    .map((e) => {
      const at = parseTime(e.time);
      const time = at === undefined ? e.time : formatRelative(at, now);
      return o.subject ? [time, e.task ?? e.file ?? e.job ?? '-', e.type, e.message] : [time, e.type, e.message];
    });
  const header = o.subject ? ['Time', 'Task', 'Type', 'Description'] : ['Time', 'Type', 'Description'];
  return formatTable(header, rows, { headerStyle: p.bold });
}

/** `tendctl status JOB/GROUP[INDEX]/TASK` */
export function renderTask(t: TaskView, opts: RenderOptions): string {
  const p = opts.palette ?? makePalette(false);
  const now = opts.now;
  const s = t.stats;
  const live = isLive(t);
  const pairs: [string, string][] = [
    ['ID', t.id],
    ['Alloc ID', t.allocId],
    ['Job', t.job],
    ['Group', groupLabel(t)],
    ['Task', t.task],
    ...(hookLabel(t.lifecycle, t.leader ?? false) ? [['Lifecycle', hookLabel(t.lifecycle, t.leader ?? false)!] as [string, string]] : []),
    ['Driver', t.driver],
    ['State', colorState(t.state, p)],
  ];
  if (t.pid && live) pairs.push(['PID', String(t.pid)]);
  const started = parseTime(t.startedAt);
  if (started !== undefined) pairs.push(['Started', `${t.startedAt} (${formatRelative(started, now)})`]);
  if (live && started !== undefined) pairs.push(['Uptime', formatDuration(now - started)]);
  pairs.push(['Restarts', String(t.restarts)]);
  const next = parseTime(t.nextRestartAt);
  if (t.state === 'restarting' && next !== undefined) pairs.push(['Next Restart', next > now ? formatRelative(next, now) : 'now']);
  if (t.lastExit) {
    const at = parseTime(t.lastExit.at);
    pairs.push(['Last Exit', `${describeExit(t.lastExit)}${at === undefined ? '' : ` (${formatRelative(at, now)})`}`]);
  }
  if (t.error) pairs.push(['Error', p.red(t.error)]);
  if (opts.verbose) {
    const detail = [...(t.events ?? [])].reverse().find((e) => typeof e.details?.error === 'string')?.details?.error;
    if (typeof detail === 'string') pairs.push(['Error Detail', detail]);
  }
  if (t.ports?.length) pairs.push(['Ports', t.ports.map(formatPort).join(', ')]);
  const r = t.resources;
  pairs.push(['Resources', `cpu ${r.cpu} MHz, memory ${r.memoryMB} MiB${r.memoryMaxMB ? ` (max ${r.memoryMaxMB} MiB)` : ''}${r.cores?.length ? `, cores ${r.cores.join(',')}` : ''}`]);
  if (s && live) {
    pairs.push(['CPU', formatPercent(s.cpuPercent)]);
    pairs.push(['Memory', memoryDetail(t, s)]);
    pairs.push(['Processes', String(s.pids)]);
  }
  pairs.push(['File', t.file]);
  if (t.dirs) {
    pairs.push(['Alloc Dir', t.dirs.alloc]);
    pairs.push(['Task Dir', t.dirs.task]);
    pairs.push(['Logs', t.dirs.logs]);
  }
  const out = [formatKeyValues(pairs)];
  if (t.checks?.length) {
    out.push(p.bold('Checks'), renderChecks(t.checks, now, p, { service: true, indent: '  ' }));
    for (const c of t.checks) {
      out.push(`  ${c.name} (${colorCheck(c.status, p)}): ${checkSettings(c)}`);
      if (c.output) out.push(...c.output.trimEnd().split('\n').slice(0, 6).map((l) => `    ${l}`));
    }
    out.push('');
  }
  if (opts.stderr !== undefined) {
    const lines = opts.stderr.replace(/\n$/, '').split('\n');
    out.push(p.bold('Recent Stderr:'), ...(opts.stderr.trim() ? lines.map((l) => `  ${p.red(l)}`) : ['  (empty)']), '');
  }
  if (t.spec) out.push(p.bold(`Task Spec (resolved, from ${t.file})`), formatSpec(t.spec));
  out.push(p.bold('Recent Events:'));
  out.push(t.events?.length ? renderEvents(t.events, now, p) : 'No events.\n');
  return out.join('\n');
}
