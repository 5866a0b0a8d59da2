/**
 * A damaged or missing state store (issue 9 case 4): real agents (`bin/tend.js agent`) with
 * running tasks, on both executors (plain, and oci with runc and conmon as root). The agent is
 * killed with SIGKILL, `<state>/tend.json` is damaged — truncated halfway, emptied, garbage bytes,
 * valid JSON of another schema version (naming another node id), deleted — and the agent started
 * again. Every time:
 *   - every task runs on as the same process (pid and start time; with oci in its own cgroup),
 *     and its rebuilt record names that pid;
 *   - `tendctl status` shows every task running;
 *   - a "Store Rebuilt" event says what happened and how many tasks were adopted, and the agent
 *     logs it at warn;
 *   - nothing was garbage-collected, and no task was launched again.
 * Afterwards the agent still converges (a job edited → its tasks restart; a job deleted → its task
 * stops), and after cleanup no process, mount, cgroup or dir is left.
 * Run alone: CI=true node --import tsx --test --test-force-exit test/faults/store.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { JobView, TaskEvent } from '../../src/api/api.js';
import { requireConmon, requireLinux, requireRoot, requireRunc } from '../helpers/gates.js';
import { waitFor } from '../helpers/wait.js';
import { createHarness, job, running, type Harness } from '../e2e/agent/harness.js';
import { cgroupRoots, mountsUnder, procsMentioning } from '../e2e/agent/oci-cleanup.js';
import { isTask, taskPids } from './task-procs.js';

const RUNNING = { timeoutMs: 30_000 };

type Kind = 'plain' | 'oci';

function gates(t: TestContext, kind: Kind): boolean {
  if (!requireLinux(t)) return false;
  if (kind === 'plain') return true;
  return requireRoot(t) && requireRunc(t) && requireConmon(t);
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

async function statusTasks(h: Harness): Promise<Map<string, { state: string; pid?: number }>> {
  const r = await h.tendctl(['status', '-json', '-no-stats']);
  assert.equal(r.code, 0, r.stderr);
  const { jobs } = JSON.parse(r.stdout) as { jobs: JobView[] };
  return new Map(jobs.flatMap((j) => j.tasks.map((t) => [t.id, { state: t.state, pid: t.pid }] as const)));
}

async function events(h: Harness): Promise<TaskEvent[]> {
  const r = await h.tendctl(['events', '-json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TaskEvent);
}

/** The ways a store is found after a crash, and what the agent is expected to say about each. */
const DAMAGES: { name: string; outcome: 'corrupt' | 'missing'; damage(file: string): Promise<void> }[] = [
  { name: 'truncated halfway', outcome: 'corrupt', damage: async (f) => truncate(f, Math.floor(readFileSync(f).length / 2)) },
  { name: 'emptied', outcome: 'corrupt', damage: async (f) => truncate(f, 0) },
  { name: 'garbage bytes', outcome: 'corrupt', damage: (f) => writeFile(f, randomBytes(4096)) },
  {
    name: 'another schema version',
    outcome: 'corrupt',
    // Valid JSON naming another node id: the node-id file keeps this node's (and so every alloc id).
    damage: (f) => writeFile(f, JSON.stringify({ version: 99, nodeId: 'someone-else', seq: 5, tasks: { x: { id: 'x' } }, events: [] })),
  },
  { name: 'deleted', outcome: 'missing', damage: (f) => rm(f) },
];

async function run(t: TestContext, kind: Kind): Promise<void> {
  if (!gates(t, kind)) return;
  const h = await createHarness(kind === 'oci' ? { executor: 'oci' } : {});
  try {
    await h.start();
    await h.writeJob('a.hcl', job('a', { count: 2 }));
    await h.writeJob('b.hcl', job('b'));
    const ids = ['a/g[0]/t', 'a/g[1]/t', 'b/g[0]/t'];
    await waitFor(() => ids.every((id) => running(h, id) && isTask(taskPids(h).get(id)!)), { what: 'tasks running', ...RUNNING });
    const before = taskPids(h);
    const allocIds = Object.fromEntries(Object.values(h.records()).map((r) => [r.id, r.allocId]));
    const nodeId = h.doc()!.nodeId;
    let starts = 1;

    for (const d of DAMAGES) {
      const what = `${kind}, store ${d.name}`;
      await h.kill9();
      const file = path.join(h.stateDir, 'tend.json');
      await d.damage(file);
      await h.start();
      starts++;
      await waitFor(() => count(h.agentLog(), '"msg":"recovery done"') >= starts, { what: `${what}: recovery done`, ...RUNNING });
      // The rebuilt store reaches the disk on the next write; the first pass follows recovery.
      await waitFor(() => ids.every((id) => running(h, id)), { what: `${what}: records rebuilt`, ...RUNNING }).catch((err: Error) => {
        throw new Error(`${err.message}; agent log:\n${h.agentLog().split('\n').slice(-30).join('\n')}`);
      });

      assert.deepEqual(taskPids(h), before, `${what}: every rebuilt record names the same process`);
      for (const [id, p] of before) assert.ok(isTask(p), `${what}: task ${id} (pid ${p.pid}) is gone or was replaced`);
      assert.equal(h.doc()!.nodeId, nodeId, `${what}: the node id is kept`);
      assert.deepEqual(Object.fromEntries(Object.values(h.records()).map((r) => [r.id, r.allocId])), allocIds, `${what}: alloc ids are kept`);

      const status = await statusTasks(h);
      for (const id of ids) assert.deepEqual(status.get(id), { state: 'running', pid: before.get(id)!.pid }, `${what}: tendctl status of ${id}`);

      const rebuilt = (await events(h)).filter((e) => e.type === 'Store Rebuilt');
      assert.equal(rebuilt.length, 1, `${what}: one Store Rebuilt event`);
      assert.match(rebuilt[0].message, new RegExp(`^state store was ${d.outcome}\\b.*rebuilt from the executor: 3 tasks adopted, 0 ended`), what);

      // The log of this start only: a warning naming what happened, no gc, no launch.
      const log = h.agentLog().split('"msg":"agent starting"').pop()!;
      const warn = log.split('\n').find((l) => l.includes(`"msg":"state store was ${d.outcome} while tasks ran; records rebuilt from the executor"`));
      assert.ok(warn, `${what}: expected the warning in the agent log:\n${log}`);
      assert.equal(JSON.parse(warn).level, 40, `${what}: logged at warn`);
      assert.equal(count(log, '"msg":"task adopted without a store record"'), 3, what);
      assert.doesNotMatch(log, /leftover tasks removed|removed leftovers|leftover task removed/, `${what}: nothing was garbage-collected`);
      assert.doesNotMatch(log, /"msg":"task started"|"msg":"stopping task"/, `${what}: no task was started or stopped`);
    }

    // Still converging: an edited job restarts its tasks, a deleted job's task stops.
    const b = before.get('b/g[0]/t')!;
    await h.writeJob('a.hcl', job('a', { count: 2, args: 'exec sleep 1001' }));
    await rm(path.join(h.jobsDir, 'b.hcl'));
    await waitFor(
      () => {
        const now = taskPids(h);
        return ['a/g[0]/t', 'a/g[1]/t'].every((id) => now.has(id) && now.get(id)!.pid !== before.get(id)!.pid && isTask(now.get(id)!)) && !h.records()['b/g[0]/t'] && !isTask(b);
      },
      { what: 'a restarted with its new args, b stopped', ...RUNNING },
    );
    for (const id of ['a/g[0]/t', 'a/g[1]/t']) assert.ok(!isTask(before.get(id)!), `the old run of ${id} is gone`);
    const status = await statusTasks(h);
    assert.deepEqual([...status.keys()].sort(), ['a/g[0]/t', 'a/g[1]/t']);
    const evs = await events(h);
    assert.ok(evs.some((e) => e.task === 'a/g[0]/t' && e.type === 'Restart Signaled' && /args/.test(e.message)), 'a restarted because its args changed');
  } finally {
    await h.cleanup();
  }
  assert.deepEqual(procsMentioning(h.stateDir), [], `processes of ${h.stateDir} left`);
  assert.deepEqual(mountsUnder(h.root), [], `mounts under ${h.root} left`);
  if (h.cgroupParent) for (const root of cgroupRoots()) assert.equal(existsSync(path.join(root, h.cgroupParent)), false, `cgroup parent ${h.cgroupParent} left in ${root}`);
  assert.equal(existsSync(h.root), false, `${h.root} left`);
}

test('store: plain executor: a truncated, garbage, wrong-schema or deleted store is rebuilt from the tasks, which keep their pids', { timeout: 180_000 }, (t) => run(t, 'plain'));

test('store: oci executor: a truncated, garbage, wrong-schema or deleted store is rebuilt from the tasks, which keep their pids', { timeout: 240_000 }, (t) => run(t, 'oci'));
