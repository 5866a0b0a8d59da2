/**
 * Cron expressions of `periodic` blocks, read by croner (time zones through Intl, DST handled):
 * checked at load (build.ts) and evaluated by the periodic launcher (src/reconcile/periodic.ts).
 *
 * As Nomad's: five fields (minute hour day-of-month month day-of-week, day-of-month OR
 * day-of-week when both are restricted) or a shortcut (`@hourly`, `@daily`, `@weekly`,
 * `@monthly`, `@yearly`, `@annually`). Test seam: with `TEND_TEST_CRON_SECONDS=1` in the
 * environment a six-field expression (seconds first) is accepted too, so an end-to-end test can
 * launch every few seconds; no job file meant for Nomad uses it.
 */
import { Cron } from 'croner';

export const CRON_SECONDS_ENV = 'TEND_TEST_CRON_SECONDS';

function secondsAllowed(): boolean {
  return process.env[CRON_SECONDS_ENV] === '1';
}

/** A paused croner schedule for one expression in one time zone; throws on a bad expression. */
export function compileCron(expr: string, timeZone: string): Cron {
  return new Cron(expr.trim(), { paused: true, timezone: timeZone, mode: secondsAllowed() ? '5-or-6-parts' : '5-part', legacyMode: true });
}

/** What is wrong with a time zone name, as "expected …, got …"; undefined when Intl knows it. */
export function timeZoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `expected an IANA time zone (e.g. "UTC", "Europe/Berlin"), got "${tz}"`;
  }
}

/** What is wrong with a cron expression, as "expected …, got …"; undefined when it is fine. */
export function cronProblem(expr: string): string | undefined {
  try {
    const c = compileCron(expr, 'UTC');
    if (c.nextRun() === null) return `expected a cron expression that ever matches, got "${expr}"`;
    return undefined;
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern: /, '');
    return `expected a cron expression of 5 fields (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly, got "${expr}" (${why})`;
  }
}
