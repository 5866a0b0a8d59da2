import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsSampler } from '../../../src/agent/stats-sampler.js';
import type { TaskStats } from '../../../src/executor/executor.js';

function setup(o: { keep?: number; idleMs?: number } = {}) {
  let now = 1_000_000;
  let running: Record<string, number> = {};
  let reads = 0;
  const stats = (cpu: number): TaskStats => ({ at: now, pids: 1, cpuPercent: cpu, memoryBytes: cpu * 1000, memoryLimitBytes: 1e6 });
  const sampler = new StatsSampler({
    // The timer does not fire within a test: ticks are taken by hand.
    intervalMs: 60_000,
    keep: o.keep ?? 4,
    idleMs: o.idleMs ?? 60_000,
    clock: { now: () => now, random: () => 0 },
    read: async () => {
      reads++;
      return Object.fromEntries(Object.entries(running).map(([id, cpu]) => [id, stats(cpu)]));
    },
  });
  return {
    sampler,
    set: (r: Record<string, number>) => (running = r),
    advance: (ms: number) => (now += ms),
    reads: () => reads,
  };
}

test('stats sampler: the first read takes a sample at once and starts sampling', async () => {
  const s = setup();
  s.set({ a: 5 });
  assert.equal(s.sampler.isSampling, false);
  assert.deepEqual(s.sampler.latest().tasks, {}, 'nothing before anyone asked');
  assert.equal(s.reads(), 0, 'no read before anyone asked');
  await s.sampler.touch();
  assert.equal(s.sampler.isSampling, true);
  assert.deepEqual(s.sampler.latest().tasks, { a: { cpuPercent: 5, memoryBytes: 5000, memoryLimitBytes: 1e6 } });
  await s.sampler.touch();
  assert.equal(s.reads(), 1, 'a second reader does not sample again');
  s.sampler.close();
});

test('stats sampler: a series keeps the last `keep` samples, oldest first, without the ticks a task did not run', async () => {
  const s = setup({ keep: 4 });
  await s.sampler.touch();
  const ticks: Record<string, number>[] = [{ a: 1 }, { a: 2, b: 10 }, { b: 11 }, { a: 4, b: 12 }, { a: 5, b: 13 }];
  for (const r of ticks) {
    s.advance(1000);
    s.set(r);
    await s.sampler.sample();
  }
  const a = s.sampler.series('a');
  // Six ticks (the first empty one at touch), four kept: {b:11}, {a:4}, {a:5} and {a:2,b:10}.
  assert.deepEqual(a.samples.map((x) => x.cpuPercent), [2, 4, 5]);
  assert.ok(a.samples.every((x, i, xs) => i === 0 || x.at > xs[i - 1].at), 'oldest first');
  assert.deepEqual(s.sampler.series('b').samples.map((x) => x.cpuPercent), [10, 11, 12, 13]);
  assert.equal(a.memoryLimitBytes, 1e6);
  assert.deepEqual(Object.keys(s.sampler.latest().tasks).sort(), ['a', 'b']);
  s.sampler.close();
});

test('stats sampler: a task gone for `keep` samples is forgotten; latest shows only what ran in the newest', async () => {
  const s = setup({ keep: 3 });
  s.set({ a: 1, b: 1 });
  await s.sampler.touch();
  s.set({ b: 2 });
  await s.sampler.sample();
  assert.deepEqual(Object.keys(s.sampler.latest().tasks), ['b']);
  assert.equal(s.sampler.series('a').samples.length, 1, 'still within the window');
  await s.sampler.sample();
  await s.sampler.sample();
  assert.deepEqual(s.sampler.series('a').samples, []);
  assert.equal(s.sampler.series('b').samples.length, 3);
  s.sampler.close();
});

test('stats sampler: sampling stops once nobody read for idleMs, and resumes on the next read', async () => {
  const s = setup({ idleMs: 100_000 });
  s.set({ a: 1 });
  await s.sampler.touch();
  s.advance(50_000);
  await s.sampler.sample();
  assert.equal(s.sampler.isSampling, true);
  s.advance(60_000);
  const before = s.reads();
  await s.sampler.sample();
  assert.equal(s.sampler.isSampling, false);
  assert.equal(s.reads(), before, 'no sample taken once idle');
  await s.sampler.touch();
  assert.equal(s.sampler.isSampling, true);
  assert.equal(s.reads(), before + 1, 'the next read samples at once');
  s.sampler.close();
});

test('stats sampler: a failed read keeps what was sampled', async () => {
  let fail = false;
  const sampler = new StatsSampler({
    intervalMs: 3_600_000,
    read: async () => {
      if (fail) throw new Error('proc gone');
      return { a: { at: 0, pids: 1, cpuPercent: 7, memoryBytes: 1 } };
    },
  });
  await sampler.touch();
  fail = true;
  await sampler.sample();
  assert.equal(sampler.latest().tasks.a.cpuPercent, 7);
  sampler.close();
});

test('stats sampler: a reader looking at a task without samples gets one now, no sooner than minGapMs after the last', async () => {
  const s = setup();
  s.set({ a: 1 });
  await s.sampler.touch();
  s.set({ a: 1, b: 2 });
  await s.sampler.touch('b');
  assert.equal(s.reads(), 1, 'within minGapMs of the last sample: none taken');
  assert.deepEqual(s.sampler.series('b').samples, []);
  s.advance(2000);
  await s.sampler.touch('b');
  assert.equal(s.reads(), 2);
  assert.deepEqual(s.sampler.series('b').samples.map((x) => x.cpuPercent), [2]);
  await s.sampler.touch('b');
  assert.equal(s.reads(), 2, 'a task with samples waits for the next tick');
  s.sampler.close();
});

test('stats sampler: a slow sample spaces the next ones out (at most 2 % of a core), a quick one brings the interval back', async () => {
  // 40 ms asked, at least 30 ms measured: a timer may fire a little before its time.
  let delayMs = 40;
  const sampler = new StatsSampler({
    intervalMs: 100,
    read: async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      return {};
    },
  });
  await sampler.touch();
  assert.ok(sampler.intervalMs >= 30 * 50, `a 30 ms sample: ${sampler.intervalMs} ms to the next`);
  assert.equal(sampler.latest().intervalMs, sampler.intervalMs, 'the views say the interval in force');
  delayMs = 0;
  await sampler.sample();
  assert.ok(sampler.intervalMs < 1000, `back near the base: ${sampler.intervalMs} ms`);
  sampler.close();
});
