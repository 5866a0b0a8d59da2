import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jitter, nextRestart } from '../../../src/reconcile/restart-policy.js';

const policy = { attempts: 2, intervalMs: 60_000, delayMs: 10_000, mode: 'fail' as const };
const half = () => 0.5;

test('restart policy: within attempts restarts after delay with at most 25% jitter', () => {
  for (const r of [0, 0.3, 0.49, 0.5, 0.99]) {
    const d = jitter(10_000, () => r);
    assert.ok(d >= 7500 && d <= 12500, `delay ${d}`);
  }
  const o = nextRestart(policy, 'service', { code: 1 }, undefined, 1000, half);
  assert.equal(o.kind, 'restart');
  assert.equal(o.window.count, 1);
});

test('restart policy: mode fail fails after attempts within the interval', () => {
  let w;
  let now = 0;
  const kinds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const o = nextRestart(policy, 'service', { code: 1 }, w, now, half);
    kinds.push(o.kind);
    w = o.window;
    now += 1000;
  }
  assert.deepEqual(kinds, ['restart', 'restart', 'fail']);
});

test('restart policy: mode delay waits until the interval ends, then counts again', () => {
  const p = { ...policy, mode: 'delay' as const };
  let o = nextRestart(p, 'service', { code: 1 }, undefined, 0, half);
  o = nextRestart(p, 'service', { code: 1 }, o.window, 5_000, half);
  o = nextRestart(p, 'service', { code: 1 }, o.window, 20_000, half);
  assert.equal(o.kind, 'restart');
  assert.equal(o.kind === 'restart' && o.delayMs, 40_000);
  // After the interval: a fresh window.
  o = nextRestart(p, 'service', { code: 1 }, o.window, 60_001, half);
  assert.equal(o.window.count, 1);
  assert.equal(o.window.startedAt, 60_001);
});

test('restart policy: batch exit 0 is complete, service exit 0 restarts, attempts 0 fails at once', () => {
  assert.equal(nextRestart(policy, 'batch', { code: 0 }, undefined, 0, half).kind, 'complete');
  assert.equal(nextRestart(policy, 'batch', { code: 3 }, undefined, 0, half).kind, 'restart');
  assert.equal(nextRestart(policy, 'service', { code: 0 }, undefined, 0, half).kind, 'restart');
  assert.equal(nextRestart({ ...policy, attempts: 0 }, 'service', { code: 1 }, undefined, 0, half).kind, 'fail');
});
