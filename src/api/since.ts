/**
 * `since` as `tendctl logs -since` and `GET /v1/logs?since=` take it: a Go
 * duration back from now (`10m`, `1h30m`) or an RFC 3339 time
 * (`2026-11-30T12:00:00Z`, with a fraction or an offset).
 */
import { parseDuration } from '../jobspec/duration.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

export const SINCE_EXPECTED = 'a duration (10m, 1h30m) or an RFC 3339 time (2026-11-30T12:00:00Z)';

/** Epoch ms, or undefined when `text` is neither. A bare number is not taken (is it seconds or a date?). */
export function parseSince(text: string, now: number): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return undefined;
  const d = parseDuration(t);
  if (d !== undefined) return now - d;
  if (!RFC3339.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}
