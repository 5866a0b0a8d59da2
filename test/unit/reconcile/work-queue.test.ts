import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../../src/reconcile/work-queue.js';

test('work queue: one run per key at a time, submissions merge, concurrency bounded', async () => {
  let running = 0;
  let maxRunning = 0;
  const perKey = new Map<string, number>();
  const active = new Set<string>();
  const gates: (() => void)[] = [];
  const q = new WorkQueue({
    concurrency: 2,
    run: async (key) => {
      assert.ok(!active.has(key), `${key} ran twice at once`);
      active.add(key);
      running++;
      maxRunning = Math.max(maxRunning, running);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      await new Promise<void>((r) => gates.push(r));
      running--;
      active.delete(key);
    },
  });
  for (const k of ['a', 'b', 'c']) q.submit(k);
  q.submit('c'); // merges with the queued run
  await new Promise((r) => setImmediate(r));
  q.submit('a'); // a is running: one follow-up run
  q.submit('a');
  while (q.depth > 0) {
    await new Promise((r) => setImmediate(r));
    gates.shift()?.();
  }
  await q.idle();
  assert.equal(maxRunning, 2);
  assert.deepEqual(Object.fromEntries(perKey), { a: 2, b: 1, c: 1 });
});

test('work queue: drain drops queued runs and waits for running ones', async () => {
  const ran: string[] = [];
  let release!: () => void;
  const q = new WorkQueue({
    concurrency: 1,
    run: async (key) => {
      ran.push(key);
      if (key === 'a') await new Promise<void>((r) => (release = r));
    },
  });
  q.submit('a');
  q.submit('b');
  await new Promise((r) => setImmediate(r));
  const drained = q.drain(1000);
  release();
  assert.equal(await drained, true);
  assert.deepEqual(ran, ['a']);
});
