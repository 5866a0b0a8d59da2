/**
 * The task worker driving a lifecycle group with the real order (lifecycle-order.ts) and a fake
 * executor: removal stops the group in waves and runs poststop tasks with their last spec before
 * anything is torn down; an edit restarts the whole group in order (poststop, then prestart again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandJobs } from '../../../src/reconcile/expand.js';
import { taskHooks } from '../../../src/agent/hooks.js';
import type { Job, Task } from '../../../src/jobspec/model.js';
import { waitFor } from '../../helpers/wait.js';
import { makeJob, makeTask } from '../agent/fixtures.js';
import { setup } from './worker-setup.js';

const batch = { attempts: 0, intervalMs: 60_000, delayMs: 0, mode: 'fail' as const };

function group(mainArgs = ['1000']): Task[] {
  return [
    makeTask('init', { lifecycle: { hook: 'prestart', sidecar: false }, restart: batch }),
    makeTask('side', { lifecycle: { hook: 'prestart', sidecar: true } }),
    makeTask('main', {}, { args: mainArgs }),
    makeTask('post', { lifecycle: { hook: 'poststop', sidecar: false }, restart: batch }),
  ];
}

async function started(t: Parameters<typeof setup>[0], jobs: Job[]) {
  const s = await setup(t, jobs, { hooks: taskHooks() });
  const idOf = (task: string) => [...s.desired.keys()].find((k) => k.endsWith(`/${task}`))!;
  const execOf = (task: string) => s.desired.get(idOf(task))!.execId;
  const state = (task: string) => s.store.get(idOf(task))?.state;
  const states = () => Object.fromEntries(['init', 'side', 'main', 'post'].map((n) => [n, state(n)]));
  const what = (w: string) => ({ what: `${w}: ${JSON.stringify(states())}`, timeoutMs: 5000 });
  s.worker.begin();
  await s.syncAll();
  await waitFor(() => state('init') === 'running', what('init running first'));
  assert.equal(state('main'), undefined, 'main waits for init');
  s.executor.exit(execOf('init'), 0);
  await waitFor(() => state('init') === 'complete' && state('side') === 'running' && state('main') === 'running', what('the group running'));
  assert.equal(state('post'), undefined, 'poststop waits for the end');
  return { ...s, idOf, execOf, state, states, what };
}

test('lifecycle worker: removing the group stops main, then the sidecar, runs poststop with its last spec, and only then tears every record down', async (t) => {
  const w = await started(t, [makeJob('a', { tasks: group() })]);
  const order: string[] = [];
  const launchesBefore = w.executor.launches.length;
  w.worker.setDesired(new Map());
  for (const id of ['init', 'side', 'main', 'post'].map(w.idOf)) w.worker.submit(id);
  await waitFor(() => w.executor.launches.length > launchesBefore, w.what('post launched'));
  for (const s of w.executor.shutdowns) order.push(s === w.execOf('main') ? 'main' : s === w.execOf('side') ? 'side' : s);
  assert.deepEqual(order, ['main', 'side'], 'main first, then the sidecar');
  assert.equal(w.executor.launches.at(-1), w.execOf('post'), 'the poststop task started after both');
  // while poststop runs, the stopped tasks keep their records (dead): nothing is torn down yet
  await waitFor(() => w.state('post') === 'running', w.what('post running'));
  assert.equal(w.state('main'), 'dead');
  assert.equal(w.state('side'), 'dead');
  w.executor.exit(w.execOf('post'), 0);
  await waitFor(() => w.store.all().length === 0, w.what('every record torn down once poststop completed'));
  await w.worker.idle();
  assert.equal(w.executor.launches.filter((l) => l === w.execOf('post')).length, 1, 'poststop ran once');
});

test('lifecycle worker: an edit of the main task restarts the whole group in order: stop waves, poststop, then init again before the new main', async (t) => {
  const w = await started(t, [makeJob('a', { tasks: group() })]);
  const oldMain = w.execOf('main');
  const edited = expandJobs([makeJob('a', { tasks: group(['2000']) })], w.store.nodeId);
  w.worker.setDesired(edited);
  const launches = () => w.executor.launches.slice(3);
  for (const id of edited.keys()) w.worker.submit(id);
  await waitFor(() => w.state('post') === 'running', w.what('poststop running after the old group stopped'));
  assert.deepEqual(w.executor.shutdowns.slice(0, 2), [oldMain, w.execOf('side')], 'main stopped before the sidecar');
  assert.equal(w.state('init'), 'complete', 'init is not run again before the old run is over');
  w.executor.exit(w.execOf('post'), 0);
  await waitFor(() => w.state('init') === 'running', w.what('init runs again in the new run'));
  assert.equal(w.state('main'), 'pending', 'the new main waits for init');
  assert.equal(w.state('post'), 'pending');
  w.executor.exit(w.execOf('init'), 0);
  await waitFor(() => w.state('main') === 'running' && w.state('side') === 'running', w.what('the new run up'));
  const names = launches().map((l) => ['init', 'side', 'main', 'post'].find((n) => w.execOf(n) === l));
  assert.deepEqual(names.slice(0, 2), ['post', 'init']);
  assert.deepEqual(names.slice(2).sort(), ['main', 'side']);
  const main = w.store.get(w.idOf('main'))!;
  assert.equal(main.hashes.restart, edited.get(w.idOf('main'))!.hashes.restart, 'main runs its new spec');
  assert.ok(main.events.some((e) => e.type === 'Restart Signaled' && /Group restarts/.test(e.message)), JSON.stringify(main.events));
});
