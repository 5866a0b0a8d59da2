import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Debouncer } from '../../../src/source/debounce.js';
import { waitFor } from '../../helpers/wait.js';

const tick = () => new Promise((r) => setImmediate(r));

test('Debouncer: a leading event runs on the next turn of the loop (events of one tick share it), not after the wait', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 60_000, 60_000, 0);
  d.trigger();
  d.trigger();
  assert.equal(runs, 0);
  await tick();
  assert.equal(runs, 1);
  assert.equal(d.isPending, false);
  d.trigger(); // the agent is idle again: at once again, whatever the wait
  await tick();
  assert.equal(runs, 2);
});

test('Debouncer: leading events within the gap of a run share one run at the end of the gap', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 10_000, 10_000, 50);
  d.trigger();
  await tick();
  assert.equal(runs, 1);
  for (let i = 0; i < 50; i++) d.trigger();
  assert.equal(runs, 1);
  assert.equal(d.isPending, true);
  await waitFor(() => runs === 2, { what: 'the run at the end of the gap', timeoutMs: 2000 });
  assert.equal(d.isPending, false);
});

test('Debouncer: a trailing event waits for its burst to settle, even on an idle debouncer', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 40, 1000);
  const at = Date.now();
  d.trigger(false);
  await tick();
  assert.equal(runs, 0);
  await waitFor(() => runs === 1, { what: 'the trailing run' });
  assert.ok(Date.now() - at >= 35, 'not before the wait');
});

test('Debouncer: a constant stream of trailing events still runs within the max wait', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 50, 100);
  const started = Date.now();
  const stream = setInterval(() => d.trigger(false), 5);
  try {
    await waitFor(() => runs >= 1, { what: 'a run during the stream', timeoutMs: 2000 });
    assert.ok(Date.now() - started < 1000);
  } finally {
    clearInterval(stream);
    d.cancel();
  }
});

test('Debouncer: cancel drops every pending run', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 20, 20, 20);
  d.trigger();
  d.trigger(false);
  d.cancel();
  assert.equal(d.isPending, false);
  await assert.rejects(waitFor(() => runs > 0, { what: 'a cancelled run', timeoutMs: 150 }));
});
