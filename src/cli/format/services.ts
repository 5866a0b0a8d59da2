/**
 * What `tendctl services` prints (after `nomad service list` and `nomad service info`), and the
 * checks block of `tendctl status JOB/TASK` (after `nomad alloc checks`). Pure.
 */
import type { CheckState, CheckView, ServiceInstanceView, ServiceSummaryView } from '../../api/api.js';
import { formatDuration } from '../../jobspec/duration.js';
import { formatRelative, parseTime } from './duration.js';
import { palette as makePalette, type Palette } from './color.js';
import { formatTable } from './table.js';
import { joinHostPort } from '../../ports/ports.js';

export function colorCheck(status: CheckState, p: Palette): string {
  switch (status) {
    case 'passing':
      return p.green(status);
    case 'warning':
    case 'pending':
      return p.yellow(status);
    case 'critical':
      return p.red(status);
  }
}

/** "1 passing, 2 critical" (the non-zero counts), or "-". */
function healthCounts(s: ServiceSummaryView, p: Palette): string {
  const parts = (['passing', 'warning', 'critical', 'pending'] as const).filter((k) => s[k] > 0).map((k) => `${s[k]} ${colorCheck(k, p)}`);
  return parts.length ? parts.join(', ') : '-';
}

const tags = (t: string[]) => (t.length ? `[${t.join(',')}]` : '[]');

/** `tendctl services`: one line per service name. */
export function renderServiceList(list: ServiceSummaryView[], p: Palette = makePalette(false)): string {
  if (!list.length) return 'No services registered.\n';
  const multiNs = new Set(list.map((s) => s.namespace)).size > 1;
  const rows = list.map((s) => [s.name, ...(multiNs ? [s.namespace] : []), tags(s.tags), String(s.instances), healthCounts(s, p), s.jobs.join(',')]);
  return formatTable(['SERVICE NAME', ...(multiNs ? ['NAMESPACE'] : []), 'TAGS', 'INSTANCES', 'HEALTH', 'JOBS'], rows, { headerStyle: p.bold });
}

/** One line of a check's output: its first line, cut. */
export function checkOutput(c: Pick<CheckView, 'output'>, max = 100): string {
  const line = (c.output ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line || '-';
}

/** The checks table: STATUS, CHECK, TYPE, (SERVICE), TASK, LAST, OUTPUT. */
export function renderChecks(checks: CheckView[], now: number, p: Palette, o: { service?: boolean; indent?: string } = {}): string {
  const rows = checks.map((c) => {
    const at = parseTime(c.at);
    return [
      colorCheck(c.status, p),
      c.name,
      c.type,
      ...(o.service ? [c.service] : []),
      c.group ? `${c.task ?? '-'} (group)` : (c.task ?? '-'),
      at === undefined ? '-' : formatRelative(at, now),
      checkOutput(c),
    ];
  });
  return formatTable(['STATUS', 'CHECK', 'TYPE', ...(o.service ? ['SERVICE'] : []), 'TASK', 'LAST', 'OUTPUT'], rows, { headerStyle: p.bold, indent: o.indent });
}

/** `tendctl services NAME`: every instance, then its checks. */
export function renderServiceInfo(name: string, list: ServiceInstanceView[], now: number, p: Palette = makePalette(false)): string {
  const rows = list.map((s) => [
    s.job,
    `${s.group}[${s.index}]`,
    s.task ?? '(group)',
    joinHostPort(s.address, s.port),
    tags(s.tags),
    colorCheck(s.status, p),
    s.allocId.slice(0, 8),
  ]);
  const out = [formatTable(['JOB', 'GROUP', 'TASK', 'ADDRESS', 'TAGS', 'HEALTH', 'ALLOC ID'], rows, { headerStyle: p.bold }).trimEnd()];
  for (const s of list) {
    if (!s.checks.length) continue;
    out.push('', p.bold(`Checks of ${name} at ${joinHostPort(s.address, s.port)} (${s.job}/${s.group}[${s.index}]):`));
    out.push(renderChecks(s.checks, now, p, { indent: '  ' }).trimEnd());
  }
  return out.join('\n') + '\n';
}

/** The check's settings in one line: "every 10s, timeout 2s, restart after 3 (grace 1s)". */
export function checkSettings(c: CheckView): string {
  const r = c.checkRestart;
  return `every ${formatDuration(c.intervalMs)}, timeout ${formatDuration(c.timeoutMs)}${c.mode === 'readiness' ? ', readiness' : ''}${r ? `, restart after ${r.limit} unhealthy (grace ${formatDuration(r.graceMs)}${r.ignoreWarnings ? ', warnings ignored' : ''})` : ''}`;
}
