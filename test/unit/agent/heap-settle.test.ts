import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullGc, HeapSettle } from '../../../src/agent/heap-settle.js';

const MiB = 1048576;

/** A settle on fake CPU and heap readings; `tick(cpuShare, heapMiB)` advances one interval and looks. */
function fake() {
  let cpu = 0;
  let heap = 20 * MiB;
  const gcs: number[] = [];
  const forSize: boolean[] = [];
  const settle = new HeapSettle({
    optimizeForSize: (on) => forSize.push(on),
    intervalMs: 1000,
    cpuMicros: () => cpu,
    heapBytes: () => heap,
    gc: () => {
      gcs.push(heap);
      heap = 40 * MiB; // what survives
    },
  });
  settle.start();
  settle.stop(); // the test drives check() itself
  return {
    settle,
    gcs,
    forSize,
    tick(share: number, heapMiB: number) {
      cpu += share * 1000 * 1000;
      heap = heapMiB * MiB;
      return settle.check();
    },
  };
}

test('heap settle: a full GC runs once the agent is quiet after its heap grew, not while it is busy', () => {
  const f = fake();
  assert.equal(f.tick(0.9, 120), false, 'busy converging: no GC');
  assert.equal(f.tick(0.6, 130), false);
  assert.equal(f.tick(0.02, 130), true, 'quiet, heap 130 MiB against 20 at start: GC');
  assert.deepEqual(f.gcs, [130 * MiB]);
  assert.equal(f.tick(0.02, 45), false, 'quiet, grown from 40 to 45 MiB only: no GC');
  assert.equal(f.tick(0.02, 90), true, 'grown past 1.5 × 40 + 16 MiB: GC again');
  assert.equal(f.settle.settles, 2);
});

test('heap settle: V8 optimizes for size from a settle until the agent is busy again', () => {
  const f = fake();
  f.tick(0.02, 130);
  assert.deepEqual(f.forSize, [true]);
  assert.equal(f.settle.optimizingForSize, true);
  f.tick(0.02, 40);
  assert.deepEqual(f.forSize, [true], 'quiet: stays on, set once');
  f.tick(0.5, 60);
  assert.deepEqual(f.forSize, [true, false], 'busy: off');
  assert.equal(f.settle.optimizingForSize, false);
  f.tick(0.5, 80);
  assert.deepEqual(f.forSize, [true, false], 'set once');
});

test('heap settle: a heap that shrank on its own lowers the bar', () => {
  const f = fake();
  assert.equal(f.tick(0.02, 10), false);
  assert.equal(f.tick(0.02, 32), true, '32 MiB > 1.5 × 10 + 16');
});

test('heap settle: fullGc runs V8 full GC without a global gc', () => {
  const gc = fullGc();
  gc();
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});
