import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { emptyHooks, type PrestartContext } from '../../../src/reconcile/hooks.js';
import { TASK_EVENT } from '../../../src/store/store.js';
import { waitFor } from '../../helpers/wait.js';
import { makeJob, makeTask } from '../agent/fixtures.js';
import { setup } from './worker-setup.js';

const types = (events: { type: string }[]) => events.map((e) => e.type);

test('task worker: before begin() inputs are only recorded; after, a sync starts the task and an exit comes back through the queue', async (t) => {
  const { store, executor, worker, desired, syncAll } = await setup(t, [makeJob('a', { tasks: [makeTask('t', { restart: { attempts: 2, intervalMs: 60_000, delayMs: 0, mode: 'fail' } })] })]);
  const [id] = desired.keys();
  await syncAll();
  assert.equal(store.get(id), undefined, 'nothing acts before begin()');
  worker.begin();
  await syncAll();
  assert.equal(store.get(id)!.state, 'running');
  const execId = desired.get(id)!.execId;
  executor.exit(execId, 3);
  // delay 0: the exit, the policy and the restart all happen in the worker, with no pass.
  await waitFor(() => executor.launches.length === 2 && store.get(id)?.state === 'running', { what: 'restart by the policy' });
  assert.equal(store.get(id)!.restarts, 1);
  assert.deepEqual(types(store.get(id)!.events), ['Received', 'Started', 'Terminated', 'Restarting', 'Started']);
  assert.ok(executor.cleanups.includes(execId), 'the ended run was cleaned up before the new one started');
});

test('task worker: a restart delay is a timer of the worker; the task starts when it fires', async (t) => {
  const { store, executor, worker, desired, syncAll } = await setup(t, [makeJob('a', { tasks: [makeTask('t', { restart: { attempts: 2, intervalMs: 60_000, delayMs: 80, mode: 'fail' } })] })]);
  const [id] = desired.keys();
  worker.begin();
  await syncAll();
  executor.exit(desired.get(id)!.execId, 1);
  await waitFor(() => store.get(id)?.state === 'restarting', { what: 'restarting' });
  await waitFor(() => store.get(id)?.state === 'running' && executor.launches.length === 2, { what: 'restart after the delay' });
});

test('task worker: an operator signal and restart go through the queue; a signal to a task not running is refused', async (t) => {
  const { store, executor, worker, desired, syncAll } = await setup(t, [makeJob('a')]);
  const [id] = desired.keys();
  worker.begin();
  await syncAll();
  await worker.signal(id, 'SIGHUP');
  assert.ok(types(store.get(id)!.events).includes('Signaled'));
  const pid = store.get(id)!.handle!.pid;
  worker.submit(id, { type: 'restart-requested' });
  await worker.idle();
  assert.notEqual(store.get(id)!.handle!.pid, pid);
  assert.equal(store.get(id)!.restarts, 1);
  assert.deepEqual(types(store.get(id)!.events).slice(-4), ['Restart Signaled', 'Killing', 'Killed', 'Started']);
  assert.equal(executor.shutdowns.length, 1);
  await assert.rejects(worker.signal('a/g[0]/nope', 'SIGHUP'), /task a\/g\[0\]\/nope is not running \(pending\); a signal needs a running task \(tendctl status a\/g\[0\]\/nope says why\)$/);
});

test('task worker: an exit that arrives while a stop is in flight is the stop\'s, not a crash: no restart, record gone', async (t) => {
  const { store, executor, worker, desired, syncAll } = await setup(t, [makeJob('a')]);
  const [id] = desired.keys();
  worker.begin();
  await syncAll();
  worker.setDesired(new Map());
  executor.exit(desired.get(id)!.execId, 1);
  worker.submit(id);
  await worker.idle();
  assert.equal(store.get(id), undefined);
  assert.equal(executor.launches.length, 1);
});

test('task worker: prestart hooks get the instance, dirs, user, an emitter and a signal; their events land on the task', async (t) => {
  const seen: PrestartContext[] = [];
  const hooks = emptyHooks();
  hooks.prestart.push({
    name: 'artifacts',
    async prestart(ctx) {
      seen.push(ctx);
      ctx.emit(TASK_EVENT.DownloadingArtifacts, 'Client is downloading artifacts');
    },
  });
  const { store, worker, desired, syncAll, dir } = await setup(t, [makeJob('a')], { hooks });
  const [id] = desired.keys();
  worker.begin();
  await syncAll();
  assert.equal(seen.length, 1);
  assert.equal(seen[0].instance.id, id);
  assert.equal(seen[0].dirs.localDir, path.join(dir, 'alloc', desired.get(id)!.allocId, 't', 'local'));
  assert.equal(seen[0].user, undefined);
  assert.equal(seen[0].signal.aborted, false);
  assert.deepEqual(types(store.get(id)!.events), ['Received', 'Downloading Artifacts', 'Started']);
});

test('task worker: a failing prestart hook is a failed start: Setup Failure, the restart policy, nothing launched', async (t) => {
  const hooks = emptyHooks();
  hooks.prestart.push({
    name: 'artifacts',
    async prestart(ctx) {
      ctx.emit(TASK_EVENT.FailedArtifactDownload, 'failed to download https://example.invalid/x');
      throw new Error('failed to download artifact');
    },
  });
  const { store, executor, worker, desired, syncAll } = await setup(t, [makeJob('a')], { hooks });
  const [id] = desired.keys();
  worker.begin();
  await syncAll();
  const r = store.get(id)!;
  assert.equal(r.state, 'restarting');
  assert.equal(r.error, 'failed to start task: failed to download artifact');
  assert.deepEqual(types(r.events), ['Received', 'Failed Artifact Download', 'Setup Failure', 'Restarting']);
  assert.equal(executor.launches.length, 0);
});

test('task worker: the group order holds a task’s start back until a task of its allocation changes state; stop and teardown hooks run on removal', async (t) => {
  const calls: string[] = [];
  const hooks = emptyHooks();
  // "main" waits until "init" runs (a stand-in for lifecycle ordering).
  hooks.order = {
    orders: () => true,
    step: ({ instance, peers, leaving }) =>
      !leaving && instance.task.name === 'main' && !peers.some((r) => r.task === 'init' && r.state === 'running') ? { kind: 'act', noStart: 'waiting for init' } : { kind: 'act' },
  };
  hooks.stop.push({ name: 's', stop: async ({ record }) => void calls.push(`stop ${record.task}`) });
  hooks.teardown.push({ name: 'td', teardown: async ({ record, lastOfAlloc }) => void calls.push(`teardown ${record.task} ${lastOfAlloc}`) });
  const { store, worker, desired } = await setup(t, [makeJob('a', { tasks: [makeTask('main'), makeTask('init')] })], { hooks });
  const main = [...desired.keys()].find((k) => k.endsWith('/main'))!;
  const init = [...desired.keys()].find((k) => k.endsWith('/init'))!;
  worker.begin();
  worker.submit(main);
  await worker.idle();
  assert.equal(store.get(main), undefined, 'held back: no record, no launch');
  worker.submit(init);
  await waitFor(() => store.get(main)?.state === 'running', { what: 'main started once init runs' });
  worker.setDesired(new Map());
  worker.submit(main);
  worker.submit(init);
  await worker.idle();
  assert.deepEqual(calls.filter((c) => c.startsWith('stop')).sort(), ['stop init', 'stop main']);
  assert.equal(calls.filter((c) => c.startsWith('teardown') && c.endsWith('true')).length, 1, 'one of them is the last of its allocation');
  assert.equal(store.all().length, 0);
});

test('task worker: close() aborts prestart hooks in flight and stopTasks stops every task', async (t) => {
  let aborted = false;
  const hooks = emptyHooks();
  hooks.prestart.push({
    name: 'slow',
    prestart: ({ instance, signal }) =>
      instance.task.name === 'slow'
        ? new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted')))))
        : Promise.resolve(),
  });
  const { store, executor, worker, desired } = await setup(t, [makeJob('a', { tasks: [makeTask('t'), makeTask('slow')] })], { hooks });
  worker.begin();
  for (const id of desired.keys()) worker.submit(id);
  await waitFor(() => executor.running().length === 1, { what: 'the fast task running' });
  await worker.close({ stopTasks: true, drainMs: 1000 });
  assert.ok(aborted);
  assert.deepEqual(executor.running(), []);
  assert.equal(store.all().filter((r) => r.handle).length, 0);
});
