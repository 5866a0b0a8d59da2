import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_API_LIMITS, ThrottledCount, apiLimits } from '../../../src/api/limits.js';
import { isTendError } from '../../../src/errors.js';

test('apiLimits: defaults, with overrides applied key by key', () => {
  assert.deepEqual(apiLimits(), DEFAULT_API_LIMITS);
  assert.deepEqual(apiLimits({}), {
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 30_000,
    bodyTimeoutMs: 10_000,
    maxConnections: 256,
    maxVarBodyBytes: 1024 * 1024,
    checkIntervalMs: 1_000,
    logIntervalMs: 10_000,
  });
  const l = apiLimits({ headersTimeoutMs: 500, maxConnections: 3, checkIntervalMs: 50 });
  assert.equal(l.headersTimeoutMs, 500);
  assert.equal(l.maxConnections, 3);
  assert.equal(l.checkIntervalMs, 50);
  assert.equal(l.idleTimeoutMs, 30_000);
  assert.notEqual(l, DEFAULT_API_LIMITS);
});

test('apiLimits: a value that is not a positive integer is refused, saying what was expected and got', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
    assert.throws(
      () => apiLimits({ idleTimeoutMs: bad }),
      (err) => isTendError(err, 'E_CONFIG_INVALID') && err.message.startsWith('invalid api limit idleTimeoutMs: expected a positive integer, got '),
    );
  }
  assert.throws(() => apiLimits({ maxConnections: 0 }), /maxConnections: expected a positive integer, got 0/);
});

test('apiLimits: the header deadline check cannot run less often than the deadline itself', () => {
  assert.throws(() => apiLimits({ headersTimeoutMs: 100 }), /checkIntervalMs: expected at most headersTimeoutMs \(100\), got 1000/);
  assert.equal(apiLimits({ headersTimeoutMs: 100, checkIntervalMs: 100 }).checkIntervalMs, 100);
});

test('ThrottledCount: the first event reports at once, then one report per interval carrying the events in between', () => {
  let now = 1000;
  const c = new ThrottledCount(10_000, () => now);
  assert.equal(c.hit(), 1);
  assert.equal(c.hit(), 0);
  now += 9_999;
  assert.equal(c.hit(), 0);
  now += 1;
  assert.equal(c.hit(), 3, 'the two throttled events and this one');
  assert.equal(c.hit(), 0);
  now += 60_000;
  assert.equal(c.hit(), 2);
});
