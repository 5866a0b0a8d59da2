import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyResult, initialRecord } from '../../../src/services/status.js';
import { CheckRestartTracker } from '../../../src/services/check-restart.js';
import type { CheckRecord, CheckStatus } from '../../../src/services/services.js';
import { spec } from './fixtures.js';

function feed(r: CheckRecord, results: CheckStatus[]): string[] {
  const out: string[] = [];
  for (const s of results) {
    r = applyResult(r, { status: s, output: s }, 0);
    out.push(r.status);
  }
  return out;
}

test('check status: without counters each result sets the status; before the first, pending (or initial_status)', () => {
  assert.equal(initialRecord(spec(), 0).status, 'pending');
  assert.equal(initialRecord(spec({ initialStatus: 'critical' }), 0).status, 'critical');
  assert.deepEqual(feed(initialRecord(spec(), 0), ['passing', 'critical', 'warning', 'passing']), ['passing', 'critical', 'warning', 'passing']);
});

test('check status: success_before_passing holds the old status until enough passes in a row', () => {
  const r = initialRecord(spec({ successBeforePassing: 3, initialStatus: 'critical' }), 0);
  assert.deepEqual(feed(r, ['passing', 'passing', 'critical', 'passing', 'passing', 'passing']), ['critical', 'critical', 'critical', 'critical', 'critical', 'passing']);
});

test('check status: failures_before_critical, with failures_before_warning defaulting to it (Consul)', () => {
  const r = applyResult(initialRecord(spec({ failuresBeforeCritical: 3 }), 0), { status: 'passing', output: '' }, 0);
  assert.deepEqual(feed(r, ['critical', 'critical', 'passing', 'critical', 'critical', 'critical']), ['passing', 'passing', 'passing', 'passing', 'passing', 'critical']);
  const w = applyResult(initialRecord(spec({ failuresBeforeCritical: 3, failuresBeforeWarning: 1 }), 0), { status: 'passing', output: '' }, 0);
  assert.deepEqual(feed(w, ['critical', 'critical', 'critical']), ['warning', 'warning', 'critical']);
});

test('check status: the output and time of the last result are kept even when the status holds; since moves on change only', () => {
  const r0 = initialRecord(spec({ failuresBeforeCritical: 2 }), 0);
  const r1 = applyResult(r0, { status: 'passing', output: 'ok', code: 200 }, 1000);
  assert.equal(r1.since, new Date(1000).toISOString());
  const r2 = applyResult(r1, { status: 'critical', output: 'boom', code: 500 }, 2000);
  assert.equal(r2.status, 'passing');
  assert.equal(r2.output, 'boom');
  assert.equal(r2.code, 500);
  assert.equal(r2.at, new Date(2000).toISOString());
  assert.equal(r2.since, r1.since);
});

test('check_restart: restarts at the limit of consecutive unhealthy results, once, and counts again after the task started', () => {
  const t = new CheckRestartTracker({ limit: 3, graceMs: 1000, ignoreWarnings: false }, 0);
  const seq = (states: [string, number][]) => states.map(([s, at]) => t.observe(s as 'critical', at));
  // Within grace: not counted. A pass resets the count.
  assert.deepEqual(seq([['critical', 500], ['critical', 1000], ['critical', 2000], ['passing', 3000], ['critical', 4000], ['critical', 5000]]), [false, false, false, false, false, false]);
  assert.equal(t.count, 2);
  assert.equal(t.observe('critical', 6000), true);
  // Restarting: nothing more until the task starts again.
  assert.deepEqual(seq([['critical', 7000], ['critical', 8000], ['critical', 9000]]), [false, false, false]);
  t.started(10_000);
  assert.deepEqual(seq([['critical', 10_500], ['critical', 11_000], ['critical', 12_000], ['critical', 13_000]]), [false, false, false, true]);
});

test('check_restart: warnings count unless ignore_warnings; pending resets', () => {
  const strict = new CheckRestartTracker({ limit: 2, graceMs: 0, ignoreWarnings: false }, 0);
  assert.deepEqual([strict.observe('warning', 1), strict.observe('warning', 2)], [false, true]);
  const lax = new CheckRestartTracker({ limit: 2, graceMs: 0, ignoreWarnings: true }, 0);
  assert.deepEqual([lax.observe('warning', 1), lax.observe('critical', 2), lax.observe('pending', 3), lax.observe('critical', 4), lax.observe('warning', 5)], [false, false, false, false, false]);
  assert.equal(lax.count, 0);
});
