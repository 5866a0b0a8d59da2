import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckScheduler, FIRST_SPREAD_MS } from '../../../src/services/scheduler.js';
import { FakeTime } from './fixtures.js';

test('check scheduler: the first run is jittered within the interval (at most FIRST_SPREAD_MS), then every interval; one timer for all', async () => {
  const time = new FakeTime();
  const s = new CheckScheduler({ time });
  const t0 = time.now();
  const runs: Record<string, number[]> = { a: [], b: [] };
  s.add('a', 10_000, async () => void runs.a.push(time.now() - t0));
  s.add('b', 2000, async () => void runs.b.push(time.now() - t0));
  assert.equal(time.pending, 1, 'one timer for every check');
  await time.advance(30_000);
  // random() = 0.5: a starts at min(10s, 5s)/2, b at 2s/2.
  assert.deepEqual(runs.a, [FIRST_SPREAD_MS / 2, FIRST_SPREAD_MS / 2 + 10_000, FIRST_SPREAD_MS / 2 + 20_000]);
  assert.deepEqual(runs.b.slice(0, 4), [1000, 3000, 5000, 7000]);
  assert.equal(runs.b.length, 15);
  s.close();
  assert.equal(time.pending, 0);
});

test('check scheduler: a check never overlaps itself; a slow run skips the slots it missed', async () => {
  const time = new FakeTime();
  const s = new CheckScheduler({ time });
  const t0 = time.now();
  const starts: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  s.add('slow', 1000, async () => {
    starts.push(time.now() - t0);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((r) => time.setTimeout(r, 2500));
    inFlight--;
  }, 0);
  await time.advance(10_000);
  assert.equal(maxInFlight, 1);
  assert.deepEqual(starts, [0, 3000, 6000, 9000]);
  s.close();
});

test('check scheduler: at most `concurrency` run at once, the rest wait their turn; remove stops a check for good', async () => {
  const time = new FakeTime();
  const s = new CheckScheduler({ time, concurrency: 2 });
  let inFlight = 0;
  let maxInFlight = 0;
  const count: Record<string, number> = {};
  for (const id of ['a', 'b', 'c', 'd']) {
    count[id] = 0;
    s.add(id, 1000, async () => {
      count[id]++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((r) => time.setTimeout(r, 100));
      inFlight--;
    }, 0);
  }
  await time.advance(50);
  assert.equal(inFlight, 2);
  await time.advance(5000);
  assert.equal(maxInFlight, 2);
  assert.ok(Object.values(count).every((n) => n >= 5), JSON.stringify(count));
  s.remove('a');
  const before = count.a;
  await time.advance(5000);
  assert.equal(count.a, before);
  assert.ok(count.b > before);
  assert.equal(s.size, 3);
  s.close();
});

test('check scheduler: a check that throws is scheduled again; re-adding an id replaces it', async () => {
  const time = new FakeTime();
  const s = new CheckScheduler({ time });
  let n = 0;
  s.add('x', 1000, async () => {
    n++;
    throw new Error('boom');
  }, 0);
  await time.advance(3500);
  assert.equal(n, 4);
  let m = 0;
  s.add('x', 1000, async () => void m++, 0);
  await time.advance(2500);
  assert.equal(n, 4);
  assert.equal(m, 3);
  s.close();
});
