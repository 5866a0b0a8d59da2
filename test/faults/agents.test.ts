/**
 * Faults between agents on one machine (issue 9): real agents
 * (`bin/tend.js agent -executor oci`), real runc and conmon, as root.
 *   - A second agent on the same data dir is refused (E_DATA_DIR_LOCKED,
 *     the holder's pid) and touches nothing: the first one's tasks keep
 *     their pids, its socket keeps answering.
 *   - An agent killed with SIGKILL leaves no lock behind: the next one starts
 *     and adopts the tasks (conmon and the log monitor, which outlive the
 *     agent, do not hold the lock).
 *   - Two agents with two data dirs and the default cgroup parent: starting
 *     or restarting one never touches the other's tasks. Nor with one
 *     explicit cgroup parent for both: startup gc acts only on the ids an
 *     agent recorded in its own data dir.
 * Leftovers (processes, mounts, cgroups) are checked after every test.
 * Run alone: CI=true node --import tsx --test --test-force-exit test/faults/agents.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { NodeView } from '../../src/api/api.js';
import { requireConmon, requireLinux, requireRoot, requireRunc } from '../helpers/gates.js';
import { waitFor } from '../helpers/wait.js';
import { createHarness, job, running, type Harness } from '../e2e/agent/harness.js';
import { cgroupRoots, mountsUnder, procsMentioning } from '../e2e/agent/oci-cleanup.js';
import { isTask, taskPids, type Proc } from './task-procs.js';

const RUNNING = { timeoutMs: 30_000 };

function gates(t: TestContext): boolean {
  return requireLinux(t) && requireRoot(t) && requireRunc(t) && requireConmon(t);
}

/** Start `jobs` on `h` and wait until every instance runs with a live process. */
async function runJobs(h: Harness, jobs: Record<string, number>): Promise<Map<string, Proc>> {
  for (const [name, count] of Object.entries(jobs)) await h.writeJob(`${name}.hcl`, job(name, { count }));
  const ids = Object.entries(jobs).flatMap(([name, count]) => Array.from({ length: count }, (_, i) => `${name}/g[${i}]/t`));
  await waitFor(() => ids.every((id) => running(h, id) && isTask(taskPids(h).get(id)!)), { what: `${ids.join(', ')} running`, ...RUNNING }).catch((err: Error) => {
    throw new Error(`${err.message}; agent log:\n${h.agentLog().split('\n').slice(-40).join('\n')}`);
  });
  return taskPids(h);
}

/** Every task of `before` still runs as the same process (pid and start time), and the agent records the same. */
function assertUnchanged(h: Harness, before: Map<string, Proc>, what: string): void {
  assert.ok(before.size > 0, `${what}: no tasks to compare`);
  assert.deepEqual(taskPids(h), before, `${what}: the agent's records changed`);
  for (const [id, p] of before) assert.ok(isTask(p), `${what}: task ${id} (pid ${p.pid}) is gone, was replaced or left ${p.cgroup}`);
}

async function nodeView(h: Harness): Promise<NodeView> {
  const r = await h.tendctl(['node', '-json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as NodeView;
}

/** Clean up (sharers before owners), then prove nothing is left: processes, mounts, cgroup parents, dirs. */
async function cleanupAll(hs: Harness[]): Promise<void> {
  for (const h of hs) await h.cleanup();
  for (const h of hs) {
    assert.deepEqual(procsMentioning(h.stateDir), [], `processes of ${h.stateDir} left`);
    assert.deepEqual(mountsUnder(h.root), [], `mounts under ${h.root} left`);
    if (h.cgroupParent) for (const root of cgroupRoots()) assert.equal(existsSync(path.join(root, h.cgroupParent)), false, `cgroup parent ${h.cgroupParent} left in ${root}`);
    assert.equal(existsSync(h.root), false, `${h.root} left`);
  }
}

test('agents: a second agent on the same data dir is refused with E_DATA_DIR_LOCKED and the holder pid, and touches nothing', { timeout: 120_000 }, async (t) => {
  if (!gates(t)) return;
  const first = await createHarness({ executor: 'oci', cgroupParent: 'default' });
  // Another jobs dir (empty: an agent that got in would stop every task) and another socket.
  const other = await createHarness({ executor: 'oci', shareStateWith: first });
  // The same socket as the first agent.
  const same = await createHarness({ executor: 'oci', shareStateWith: first, socket: first.socket });
  try {
    await first.start();
    const before = await runJobs(first, { a: 2 });
    const holder = first.agent!.pid!;
    const store = readFileSync(path.join(first.stateDir, 'tend.json'), 'utf8');

    for (const [name, h] of [['another jobs dir and socket', other], ['the same socket', same]] as const) {
      const res = await h.runToExit();
      assert.notEqual(res.code, 0, `${name}: expected a non-zero exit, got ${res.code}:\n${res.output}`);
      assert.match(res.output, /\[E_DATA_DIR_LOCKED\]/, `${name}: ${res.output}`);
      assert.match(res.output, new RegExp(`another tend agent \\(pid ${holder}\\) holds ${first.stateDir}/agent\\.lock`), `${name}: ${res.output}`);
      assert.doesNotMatch(res.output, /task adopted|executor selected|agent starting/, `${name}: the refused agent went past the lock`);
      assertUnchanged(first, before, name);
    }
    assert.equal(existsSync(other.socket), false, 'the refused agent made no socket');
    assert.equal(readFileSync(path.join(first.stateDir, 'tend.json'), 'utf8'), store, 'the store is as the first agent left it');
    assert.equal(readFileSync(path.join(first.stateDir, 'agent.lock'), 'utf8'), `${holder}\n`);
    // The first agent still answers on its socket and still runs its tasks.
    const st = await first.tendctl(['status', '-json']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(first.agent!.exitCode, null, 'the first agent is still running');
    assertUnchanged(first, before, 'after both refusals');
  } finally {
    await cleanupAll([same, other, first]);
  }
});

test('agents: after the agent is killed with SIGKILL, the next one is not blocked by its lock and adopts the tasks', { timeout: 120_000 }, async (t) => {
  if (!gates(t)) return;
  const h = await createHarness({ executor: 'oci', cgroupParent: 'default' });
  try {
    await h.start();
    const before = await runJobs(h, { a: 2 });
    const dead = h.agent!.pid!;
    await h.kill9();
    // What outlives the agent: conmon per task and the log monitor, all naming the data dir.
    assert.ok(procsMentioning(h.stateDir).length >= 3, 'expected conmon and the log monitor to outlive the agent');
    assert.equal(readFileSync(path.join(h.stateDir, 'agent.lock'), 'utf8'), `${dead}\n`, 'the dead agent pid is still in the file');
    await h.start();
    await waitFor(() => h.agentLog().includes('"msg":"recovery done"') && h.agentLog().split('"msg":"task adopted"').length - 1 >= before.size, { what: 'tasks adopted', ...RUNNING });
    assert.equal(readFileSync(path.join(h.stateDir, 'agent.lock'), 'utf8'), `${h.agent!.pid}\n`);
    assertUnchanged(h, before, 'after the restart');
    assert.doesNotMatch(h.agentLog(), /leftover tasks removed|removed leftovers/, 'nothing was garbage-collected');
  } finally {
    await cleanupAll([h]);
  }
});

test('agents: two agents with two data dirs and the default cgroup parent leave each other\'s tasks alone', { timeout: 180_000 }, async (t) => {
  if (!gates(t)) return;
  const a = await createHarness({ executor: 'oci', cgroupParent: 'default' });
  const b = await createHarness({ executor: 'oci', cgroupParent: 'default' });
  try {
    await a.start();
    const aTasks = await runJobs(a, { a: 2 });
    await b.start();
    const bTasks = await runJobs(b, { b: 2 });
    assertUnchanged(a, aTasks, 'a after b started');

    // Each agent names its own parent, one per data dir, and its tasks live under it.
    const [na, nb] = [await nodeView(a), await nodeView(b)];
    assert.equal(na.cgroupParent, a.cgroupParent);
    assert.equal(nb.cgroupParent, b.cgroupParent);
    assert.match(na.cgroupParent!, /^tend-[0-9a-f]{12}$/);
    assert.notEqual(na.cgroupParent, nb.cgroupParent);
    assert.ok(a.agentLog().includes(`"cgroupParent":"${a.cgroupParent}"`), 'the startup log names the cgroup parent');
    const text = await a.tendctl(['node', '-no-color']);
    assert.match(text.stdout, new RegExp(`^Cgroup Parent += ${a.cgroupParent}$`, 'm'), text.stdout + text.stderr);
    for (const p of aTasks.values()) assert.ok(p.cgroup!.startsWith(`/${na.cgroupParent}/`) && isTask(p));
    for (const p of bTasks.values()) assert.ok(p.cgroup!.startsWith(`/${nb.cgroupParent}/`) && isTask(p));

    // Restart b, crashed and then cleanly: a's tasks never move; b adopts its own.
    await b.kill9();
    await b.start();
    await waitFor(() => b.agentLog().split('"msg":"recovery done"').length - 1 >= 2, { what: 'b recovered', ...RUNNING });
    assertUnchanged(b, bTasks, 'b after its kill -9 and restart');
    assertUnchanged(a, aTasks, 'a after b was restarted');
    assert.equal(await b.term(), 0);
    await b.start();
    await waitFor(() => b.agentLog().split('"msg":"recovery done"').length - 1 >= 3, { what: 'b recovered again', ...RUNNING });
    assertUnchanged(b, bTasks, 'b after SIGTERM and restart');
    assertUnchanged(a, aTasks, 'a after b was stopped and started');

    // And the other way round.
    await a.kill9();
    await a.start();
    await waitFor(() => a.agentLog().split('"msg":"recovery done"').length - 1 >= 2, { what: 'a recovered', ...RUNNING });
    assertUnchanged(a, aTasks, 'a after its restart');
    assertUnchanged(b, bTasks, 'b after a was restarted');
  } finally {
    await cleanupAll([b, a]);
  }
});

test('agents: two agents with two data dirs and one explicit cgroup parent: startup gc acts only on each agent\'s own tasks', { timeout: 120_000 }, async (t) => {
  if (!gates(t)) return;
  const name = `tend-e2e-shared-${randomBytes(4).toString('hex')}`;
  const a = await createHarness({ executor: 'oci', cgroupParent: { name } });
  const b = await createHarness({ executor: 'oci', cgroupParent: { name } });
  try {
    await a.start();
    const aTasks = await runJobs(a, { a: 2 });
    await b.start();
    const bTasks = await runJobs(b, { b: 1 });
    assert.equal((await nodeView(b)).cgroupParent, name);
    assertUnchanged(a, aTasks, 'a after b started under the same parent');
    await a.kill9();
    await a.start();
    await waitFor(() => a.agentLog().split('"msg":"recovery done"').length - 1 >= 2, { what: 'a recovered', ...RUNNING });
    assertUnchanged(a, aTasks, 'a after its restart');
    assertUnchanged(b, bTasks, 'b after a restarted under the same parent');
  } finally {
    await cleanupAll([b, a]);
  }
});
