import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Debouncer } from '../../../src/source/debounce.js';
import { waitFor } from '../../helpers/wait.js';

test('Debouncer: a burst runs the function once, after it settles', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 30, 10_000);
  for (let i = 0; i < 50; i++) d.trigger();
  assert.equal(runs, 0);
  assert.equal(d.isPending, true);
  await waitFor(() => runs === 1, { what: 'the trailing run' });
  assert.equal(d.isPending, false);
});

test('Debouncer: a constant stream still runs within the max wait', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 50, 100);
  const started = Date.now();
  const stream = setInterval(() => d.trigger(), 5);
  try {
    await waitFor(() => runs >= 1, { what: 'a run during the stream', timeoutMs: 2000 });
    assert.ok(Date.now() - started < 1000);
  } finally {
    clearInterval(stream);
    d.cancel();
  }
});

test('Debouncer: cancel drops the pending run', async () => {
  let runs = 0;
  const d = new Debouncer(() => runs++, 10, 10);
  d.trigger();
  d.cancel();
  await assert.rejects(waitFor(() => runs > 0, { what: 'a cancelled run', timeoutMs: 100 }));
});
