/** What `tendctl node` prints: identity, executor and cgroup mode, cores, memory, drivers (and why not), attributes, meta. */
import type { DiskView, NodeView } from '../../api/api.js';
import type { JobsRevision } from '../../source/source.js';
import { formatBytes } from './bytes.js';
import { formatRelative, parseTime } from './duration.js';
import { palette as makePalette, type Palette } from './color.js';
import { formatKeyValues, formatTable } from './table.js';

/** "0-3,6" from [0,1,2,3,6]; "-" when empty. */
export function formatCpuList(cpus: number[]): string {
  if (cpus.length === 0) return '-';
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0];
  let prev = start;
  for (const c of [...sorted.slice(1), NaN]) {
    if (c === prev + 1) {
      prev = c;
      continue;
    }
    parts.push(start === prev ? String(start) : `${start}-${prev}`);
    start = prev = c;
  }
  return parts.join(',');
}

export function renderNode(n: NodeView, opts: { now: number; palette?: Palette }): string {
  const p = opts.palette ?? makePalette(false);
  const started = parseTime(n.startedAt);
  const out = [
    formatKeyValues([
      ['Name', n.name],
      ['ID', n.id],
      ['Class', n.class || '-'],
      ['Datacenter', n.datacenter],
      ['Version', n.version],
      ['Executor', `${n.executor}${n.executorReason ? ` (${n.executorReason})` : ''}${n.executor === 'plain' ? '; resource limits not enforced' : ''}`],
      ['Cgroup Mode', n.cgroupMode],
      ...(n.cgroupParent ? [['Cgroup Parent', n.cgroupParent] as [string, string]] : []),
      ['Cores', `${formatCpuList(n.cores)}${n.reservedCores.length ? ` (reserved ${formatCpuList(n.reservedCores)})` : ''}`],
      ['Memory', formatBytes(n.memoryBytes)],
      ['Data Dir', n.dataDir],
      ...(n.disk ? [['Data Dir Free', formatDiskFree(n.disk, p)] as [string, string], ['Logs Dropped', formatLogsDropped(n.disk, p)] as [string, string]] : []),
      ['Jobs Dir', n.jobsDir],
      ['Jobs Revision', n.jobsRevision ? formatRevision(n.jobsRevision, opts.now, { full: true }) : p.dim('none (no REVISION file or Git checkout in the jobs dir)')],
      ['Agent Started', started === undefined ? n.startedAt : `${n.startedAt} (${formatRelative(started, opts.now)})`],
    ]),
    ...(n.disk?.warnings.length ? [p.bold('Warnings'), n.disk.warnings.map((w) => `  ${p.red(w)}`).join('\n') + '\n'] : []),
    p.bold('Drivers'),
  ];
  const drivers = Object.entries(n.drivers).sort(([a], [b]) => a.localeCompare(b));
  out.push(
    formatTable(
      ['DRIVER', 'ENABLED', 'AVAILABLE', 'REASON'],
      drivers.map(([name, d]) => [
        name,
        d.enabled ? 'yes' : p.dim('no'),
        d.ok && d.enabled ? p.green('yes') : p.red('no'),
        d.reason ?? (d.enabled ? '-' : 'disabled in the agent config'),
      ]),
      { indent: '  ', headerStyle: p.bold },
    ),
  );
  const kv = (title: string, rec: Record<string, string>) => {
    const entries = Object.entries(rec).sort(([a], [b]) => a.localeCompare(b));
    out.push(p.bold(title));
    out.push(entries.length ? formatKeyValues(entries, '  ') : '  (none)\n');
  };
  kv('Attributes', n.attributes);
  kv('Meta', n.meta);
  return out.join('\n');
}

/**
 * "3f2a9c1 (applied 2m ago)"; with `full`, the whole commit id and where it was read:
 * "3f2a9c1e…a2 (REVISION file, applied 2m ago)". A revision without a time says none.
 */
export function formatRevision(r: JobsRevision, now: number, opts: { full?: boolean } = {}): string {
  const at = parseTime(r.appliedAt);
  const when = at === undefined ? undefined : `applied ${formatRelative(at, now)}`;
  const from = opts.full ? (r.source === 'REVISION' ? 'REVISION file' : 'Git checkout') : undefined;
  const note = [from, when].filter(Boolean).join(', ');
  return `${opts.full ? r.commit : r.commit.slice(0, 7)}${note ? ` (${note})` : ''}`;
}

/** "812 MiB of 8 GiB", with "low" in red below the threshold. */
export function formatDiskFree(d: DiskView, p: Palette): string {
  if (d.freeBytes < 0) return '-';
  const text = `${formatBytes(d.freeBytes)} of ${formatBytes(d.totalBytes)}`;
  return d.low ? `${p.red(text)} ${p.red(`(low: below ${formatBytes(d.lowBytes)})`)}` : text;
}

/** "0 B", "1.2 MiB (dropping now: web/g[0]/t)", "monitor not running". */
export function formatLogsDropped(d: DiskView, p: Palette): string {
  if (d.logs.monitorPid === undefined && d.logs.droppedBytes === 0) return p.red('log monitor not running');
  const bytes = formatBytes(d.logs.droppedBytes);
  if (d.logs.droppingTasks.length) return p.red(`${bytes} (dropping now: ${d.logs.droppingTasks.join(', ')})`);
  return d.logs.droppedBytes ? p.yellow(bytes) : bytes;
}
