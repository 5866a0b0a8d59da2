import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Debouncer } from '../../../src/source/debounce.js';
import { waitFor } from '../../helpers/wait.js';

test('Debouncer: an event on an idle debouncer runs at once (next turn of the loop, not after the wait)', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 60_000, 60_000);
  d.trigger();
  d.trigger(); // same tick: shares the leading run
  assert.equal(runs, 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 1);
  assert.equal(d.isPending, false);
});

test('Debouncer: a burst runs the function at its start and once more after it settles', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 30, 10_000);
  d.trigger();
  await waitFor(() => runs === 1, { what: 'the leading run' });
  for (let i = 0; i < 50; i++) d.trigger();
  assert.equal(runs, 1);
  assert.equal(d.isPending, true);
  await waitFor(() => runs === 2, { what: 'the trailing run' });
  assert.equal(d.isPending, false);
});

test('Debouncer: a constant stream still runs within the max wait', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 50, 100);
  const stream = setInterval(() => d.trigger(), 5);
  try {
    await waitFor(() => runs >= 1, { what: 'the leading run', timeoutMs: 2000 });
    const afterLeading = Date.now();
    await waitFor(() => runs >= 2, { what: 'a run during the stream', timeoutMs: 2000 });
    assert.ok(Date.now() - afterLeading < 1000);
  } finally {
    clearInterval(stream);
    d.cancel();
  }
});

test('Debouncer: cancel drops the pending run, leading or trailing', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 10, 10);
  d.trigger();
  d.cancel();
  await assert.rejects(waitFor(() => runs > 0, { what: 'a cancelled leading run', timeoutMs: 100 }));
  const e = new Debouncer(() => runs++, 50, 50);
  e.trigger();
  await waitFor(() => runs === 1, { what: 'the leading run' });
  e.trigger();
  e.cancel();
  await assert.rejects(waitFor(() => runs > 1, { what: 'a cancelled trailing run', timeoutMs: 150 }));
});

test('Debouncer: an event that may not lead waits for its burst to settle, even on an idle debouncer', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 40, 1000);
  const at = Date.now();
  d.trigger(false);
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 0);
  await waitFor(() => runs === 1, { what: 'the trailing run' });
  assert.ok(Date.now() - at >= 35, 'not before the wait');
});
