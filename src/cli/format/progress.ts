/**
 * What `tendctl wait` and `restart -wait` print: a progress line
 * (`12/200 running (180 pending, 8 starting)`), the same with a bar for a
 * terminal, and the report of what has not converged. Pure.
 */
import type { Convergence, Problem } from '../../api/converge.js';
import type { TaskEvent } from '../../api/api.js';
import { formatDuration, formatRelative, parseTime } from './duration.js';

/** Order in which not-ready states are listed. */
const STATE_ORDER = ['pending', 'starting', 'running', 'restarting', 'stopping', 'failed', 'dead', 'complete'];

/** `12/200 running (180 pending, 8 starting)`; `; rollout running: web` when a rollout holds it. */
export function progressText(c: Convergence): string {
  const states = Object.entries(c.notReady).sort(([a], [b]) => STATE_ORDER.indexOf(a) - STATE_ORDER.indexOf(b));
  const detail = states.length ? ` (${states.map(([s, n]) => `${n} ${s}`).join(', ')})` : '';
  const jobLevel = c.problems.filter((p) => !p.task);
  const more = jobLevel.length ? `; ${jobLevel.map((p) => (p.why.startsWith('rollout') ? `${p.job}: ${p.why.split(':')[0]}` : p.why)).join('; ')}` : '';
  return `${c.ready}/${c.total} ${c.label}${detail}${more}`;
}

/** `[██████░░░░░░░░░░] 12/200 running (…) 3s`: a bar of `width` cells and the elapsed time. */
export function progressBar(c: Convergence, width: number, elapsedMs: number): string {
  const cells = Math.max(4, width);
  const filled = c.total === 0 ? cells : Math.floor((c.ready / c.total) * cells);
  return `[${'█'.repeat(filled)}${'░'.repeat(cells - filled)}] ${progressText(c)} ${formatDuration(elapsedMs)}`;
}

/** One problem as the report lists it: `  web/g[1]/t: restarting after exit code 1; last event 3s ago: Terminated: exit code 1`. */
export function problemLine(p: Problem, last: TaskEvent | undefined, now: number): string {
  const at = parseTime(last?.time);
  const event = last ? `; last event${at === undefined ? '' : ` ${formatRelative(at, now)}`}: ${last.type}: ${last.message}` : '';
  return `  ${p.task ?? p.job}: ${p.why}${event}`;
}

/** The report's lines: fatal problems first, at most `max` (then how many more). */
export function problemLines(problems: Problem[], lastEvents: ReadonlyMap<string, TaskEvent>, now: number, max = 20): string[] {
  const sorted = [...problems].sort((a, b) => Number(b.fatal) - Number(a.fatal));
  const lines = sorted.slice(0, max).map((p) => problemLine(p, p.task ? lastEvents.get(p.task) : undefined, now));
  if (sorted.length > max) lines.push(`  … and ${sorted.length - max} more`);
  return lines;
}

/** Elapsed time for a wait's outcome: `0.4s`, `3.2s`, then as formatDuration (`1m5s`). */
export function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms);
}
