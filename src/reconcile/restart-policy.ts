/**
 * Nomad's restart tracker semantics (client/allocrunner/taskrunner/restarts):
 *  - a new interval begins when the previous one has ended; each exit counts
 *    one attempt in the current interval;
 *  - a batch task that exits 0 is complete (not restarted); a service task is
 *    restarted whatever its exit code;
 *  - within `attempts`: restart after `delay` ± 25 % jitter;
 *  - past `attempts`: mode "fail" → failed; mode "delay" → wait until the
 *    interval ends, then the count starts again.
 * Pure: time and randomness are passed in.
 */
import type { JobType, RestartPolicy } from '../jobspec/model.js';
import type { RestartWindow } from '../store/store.js';

export const JITTER = 0.25;

export type RestartOutcome =
  | { kind: 'restart'; delayMs: number; window: RestartWindow; reason: string }
  | { kind: 'complete'; window: RestartWindow; reason: string }
  | { kind: 'fail'; window: RestartWindow; reason: string };

export interface ExitInfo {
  code: number | null;
  /** A launch that failed rather than a process that exited. */
  launchFailed?: boolean;
}

/** Delay ± 25 %, as Nomad's jitter(): rand in [0, delay) × 0.25, sign by coin. */
export function jitter(delayMs: number, random: () => number): number {
  if (delayMs <= 0) return 0;
  const j = Math.floor(random() * delayMs) * JITTER;
  return Math.round(random() < 0.5 ? delayMs - j : delayMs + j);
}

function ms(n: number): string {
  if (n % 3_600_000 === 0) return `${n / 3_600_000}h`;
  if (n % 60_000 === 0) return `${n / 60_000}m`;
  if (n % 1000 === 0) return `${n / 1000}s`;
  return `${n}ms`;
}

export function nextRestart(
  policy: RestartPolicy,
  jobType: JobType,
  exit: ExitInfo,
  window: RestartWindow | undefined,
  now: number,
  random: () => number = Math.random,
): RestartOutcome {
  let w: RestartWindow = window ? { ...window } : { startedAt: now, count: 0 };
  if (now > w.startedAt + policy.intervalMs) w = { startedAt: now, count: 0 };
  if (!exit.launchFailed && exit.code === 0 && jobType === 'batch') {
    return { kind: 'complete', window: w, reason: 'Restart unnecessary as task terminated successfully' };
  }
  w.count++;
  if (policy.attempts === 0 || w.count > policy.attempts) {
    if (policy.mode === 'fail' || policy.attempts === 0) {
      return {
        kind: 'fail',
        window: w,
        reason: policy.attempts === 0 ? 'Policy allows no restarts' : `Exceeded allowed attempts ${policy.attempts} in interval ${ms(policy.intervalMs)} and mode is "fail"`,
      };
    }
    const delay = Math.max(0, w.startedAt + policy.intervalMs - now);
    return { kind: 'restart', delayMs: delay, window: w, reason: 'Exceeded allowed attempts, applying a delay' };
  }
  return { kind: 'restart', delayMs: jitter(policy.delayMs, random), window: w, reason: 'Restart within policy' };
}
