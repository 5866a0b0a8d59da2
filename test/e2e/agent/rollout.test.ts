/**
 * Rolling updates end to end: a real agent (plain executor), real job files, real `sh` tasks.
 * A count = 3 group edited with max_parallel = 1 is replaced one allocation at a time, each once
 * its task has run for min_healthy_time; a version whose task fails is rolled back to the last
 * healthy one with auto_revert while the file still holds it.
 * Run alone: CI=true TEND_SKIP_TYPECHECK=1 node scripts/test.mjs test/e2e/agent/rollout.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readEnviron } from '../../../src/executor/proc.js';
import type { StoreDocument } from '../../../src/store/store.js';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';
import { createHarness, type Harness } from './harness.js';

const T = { timeoutMs: 30_000 };
const IDS = [0, 1, 2].map((i) => `web/g[${i}]/t`);

async function harness(t: import('node:test').TestContext): Promise<Harness> {
  const h = await createHarness();
  t.after(() => h.cleanup());
  return h;
}

function webJob(version: string, o: { args?: string; update?: string } = {}): string {
  return `job "web" {
  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "1s"
${o.update ?? '    healthy_deadline = "30s"'}
  }
  group "g" {
    count = 3
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "${o.args ?? 'exec sleep 1000'}"]
      }
      env {
        VERSION = "${version}"
      }
      kill_timeout = "2s"
    }
  }
}
`;
}

/** VERSION of each live task process, by instance id. */
function versions(h: Harness): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const byExec = new Map(Object.values(h.records()).map((r) => [r.execId, r.id]));
  for (const [execId, pids] of h.taskProcs()) {
    const id = byExec.get(execId);
    if (id) out.set(id, readEnviron(pids[0]).VERSION);
  }
  return out;
}

function runningCount(doc: StoreDocument | undefined): number {
  return IDS.filter((id) => doc?.tasks[id]?.state === 'running').length;
}

function dump(h: Harness): string {
  const doc = h.doc();
  return `records: ${JSON.stringify(IDS.map((id) => [id, doc?.tasks[id]?.state, doc?.tasks[id]?.error]))}\nrollout: ${JSON.stringify(doc?.rollouts?.web?.deployment)}\nlog tail:\n${h.agentLog().split('\n').slice(-40).join('\n')}`;
}

async function deploymentDone(h: Harness, status: string, what: string): Promise<void> {
  await waitFor(() => h.doc()?.rollouts?.web?.deployment?.status === status, { ...T, what }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
}

test('rollout e2e: count = 3, max_parallel = 1: an edit replaces one allocation at a time, never fewer than 2 running', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('web.hcl', webJob('1'));
  await waitFor(() => [...versions(h).values()].filter((v) => v === '1').length === 3, { ...T, what: '3 instances of version 1' });
  await deploymentDone(h, 'successful', 'first deployment successful');
  const first = h.doc()!.rollouts!.web.deployment!;

  await h.writeJob('web.hcl', webJob('2'));
  // Sampled every 100 ms from the edit to the end: the records and the live task processes.
  let samples = 0;
  let fewest = 3;
  let fewestProcs = 3;
  const sampler = setInterval(() => {
    samples++;
    fewest = Math.min(fewest, runningCount(h.doc()));
    fewestProcs = Math.min(fewestProcs, versions(h).size);
  }, 100);
  try {
    // Meanwhile the plan names the allocations that wait for their turn.
    await waitFor(async () => /waits for its turn in the rollout \(max_parallel 1\)/.test((await h.tendctl(['plan'])).stdout), { ...T, intervalMs: 50, what: 'plan shows the waiting allocations' });
    await waitFor(
      () => {
        const d = h.doc()?.rollouts?.web?.deployment;
        return d?.id !== first.id && d?.status === 'successful' && [...versions(h).values()].filter((x) => x === '2').length === 3;
      },
      { ...T, timeoutMs: 60_000, intervalMs: 100, what: 'all 3 on version 2 and the deployment successful' },
    ).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  } finally {
    clearInterval(sampler);
  }
  assert.ok(samples >= 20, `expected the rollout to take a few seconds of samples, got ${samples}`);
  assert.ok(fewest >= 2, `expected at least 2 of 3 running at every sample, got ${fewest}`);
  assert.ok(fewestProcs >= 2, `expected at least 2 of 3 task processes alive at every sample, got ${fewestProcs}`);

  // One at a time: each new instance started once the one before had run for min_healthy_time.
  const started = IDS.map((id) => Date.parse(h.records()[id].startedAt!)).sort((a, b) => a - b);
  assert.ok(started[1] - started[0] >= 1000 && started[2] - started[1] >= 1000, `expected starts at least 1s apart, got ${started.map((s) => s - started[0]).join(', ')} ms`);
  const d = h.doc()!.rollouts!.web.deployment!;
  assert.deepEqual(Object.keys(d.groups.g.allocs).sort(), ['0', '1', '2']);
  assert.ok(Object.values(d.groups.g.allocs).every((a) => a.healthyAt), JSON.stringify(d));
  const events = h.doc()!.events.filter((e) => e.job === 'web' && e.type === 'Deployment').map((e) => e.message);
  assert.ok(events.some((m) => m.startsWith(`Deployment ${d.id} started: version ${d.version}`) && m.includes('3 allocations, max_parallel 1')), events.join('\n'));
  assert.ok(events.includes(`Deployment completed successfully (deployment ${d.id}, version ${d.version})`), events.join('\n'));

  const st = await h.tendctl(['status', 'web']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /Deployment\s+= successful, 3\/3 healthy, max_parallel 1/);
  const dep = await h.tendctl(['deployment', 'status', 'web', '-json']);
  assert.equal(dep.code, 0, dep.stderr);
  assert.equal(JSON.parse(dep.stdout).status, 'successful');
});

test('rollout e2e: a version that fails is rolled back to the last healthy one with auto_revert; status says the file is failing', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const update = '    healthy_deadline = "5s"\n    auto_revert      = true';
  await h.writeJob('web.hcl', webJob('1', { update }));
  await waitFor(() => [...versions(h).values()].filter((v) => v === '1').length === 3, { ...T, what: '3 instances of version 1' });
  await deploymentDone(h, 'successful', 'version 1 stable');
  const stable = h.doc()!.rollouts!.web.stable!.version;

  // Version 2 exits at once: never healthy by healthy_deadline.
  const bad = webJob('2', { update, args: 'echo broken; exit 1' });
  await h.writeJob('web.hcl', bad);
  const revision = createHash('sha256').update(bad).digest('hex').slice(0, 12);
  await waitFor(() => h.doc()?.rollouts?.web?.reverted !== undefined, { ...T, what: 'the rollout reverted' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  let fewest = 3;
  await waitFor(
    () => {
      fewest = Math.min(fewest, versions(h).size);
      const d = h.doc()?.rollouts?.web?.deployment;
      return d?.rollback === true && d.status === 'successful' && [...versions(h).values()].filter((v) => v === '1').length === 3;
    },
    { ...T, intervalMs: 100, what: 'version 1 back on all 3 instances' },
  ).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.ok(fewest >= 2, `expected at least 2 of 3 task processes alive while reverting, got ${fewest}`);
  const rec = h.doc()!.rollouts!.web;
  assert.equal(rec.reverted!.fileRevision, revision);
  assert.equal(rec.deployment!.version, stable);
  const events = h.doc()!.events.filter((e) => e.job === 'web').map((e) => `${e.type}: ${e.message}`);
  assert.ok(events.some((m) => m.startsWith('Alloc Unhealthy: Allocation g[0] unhealthy: Task not running for min_healthy_time of 1s by healthy_deadline of 5s')), events.join('\n'));
  assert.ok(events.some((m) => m.startsWith(`Deployment: Failed due to unhealthy allocations - rolling back to job version ${stable}`)), events.join('\n'));

  const st = await h.tendctl(['status', 'web']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`reverted, file revision ${revision} is failing`));
  const all = await h.tendctl(['status']);
  assert.match(all.stdout, new RegExp(`web .*reverted, file revision ${revision} is failing`));

  // The file changes again: the revert ends and the new version rolls out.
  await h.writeJob('web.hcl', webJob('3', { update }));
  await waitFor(() => h.doc()?.rollouts?.web?.reverted === undefined && [...versions(h).values()].filter((v) => v === '3').length === 3, { ...T, what: 'version 3 on all 3' }).catch((e) =>
    assert.fail(`${e.message}\n${dump(h)}`),
  );
  await deploymentDone(h, 'successful', 'version 3 successful');
});

test('rollout e2e: an agent killed mid-rollout goes on where it was after its restart: replaced instances are not replaced again', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const update = '    healthy_deadline = "30s"';
  await h.writeJob('web.hcl', webJob('1', { update }).replace('min_healthy_time = "1s"', 'min_healthy_time = "2s"'));
  await waitFor(() => [...versions(h).values()].filter((v) => v === '1').length === 3, { ...T, what: '3 instances of version 1' });
  await deploymentDone(h, 'successful', 'version 1 stable');
  await h.writeJob('web.hcl', webJob('2', { update }).replace('min_healthy_time = "1s"', 'min_healthy_time = "2s"'));
  // Killed once the replaced instance is recorded running version 2 (its handle on disk), before it is healthy.
  const recordedV2 = () => {
    const r = h.records()[IDS[0]];
    return r?.state === 'running' && r.handle !== undefined && readEnviron(r.handle.pid).VERSION === '2';
  };
  await waitFor(recordedV2, { ...T, what: 'the first instance recorded on version 2' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  const firstPid = h.records()[IDS[0]].handle!.pid;
  await h.kill9();
  assert.deepEqual([...versions(h).values()].sort(), ['1', '1', '2'], 'tasks outlive the agent');
  let fewest = 3;
  const sampler = setInterval(() => (fewest = Math.min(fewest, versions(h).size)), 100);
  try {
    await h.start();
    await waitFor(() => h.doc()?.rollouts?.web?.deployment?.status === 'successful' && [...versions(h).values()].filter((v) => v === '2').length === 3, { ...T, what: 'the rollout finished after the restart' }).catch((e) =>
      assert.fail(`${e.message}\n${dump(h)}`),
    );
  } finally {
    clearInterval(sampler);
  }
  assert.ok(fewest >= 2, `expected at least 2 of 3 task processes alive across the restart, got ${fewest}`);
  assert.equal(h.records()[IDS[0]].handle!.pid, firstPid, 'the instance replaced before the kill was adopted, not replaced again');
  assert.deepEqual([...h.taskProcs().values()].map((p) => p.length), [1, 1, 1], 'one process per instance');
});
