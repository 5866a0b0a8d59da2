/**
 * The agent end to end: a real `tend agent` subprocess (plain executor),
 * real job files, real `sh` tasks. Run alone: node --import tsx --test test/e2e/agent/agent.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';
import { createHarness, job, running, type Harness } from './harness.js';

const T = { timeoutMs: 20_000 };

async function harness(t: import('node:test').TestContext, opts?: Parameters<typeof createHarness>[0]): Promise<Harness> {
  const h = await createHarness(opts);
  t.after(() => h.cleanup());
  return h;
}

function dump(h: Harness): string {
  return `records: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error]))}\nlog tail:\n${h.agentLog().split('\n').slice(-30).join('\n')}`;
}

test('agent e2e: drop starts, args edit restarts, resources edit updates in place, count scales, delete stops everything', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const id = 'web/g[0]/t';
  await h.writeJob('web.hcl', job('web'));
  await waitFor(() => Boolean(running(h, id)), { ...T, what: `${id} running` }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  const pid1 = running(h, id)!.handle!.pid;
  assert.deepEqual(h.taskProcs().get(running(h, id)!.execId), [pid1]);

  // args → restart (new pid, old one gone).
  await h.writeJob('web.hcl', job('web', { args: 'exec sleep 1001' }));
  await waitFor(() => (running(h, id)?.handle?.pid ?? pid1) !== pid1, { ...T, what: 'restart after args change' });
  const pid2 = running(h, id)!.handle!.pid;
  assert.throws(() => process.kill(pid1, 0), { code: 'ESRCH' });

  // resources only → same pid, an Updated event.
  await h.writeJob('web.hcl', job('web', { args: 'exec sleep 1001', memory: 128 }));
  await waitFor(() => h.records()[id]?.resources.memoryMB === 128, { ...T, what: 'resources updated' });
  assert.equal(running(h, id)!.handle!.pid, pid2);
  assert.ok(h.records()[id].events.some((e) => e.type === 'Updated' && e.message.includes('resources.memory')));

  // count 1 → 3.
  await h.writeJob('web.hcl', job('web', { args: 'exec sleep 1001', memory: 128, count: 3 }));
  await waitFor(() => [0, 1, 2].every((i) => running(h, `web/g[${i}]/t`)), { ...T, what: '3 instances' });
  assert.equal(running(h, id)!.handle!.pid, pid2, 'index 0 untouched by the scale');
  assert.equal(h.taskProcs().size, 3);

  // A task that double-forks out of its process group, then the file goes.
  await h.writeJob('fork.hcl', job('fork', { args: '(setsid sleep 1002 &) ; exec sleep 1003' }));
  await waitFor(() => Boolean(running(h, 'fork/g[0]/t')), { ...T, what: 'fork running' });
  const forkExec = running(h, 'fork/g[0]/t')!.execId;
  await waitFor(() => (h.taskProcs().get(forkExec)?.length ?? 0) >= 2, { ...T, what: 'double-forked child' });
  await unlink(path.join(h.jobsDir, 'web.hcl'));
  await unlink(path.join(h.jobsDir, 'fork.hcl'));
  await waitFor(() => Object.keys(h.records()).length === 0, { ...T, what: 'records gone' });
  assert.deepEqual([...h.taskProcs().keys()], [], 'no task process left, even double-forked');
});

test('agent e2e: a broken edit keeps the task running and the error names file and line', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const id = 'web/g[0]/t';
  await h.writeJob('web.hcl', job('web'));
  await waitFor(() => Boolean(running(h, id)), { ...T, what: 'running' });
  const pid = running(h, id)!.handle!.pid;
  await h.writeJob('web.hcl', job('web').replace('count = 1', 'count = 1\n    bogus {'));
  await waitFor(() => (h.doc()?.events ?? []).some((e) => e.type === 'File Error'), { ...T, what: 'File Error event' });
  const ev = h.doc()!.events.find((e) => e.type === 'File Error')!;
  assert.match(ev.message, /web\.hcl:\d+:\d+/);
  assert.match(ev.message, /last good version in force/);
  assert.equal(running(h, id)?.handle?.pid, pid);
});

test('agent e2e: kill -9 mid-converge of 100 tasks, restart: each runs exactly once, running ones keep their pid', { timeout: 180_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start(['-concurrency', '4']);
  await h.writeJob('many.hcl', job('many', { count: 100 }));
  await waitFor(() => Object.values(h.records()).filter((r) => r.state === 'running').length >= 20, { timeoutMs: 60_000, what: '20 running' });
  await h.kill9();
  const before = new Map(Object.values(h.records()).filter((r) => r.handle).map((r) => [r.id, r.handle!.pid]));
  assert.ok(before.size < 100, `expected the kill mid-converge, got ${before.size} already running`);
  await h.start(['-concurrency', '4']);
  await waitFor(() => Object.values(h.records()).filter((r) => r.state === 'running').length === 100, { timeoutMs: 90_000, what: '100 running' }).catch((e) =>
    assert.fail(`${e.message}\n${dump(h)}`),
  );
  const procs = h.taskProcs();
  assert.equal(procs.size, 100, 'one marked task per instance');
  for (const [execId, pids] of procs) assert.equal(pids.length, 1, `${execId} runs ${pids.length} times`);
  const recs = h.records();
  for (const [id, pid] of before) assert.equal(recs[id].handle!.pid, pid, `${id} restarted needlessly`);
  assert.ok(before.size >= 20, `expected at least 20 adopted, got ${before.size}`);
});

test('agent e2e: a symlinked jobs dir swapped to a new tree converges', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t, { jobsLink: true });
  const v1 = path.join(h.root, 'rev1');
  const v2 = path.join(h.root, 'rev2');
  await mkdir(v1);
  await mkdir(v2);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path.join(v1, 'a.hcl'), job('a'));
  await writeFile(path.join(v2, 'b.hcl'), job('b'));
  await symlink(v1, h.jobsDir);
  await h.start();
  await waitFor(() => Boolean(running(h, 'a/g[0]/t')), { ...T, what: 'a running' });
  // git-sync style: a new link renamed over the old one.
  await symlink(v2, `${h.jobsDir}.new`);
  await rename(`${h.jobsDir}.new`, h.jobsDir);
  await waitFor(() => Boolean(running(h, 'b/g[0]/t')) && !h.records()['a/g[0]/t'], { ...T, what: 'b running and a gone' });
  assert.equal(h.taskProcs().size, 1);
  await rm(v1, { recursive: true });
});

test('agent e2e: SIGTERM leaves tasks running and the next start adopts them with the same pids', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('web.hcl', job('web', { count: 2 }));
  await waitFor(() => Boolean(running(h, 'web/g[0]/t') && running(h, 'web/g[1]/t')), { ...T, what: 'both running' });
  const pids = [0, 1].map((i) => running(h, `web/g[${i}]/t`)!.handle!.pid);
  assert.equal(await h.term(), 0);
  for (const pid of pids) process.kill(pid, 0); // still alive
  await h.start();
  await waitFor(() => h.agentLog().includes('recovery done'), { ...T, what: 'recovery' });
  assert.deepEqual(
    [0, 1].map((i) => running(h, `web/g[${i}]/t`)?.handle?.pid),
    pids,
  );
  assert.equal(h.taskProcs().size, 2);
});
