/**
 * Jobs → groups → tasks, one table: a row group per job (its status, file
 * and, when it does not run as written, the reason and the file's
 * diagnostics with line and column), a row per task instance
 * (`group[index]/task`). Filter by text and state; sort by any column (jobs
 * follow the order of their first task).
 */
import { Component } from 'preact';
import { useMemo } from 'preact/hooks';
import type { FileView, JobView, SamplesView, TaskView } from '../api/api.js';
import type { SortKey, SortOrder } from './ui.js';
import { useNow } from './tick.js';
import { MiB, compareTasks, formatBytes, formatDiagnostic, formatPercent, formatPort, formatSince, groupLabel, isLive, plain, taskHash, taskLabel, taskNote, tone } from './format.js';

export type StateFilter = 'all' | 'attention' | 'running' | 'pending' | 'restarting' | 'failed' | 'complete' | 'dead';

export const STATE_FILTERS: [StateFilter, string][] = [
  ['all', 'All states'],
  ['attention', 'Needs attention'],
  ['running', 'Running'],
  ['pending', 'Pending or starting'],
  ['restarting', 'Restarting'],
  ['failed', 'Failed'],
  ['complete', 'Complete'],
  ['dead', 'Dead or stopping'],
];

interface Row {
  t: TaskView;
  /** What it was made from: an unchanged task with the same sample keeps its row (and the row is not rendered again). */
  sample?: SamplesView['tasks'][string];
  coreMhz?: number;
  cpu?: number;
  /** The share of a core the task reserves (`cpu` MHz over the core's MHz), in percent. */
  cpuReserved?: number;
  mem?: number;
  memLimit?: number;
  memEnforced: boolean;
}

const JOB_TROUBLE = new Set(['invalid', 'blocked', 'excluded', 'failed', 'degraded']);
const STATE_RANK: Record<string, number> = { failed: 0, restarting: 1, pending: 2, starting: 3, stopping: 4, running: 5, complete: 6, dead: 7 };

function matchesState(t: TaskView, f: StateFilter): boolean {
  switch (f) {
    case 'all':
      return true;
    case 'attention':
      return t.state === 'failed' || t.state === 'restarting' || t.state === 'pending' || (t.checks ?? []).some((c) => c.status === 'critical');
    case 'pending':
      return t.state === 'pending' || t.state === 'starting';
    case 'dead':
      return t.state === 'dead' || t.state === 'stopping';
    default:
      return t.state === f;
  }
}

const num = (v: number | undefined) => (v === undefined ? -Infinity : v);

function comparator(key: SortKey): (a: Row, b: Row) => number {
  switch (key) {
    case 'task':
      return (a, b) => compareTasks(a.t, b.t);
    case 'state':
      return (a, b) => (STATE_RANK[a.t.state] ?? 9) - (STATE_RANK[b.t.state] ?? 9);
    case 'pid':
      return (a, b) => num(isLive(a.t) ? a.t.pid : undefined) - num(isLive(b.t) ? b.t.pid : undefined);
    case 'uptime':
      // Ascending: the shortest uptime (the latest start) first; tasks not running last.
      return (a, b) => num(startOf(b.t)) - num(startOf(a.t));
    case 'restarts':
      return (a, b) => a.t.restarts - b.t.restarts;
    case 'cpu':
      return (a, b) => num(a.cpu) - num(b.cpu);
    case 'memory':
      return (a, b) => num(a.mem) - num(b.mem);
  }
}

function startOf(t: TaskView): number | undefined {
  if (!isLive(t) || !t.startedAt) return undefined;
  return Date.parse(t.startedAt);
}

export interface TasksTableProps {
  jobs: JobView[];
  /** Job files: one that does not load and has no job in force (never loaded) gets a line of its own. */
  files: FileView[];
  samples?: SamplesView;
  /** Node's MHz per core (`cpu.frequency`), for the reserved share of `cpu`. */
  coreMhz?: number;
  filter: string;
  state: StateFilter;
  sort: SortOrder;
  onSort(key: SortKey): void;
  selected?: string;
  /** Columns left out. */
  without: ReadonlySet<OptionalColumn>;
}

interface JobBlock {
  job: JobView;
  rows: Row[];
}

/** The visible jobs and rows, in order. */
function arrange(p: TasksTableProps): JobBlock[] {
  const q = p.filter.trim().toLowerCase();
  const blocks = new Map<string, JobBlock>();
  const all: Row[] = [];
  const quiet: JobBlock[] = [];
  for (const job of p.jobs) {
    const jobText = `${job.id} ${job.status} ${job.type} ${job.file} ${job.reason ?? ''}`.toLowerCase();
    const jobMatches = !q || jobText.includes(q);
    let shown = 0;
    for (const t of job.tasks) {
      if (!matchesState(t, p.state)) continue;
      if (!jobMatches && !`${t.id} ${t.state} ${t.driver} ${t.error ?? ''}`.toLowerCase().includes(q)) continue;
      all.push(row(t, p));
      shown++;
    }
    // A job with nothing to run (invalid, excluded, blocked, or a parent that only launches children) still has its line.
    const trouble = JOB_TROUBLE.has(job.status);
    if (!shown && jobMatches && (p.state === 'all' || (p.state === 'attention' && trouble)) && (!job.tasks.length || trouble)) quiet.push({ job, rows: [] });
  }
  const cmp = comparator(p.sort.key);
  all.sort((a, b) => (p.sort.descending ? -cmp(a, b) : cmp(a, b)) || compareTasks(a.t, b.t));
  const byId = new Map(p.jobs.map((j) => [j.id, j]));
  for (const r of all) {
    let b = blocks.get(r.t.job);
    if (!b) blocks.set(r.t.job, (b = { job: byId.get(r.t.job)!, rows: [] }));
    b.rows.push(r);
  }
  // Jobs with rows keep the order of their first row; the rest follow, troubled first.
  quiet.sort((a, b) => Number(JOB_TROUBLE.has(b.job.status)) - Number(JOB_TROUBLE.has(a.job.status)) || a.job.id.localeCompare(b.job.id));
  return [...blocks.values(), ...quiet];
}

const rows = new WeakMap<TaskView, Row>();

function row(t: TaskView, p: TasksTableProps): Row {
  const s = isLive(t) ? p.samples?.tasks[t.id] : undefined;
  const before = rows.get(t);
  if (before && before.sample === s && before.coreMhz === p.coreMhz) return before;
  const limitMb = t.resources.memoryMaxMB ?? t.resources.memoryMB;
  const r: Row = {
    t,
    sample: s,
    coreMhz: p.coreMhz,
    cpu: s?.cpuPercent,
    cpuReserved: p.coreMhz ? (t.resources.cpu / p.coreMhz) * 100 : undefined,
    mem: s?.memoryBytes,
    memLimit: s?.memoryLimitBytes ?? (limitMb ? limitMb * MiB : undefined),
    memEnforced: s?.memoryLimitBytes !== undefined,
  };
  rows.set(t, r);
  return r;
}

/** Columns that may be left out (narrow screens, beside an open task). */
export type OptionalColumn = 'pid' | 'ports';

const COLUMNS: { key?: SortKey; label: string; cls?: string; optional?: OptionalColumn }[] = [
  { key: 'task', label: 'Task' },
  { key: 'state', label: 'State' },
  { key: 'pid', label: 'PID', cls: 'num', optional: 'pid' },
  { key: 'uptime', label: 'Uptime', cls: 'num' },
  { key: 'restarts', label: 'Restarts', cls: 'num' },
  { key: 'cpu', label: 'CPU', cls: 'num' },
  { key: 'memory', label: 'Memory', cls: 'num' },
  { label: 'Health' },
  { label: 'Ports', optional: 'ports' },
];

export function TasksTable(p: TasksTableProps) {
  const blocks = useMemo(() => arrange(p), [p.jobs, p.samples, p.filter, p.state, p.sort, p.coreMhz]);
  const broken = useMemo(() => brokenFiles(p), [p.files, p.jobs, p.filter, p.state]);
  const count = blocks.reduce((n, b) => n + b.rows.length, 0);
  // Uptimes tick every second; with hundreds of rows, every ten.
  const tickMs = count > 300 ? 10_000 : 1000;
  const columns = COLUMNS.filter((c) => !c.optional || !p.without.has(c.optional));
  return (
    <div class="table-wrap" role="region" aria-label="Tasks" tabIndex={0}>
      <table class="tasks">
        <caption class="sr-only">
          Tasks by job: {count} shown{p.sort.key !== 'task' ? `, sorted by ${p.sort.key}${p.sort.descending ? ', descending' : ''}` : ''}
        </caption>
        <colgroup>
          {columns.map((c) => (
            <col class={`col-${c.label.toLowerCase()}`} />
          ))}
        </colgroup>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.cls} aria-sort={c.key && p.sort.key === c.key ? (p.sort.descending ? 'descending' : 'ascending') : undefined}>
                {c.key ? (
                  <button type="button" class="sort" onClick={() => p.onSort(c.key!)}>
                    {c.label}
                    <span class="sort-mark" aria-hidden="true">
                      {p.sort.key === c.key ? (p.sort.descending ? '▼' : '▲') : ''}
                    </span>
                  </button>
                ) : (
                  c.label
                )}
              </th>
            ))}
          </tr>
        </thead>
        {broken.map((f) => (
          <FileRows key={f.path} file={f} span={columns.length} />
        ))}
        {blocks.map((b) => (
          <JobRows key={b.job.id} block={b} tickMs={tickMs} selected={p.selected} without={p.without} span={columns.length} />
        ))}
      </table>
      {!blocks.length && !broken.length ? <p class="empty">{p.jobs.length ? 'No task matches the filter.' : 'No jobs: drop a job file into the jobs dir.'}</p> : null}
    </div>
  );
}

/** Files that do not load and put no job in force (none ever loaded): shown first, with their diagnostics. */
function brokenFiles(p: TasksTableProps): FileView[] {
  if (p.state !== 'all' && p.state !== 'attention') return [];
  const shown = new Set(p.jobs.map((j) => j.id));
  const q = p.filter.trim().toLowerCase();
  return p.files.filter(
    (f) => !f.ok && !f.jobs.some((id) => shown.has(id)) && (!q || `${f.path} invalid ${f.diagnostics.map((d) => d.message).join(' ')}`.toLowerCase().includes(q)),
  );
}

function FileRows({ file, span }: { file: FileView; span: number }) {
  return (
    <tbody data-file={file.path}>
      <tr class="job-row">
        <th scope="rowgroup" colSpan={span}>
          <span class="job-id">{file.path.split('/').pop()}</span> <span class="badge bad">invalid</span> <span class="muted">{file.path}</span>
          <div class="why">
            <p class="reason">The file does not load: nothing of it runs.</p>
            {file.diagnostics.map((d) => (
              <pre class="diag">{formatDiagnostic(d)}</pre>
            ))}
          </div>
        </th>
      </tr>
    </tbody>
  );
}

function JobRows({ block, tickMs, selected, without, span }: { block: JobBlock; tickMs: number; selected?: string; without: ReadonlySet<OptionalColumn>; span: number }) {
  const { job, rows } = block;
  const showWhy = job.reason || job.diagnostics?.length;
  return (
    <tbody data-job={job.id}>
      <tr class="job-row">
        <th scope="rowgroup" colSpan={span}>
          <span class="job-id">{job.id}</span> <span class={`badge ${tone(job.status)}`}>{job.status}</span>{' '}
          <span class="muted">
            {job.type} · {job.file}
          </span>
          {showWhy ? (
            <div class="why">
              {job.reason ? <p class="reason">{job.reason}</p> : null}
              {(job.diagnostics ?? []).map((d) => (
                <pre class="diag">{formatDiagnostic(d)}</pre>
              ))}
            </div>
          ) : null}
        </th>
      </tr>
      {rows.map((r) => (
        <TaskRow key={r.t.id} r={r} tickMs={tickMs} selected={selected === r.t.id} without={without} />
      ))}
    </tbody>
  );
}

interface TaskRowProps {
  r: Row;
  tickMs: number;
  selected: boolean;
  without: ReadonlySet<OptionalColumn>;
}

/** Rendered again only when its row changed; the cells that show durations tick by themselves. */
class TaskRow extends Component<TaskRowProps> {
  override shouldComponentUpdate(next: TaskRowProps): boolean {
    return next.r !== this.props.r || next.selected !== this.props.selected || next.tickMs !== this.props.tickMs || next.without !== this.props.without;
  }

  override render() {
    return taskRow(this.props);
  }
}

/** The state's details ("exit 1 12s ago; restarting in 3s"), kept current. */
function Note({ t, tickMs }: { t: TaskView; tickMs: number }) {
  const note = taskNote(t, useNow(tickMs), plain);
  return note !== '-' ? <div class="note">{note}</div> : null;
}

function Uptime({ t, tickMs }: { t: TaskView; tickMs: number }) {
  const text = formatSince(t.startedAt, useNow(tickMs));
  return <>{text === '-' ? '–' : text}</>;
}

function taskRow({ r, tickMs, selected, without }: TaskRowProps) {
  const t = r.t;
  const live = isLive(t);
  const checks = t.checks ?? [];
  const passing = checks.filter((c) => c.status === 'passing').length;
  const worst = checks.find((c) => c.status === 'critical') ?? checks.find((c) => c.status === 'warning');
  return (
    <tr data-task={t.id} data-state={t.state} class={selected ? 'selected' : undefined}>
      <td class="task-cell">
        <a href={taskHash(t.id)} aria-current={selected ? 'true' : undefined}>
          <span class="dim">{t.job}/</span>
          {groupLabel(t)}/{taskLabel(t)}
        </a>
      </td>
      <td data-field="state">
        <span class={`badge ${tone(t.state)}`}>{t.state}</span>
        <Note t={t} tickMs={tickMs} />
      </td>
      {without.has('pid') ? null : (
        <td class="num" data-field="pid">
          {live && t.pid ? t.pid : '–'}
        </td>
      )}
      <td class="num" data-field="uptime">
        {live ? <Uptime t={t} tickMs={tickMs} /> : '–'}
      </td>
      <td class={`num${t.restarts ? ' warn' : ''}`} data-field="restarts">
        {t.restarts}
      </td>
      <td class="num" data-field="cpu">
        {r.cpu === undefined ? '–' : <Usage text={formatPercent(r.cpu)} of={r.cpuReserved} value={r.cpu} limitText={r.cpuReserved === undefined ? undefined : `${formatPercent(r.cpuReserved)} reserved (${t.resources.cpu} MHz)`} enforced={false} />}
      </td>
      <td class="num" data-field="memory">
        {r.mem === undefined ? '–' : <Usage text={formatBytes(r.mem)} of={r.memLimit} value={r.mem} limitText={r.memLimit === undefined ? undefined : `limit ${formatBytes(r.memLimit)}`} enforced={r.memEnforced} />}
      </td>
      <td data-field="health">
        {checks.length ? (
          <span class={`badge ${worst ? tone(worst.status) : 'good'}`} title={checks.map((c) => `${c.name}: ${c.status}`).join('\n')}>
            {worst ? `${worst.name} ${worst.status}` : `${passing}/${checks.length} passing`}
          </span>
        ) : (
          '–'
        )}
      </td>
      {without.has('ports') ? null : (
        <td class="ports" data-field="ports">
          {t.ports?.length ? t.ports.map((pt) => <div>{formatPort(pt)}</div>) : '–'}
        </td>
      )}
    </tr>
  );
}

/** Used against a limit: the figure, a bar, the limit in words (and whether it is enforced). */
function Usage(p: { text: string; value: number; of?: number; limitText?: string; enforced: boolean }) {
  const share = p.of ? Math.min(1, p.value / p.of) : undefined;
  const over = p.of !== undefined && p.value > p.of;
  const limit = p.limitText ? `${p.limitText}${p.enforced ? '' : ' (not enforced)'}` : undefined;
  return (
    <span class="usage" title={limit}>
      <span>{p.text}</span>
      {share !== undefined ? (
        <span class={`bar${over ? ' over' : ''}`} aria-hidden="true">
          <span style={{ width: `${(share * 100).toFixed(1)}%` }} />
        </span>
      ) : null}
      {limit ? <span class="sr-only">, {limit}</span> : null}
    </span>
  );
}
