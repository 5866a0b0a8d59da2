import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCgroupName, assertLimits, clampShares, pidsValue, sharesToWeight } from '../../../src/cgroups/limits.js';

test('sharesToWeight: runc/systemd conversion at the ends and in between', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(sharesToWeight(1024), 39); // 1 + floor(1022 * 9999 / 262142) = 1 + 38
  assert.equal(sharesToWeight(500), 1 + Math.floor((498 * 9999) / 262142));
  assert.equal(sharesToWeight(100), 4);
});

test('sharesToWeight: out-of-range shares are clamped first', () => {
  assert.equal(sharesToWeight(0), 1);
  assert.equal(sharesToWeight(1), 1);
  assert.equal(sharesToWeight(10_000_000), 10000);
});

test('clampShares: MHz become shares, at least 2 and at most 262144', () => {
  assert.equal(clampShares(500), 500);
  assert.equal(clampShares(1), 2);
  assert.equal(clampShares(1e9), 262144);
  assert.equal(clampShares(99.6), 100);
  assert.equal(clampShares(Number.NaN), 2);
});

test('pidsValue: 0 means no limit', () => {
  assert.equal(pidsValue(10), '10');
  assert.equal(pidsValue(0), 'max');
});

test('assertCgroupName: one path segment', () => {
  assertCgroupName('id', 'web.frontend-1_a');
  for (const bad of ['', '.', '..', 'a/b', '../x', 'has space', 'x'.repeat(256)]) {
    assert.throws(() => assertCgroupName('id', bad), /invalid cgroup id: expected one path segment without spaces/, bad);
  }
});

test('assertLimits: says what was expected and what it got', () => {
  assertLimits('t', { cpuShares: 100, memoryMaxBytes: 1 << 20, memoryReservationBytes: 0, pidsMax: 10, cpuset: [0, 1] });
  assert.throws(() => assertLimits('t', { memoryMaxBytes: -1 }), /expected memoryMaxBytes to be a non-negative number, got -1/);
  assert.throws(() => assertLimits('t', { memoryMaxBytes: 100 }), /expected memoryMaxBytes to be at least 4096 bytes, got 100/);
  assert.throws(() => assertLimits('t', { cpuset: [1.5] }), /expected cpuset to be a list of CPU ids, got \[1.5\]/);
  assert.throws(() => assertLimits('t', { pidsMax: Number.NaN }), /expected pidsMax to be a non-negative number/);
});
