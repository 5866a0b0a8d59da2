/**
 * A periodic job as `tendctl status` shows it: the next launch in the job's time zone, the
 * schedule, the recent children with their exits, and what was missed or skipped. Pure.
 */
import type { JobView, PeriodicView } from '../../api/api.js';
import { formatRelative, parseTime } from './duration.js';
import { palette as makePalette, type Palette } from './color.js';
import { renderChildren } from './children.js';

/** `2026-11-30 16:00:00` in the zone `tz` (the zone is named beside it by the caller). */
export function formatInZone(ms: number, tz: string): string {
  try {
    return new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(ms);
  } catch {
    return new Date(ms).toISOString();
  }
}

/** "next launch 2026-11-30 16:00:00 (Europe/Berlin), in 5m", or why there is none. */
export function nextLaunchText(v: PeriodicView, now: number): string {
  if (!v.enabled) return 'disabled (enabled = false): never launches';
  const at = parseTime(v.nextLaunch);
  if (at === undefined) return 'no next launch: the schedule never matches again';
  return `next launch ${formatInZone(at, v.timeZone)} (${v.timeZone}), ${formatRelative(at, now)}`;
}

/** Lines under a periodic job: schedule, next launch, children, missed and skipped launches. */
export function renderPeriodic(v: PeriodicView, now: number, p: Palette = makePalette(false), indent = ''): string[] {
  const out = [
    `${indent}${nextLaunchText(v, now)}`,
    `${indent}schedule ${v.crons.map((c) => `"${c}"`).join(', ')}${v.prohibitOverlap ? '; prohibit_overlap' : ''}`,
  ];
  if (v.missed) {
    const from = parseTime(v.missed.from);
    out.push(p.yellow(`${indent}${v.missed.count} launch${v.missed.count === 1 ? ' was' : 'es were'} due while the agent was down${from !== undefined ? ` (since ${formatInZone(from, v.timeZone)})` : ''}; not caught up`));
  }
  if (v.lastSkipped) {
    const at = parseTime(v.lastSkipped.at);
    out.push(`${indent}last launch skipped ${at !== undefined ? formatRelative(at, now) : v.lastSkipped.at}: ${v.lastSkipped.running} still ran (prohibit_overlap)`);
  }
  out.push(...renderChildren(v.children, now, p, indent, { when: 'LAUNCHED', note: (c) => (c.forced ? ' (forced)' : '') }));
  return out;
}

/** The "Periodic jobs:" section of the node-wide status; empty when there is none. */
export function renderPeriodicJobs(jobs: JobView[], now: number, p: Palette = makePalette(false)): string[] {
  const periodic = jobs.filter((j) => j.periodic);
  if (!periodic.length) return [];
  const out = ['', p.bold('Periodic jobs:')];
  for (const j of periodic) out.push(`  ${j.id}`, ...renderPeriodic(j.periodic!, now, p, '    '));
  return out;
}
