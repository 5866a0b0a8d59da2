/**
 * Text of the page: tendctl's formatters (pure, src/cli/format/) without
 * colour, and what only the page needs.
 */
import type { TaskView } from '../api/api.js';
import { palette } from '../cli/format/color.js';

export { formatBytes, formatPercent } from '../cli/format/bytes.js';
export { formatDuration, formatRelative, formatSince, parseTime } from '../cli/format/duration.js';
export { formatSpec } from '../cli/format/spec.js';
export { compareTasks, describeExit, formatDiagnostic, formatPort, groupLabel, taskLabel, taskNote } from '../cli/format/status.js';

export const plain = palette(false);

export const MiB = 1024 * 1024;

/** Running or about to stop: it has a pid, an uptime, figures. */
export function isLive(t: Pick<TaskView, 'state'>): boolean {
  return t.state === 'running' || t.state === 'starting' || t.state === 'stopping';
}

/** The state's tone for its badge: good, busy (on its way), bad, idle. */
export function tone(state: string): 'good' | 'busy' | 'bad' | 'idle' {
  switch (state) {
    case 'running':
    case 'complete':
    case 'successful':
    case 'passing':
      return 'good';
    case 'pending':
    case 'starting':
    case 'restarting':
    case 'stopping':
    case 'blocked':
    case 'degraded':
    case 'warning':
      return 'busy';
    case 'failed':
    case 'invalid':
    case 'critical':
      return 'bad';
    default:
      return 'idle';
  }
}

/** `#task=<id>` → the id; undefined for any other fragment. */
export function taskOfHash(hash: string): string | undefined {
  const m = /^#task=(.+)$/.exec(hash);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

export function taskHash(id: string): string {
  return `#task=${encodeURIComponent(id)}`;
}

/** "14:03:27" in the browser's time zone. */
export function clockTime(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString(undefined, { hour12: false });
}
