/**
 * Durations and relative times as operators read them: "3m12s", "2h5m",
 * "12s ago", "in 14s". Pure; `now` is always passed in.
 */

/** "0s", "45s", "3m12s", "2h5m", "3d4h". Two units at most, the larger ones first; negative values are shown as 0s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return '0s';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m${sec}s` : `${m}m`;
  return `${sec}s`;
}

/** Milliseconds since epoch of an ISO time, or undefined when absent or unparsable. */
export function parseTime(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** "12s ago", "in 14s", "now" (within a second either way). */
export function formatRelative(at: number, now: number): string {
  const delta = at - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** Uptime of something started at `startedAt` (ISO), or "-" when unknown. */
export function formatSince(startedAt: string | undefined, now: number): string {
  const t = parseTime(startedAt);
  return t === undefined ? '-' : formatDuration(Math.max(0, now - t));
}
