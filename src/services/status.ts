/**
 * A check's status from its results, with Consul's counters (agent/checks StatusHandler):
 *  - a passing or warning result counts as a success: once `success_before_passing` successes
 *    in a row are reached, the status becomes the result's;
 *  - a critical result counts as a failure: at `failures_before_critical` failures in a row the
 *    status becomes critical, before that at `failures_before_warning` (default: the same as
 *    failures_before_critical) it becomes warning;
 *  - short of a threshold the status stays as it was (`initial_status`, else `pending`).
 * Thresholds of 0 and 1 act at once. Pure.
 */
import type { CheckRecord, CheckResult, CheckSpec, CheckState } from './services.js';

/** The record of a check that has not run yet. */
export function initialRecord(spec: CheckSpec, now: number): CheckRecord {
  return { spec, status: spec.initialStatus ?? 'pending', since: new Date(now).toISOString(), successes: 0, failures: 0 };
}

/** The record after a result at `now` (a new object; `since` moves only when the status changes). */
export function applyResult(r: CheckRecord, result: CheckResult, now: number): CheckRecord {
  const spec = r.spec;
  const at = new Date(now).toISOString();
  let status: CheckState = r.status;
  let successes = r.successes;
  let failures = r.failures;
  if (result.status === 'critical') {
    failures++;
    successes = 0;
    const critical = Math.max(1, spec.failuresBeforeCritical);
    const warning = Math.max(1, spec.failuresBeforeWarning ?? spec.failuresBeforeCritical);
    if (failures >= critical) status = 'critical';
    else if (failures >= warning) status = 'warning';
  } else {
    successes++;
    failures = 0;
    if (successes >= Math.max(1, spec.successBeforePassing)) status = result.status;
  }
  return {
    spec,
    status,
    output: result.output,
    ...(result.code !== undefined ? { code: result.code } : {}),
    at,
    since: status === r.status ? r.since : at,
    successes,
    failures,
  };
}
