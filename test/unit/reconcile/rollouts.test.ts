import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createStore } from '../../../src/store/lowdb-store.js';
import type { Store } from '../../../src/store/store.js';
import type { Job, UpdateStrategy } from '../../../src/jobspec/model.js';
import { DEFAULT_UPDATE } from '../../../src/jobspec/update.js';
import { Rollouts } from '../../../src/reconcile/rollouts.js';
import { jobVersion } from '../../../src/reconcile/rollout-plan.js';
import { newRecord } from '../../../src/reconcile/transition.js';
import { expandJobs } from '../../../src/reconcile/expand.js';
import type { DesiredInstance } from '../../../src/reconcile/reconcile.js';
import type { FileState } from '../../../src/source/source.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

const T0 = 1_700_000_000_000;
const S: UpdateStrategy = { ...DEFAULT_UPDATE, maxParallel: 1, healthCheck: 'task_states', minHealthyTimeMs: 1000, healthyDeadlineMs: 5000, progressDeadlineMs: 60_000, autoRevert: true };

function web(label: string, o: { count?: number; update?: Partial<UpdateStrategy>; memoryMB?: number } = {}): Job {
  return makeJob('web', { count: o.count ?? 3, update: { ...S, ...o.update }, tasks: [makeTask('t', { env: { V: label }, resources: { cpu: 100, memoryMB: o.memoryMB ?? 300 } })] });
}

/** The job file's state as the source gives it (only its revision matters here). */
const file = (contentHash: string): FileState[] => [{ path: '/jobs/web.hcl', ok: true, diagnostics: [], jobs: [makeJob('web')], excluded: [], contentHash }];

interface Env {
  dir: string;
  store: Store;
  clock: { t: number; now(): number; random(): number };
  rollouts: Rollouts;
  changes: number;
  /** The desired set now (expand). */
  desired(job: Job): Map<string, DesiredInstance>;
  /** What the task worker would do: every desired instance runs as desired from now (`state`), records not desired go. */
  converge(job: Job, state?: 'running' | 'restarting' | 'failed'): void;
  /** The V label each index runs. */
  running(): string[];
  restart(): Promise<void>;
}

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<Env> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-rollouts-'));
  const logger = pino({ level: 'silent' });
  const clock = { t: T0, now: () => clock.t, random: () => 0.5 };
  const make = async () => {
    const store = createStore({ dataDir: dir });
    await store.load();
    return store;
  };
  const env: Env = {
    dir,
    store: await make(),
    clock,
    rollouts: undefined as unknown as Rollouts,
    changes: 0,
    desired: (job) => env.rollouts.expand([job]),
    converge(job, state = 'running') {
      const want = env.desired(job);
      for (const d of want.values()) {
        const r = env.store.get(d.id);
        if (r && r.hashes.restart === d.hashes.restart) continue;
        env.store.put({ ...newRecord(d), state, startedAt: new Date(clock.t).toISOString() });
      }
      for (const r of env.store.all()) if (!want.has(r.id)) env.store.delete(r.id);
    },
    running() {
      return [...env.store.all()].sort((a, b) => a.index - b.index).map((r) => Object.entries(r.hashes.fields).find(([k]) => k === 'env.V')?.[1] ?? '?');
    },
    async restart() {
      env.rollouts.close();
      await env.store.close();
      env.store = await make();
      env.rollouts = new Rollouts({ store: env.store, clock, logger, onChange: () => env.changes++ });
    },
  };
  env.rollouts = new Rollouts({ store: env.store, clock, logger, onChange: () => env.changes++ });
  t.after(async () => {
    env.rollouts.close();
    await env.store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return env;
}

/** The env.V hash of a version, to read what records run. */
const vHash = (job: Job) => [...expandJobs([job]).values()][0].hashes.fields['env.V'];

const tick = () => new Promise((r) => setImmediate(r));

/** First version running and stable. */
async function stableV1(env: Env, v1: Job): Promise<void> {
  env.rollouts.setJobs([v1], file('111111111111aaaa'));
  env.rollouts.begin();
  await tick();
  env.converge(v1);
  env.clock.t += 1000;
  env.rollouts.check();
  assert.equal(env.store.getRollout('web')?.deployment?.status, 'successful');
  assert.equal(env.store.getRollout('web')?.stable?.version, jobVersion(v1));
}

test('rollouts: an edit is placed one allocation at a time as each turns healthy; the deployment, the stable version and the events are kept', async (t) => {
  const env = await setup(t);
  const [v1, v2] = [web('1'), web('2')];
  await stableV1(env, v1);
  const [h1, h2] = [vHash(v1), vHash(v2)];
  env.rollouts.setJobs([v2], file('222222222222bbbb'));
  const d = env.store.getRollout('web')!.deployment!;
  assert.equal(d.status, 'running');
  assert.equal(d.version, jobVersion(v2));
  assert.equal(d.fileRevision, '222222222222');
  env.converge(v2);
  assert.deepEqual(env.running(), [h2, h1, h1], 'only the first allocation is replaced');
  env.clock.t += 500;
  env.rollouts.check();
  env.converge(v2);
  assert.deepEqual(env.running(), [h2, h1, h1], 'not healthy for min_healthy_time yet');
  env.clock.t += 500;
  const before = env.changes;
  env.rollouts.check();
  assert.equal(env.changes, before + 1, 'the agent is told to expand again');
  env.converge(v2);
  assert.deepEqual(env.running(), [h2, h2, h1]);
  env.clock.t += 1000;
  env.rollouts.check();
  env.converge(v2);
  env.clock.t += 1000;
  env.rollouts.check();
  assert.deepEqual(env.running(), [h2, h2, h2]);
  const rec = env.store.getRollout('web')!;
  assert.equal(rec.deployment!.status, 'successful');
  assert.equal(rec.stable!.version, jobVersion(v2));
  assert.deepEqual(Object.keys(rec.versions), [jobVersion(v2)], 'the old version is no longer needed');
  const events = env.store.events({ job: 'web' }).map((e) => `${e.type}: ${e.message}`);
  assert.ok(events.includes(`Deployment: Deployment ${d.id} started: version ${d.version} (file revision 222222222222), 3 allocations, max_parallel 1`), events.join('\n'));
  assert.equal(env.store.events({ job: 'web' }).filter((e) => e.type === 'Alloc Healthy' && e.details?.deployment === d.id).length, 3);
  assert.ok(events.includes(`Deployment: Deployment completed successfully (deployment ${d.id}, version ${d.version})`));
});

test('rollouts: an agent restart mid-rollout gives every allocation the version it had; the rollout goes on', async (t) => {
  const env = await setup(t);
  const [v1, v2] = [web('1'), web('2')];
  await stableV1(env, v1);
  env.rollouts.setJobs([v2], file('2'));
  env.converge(v2);
  env.clock.t += 1000;
  env.rollouts.check();
  const before = [...env.desired(v2).values()].map((x) => x.hashes.restart);
  await env.restart();
  env.rollouts.setJobs([v2], file('2'));
  assert.deepEqual([...env.desired(v2).values()].map((x) => x.hashes.restart), before, 'the same versions before recovery ends');
  env.rollouts.begin();
  await tick();
  env.converge(v2);
  for (let i = 0; i < 4; i++) {
    env.clock.t += 1000;
    env.rollouts.check();
    env.converge(v2);
  }
  assert.equal(env.store.getRollout('web')!.deployment!.status, 'successful');
  assert.deepEqual(env.running(), Array(3).fill(vHash(v2)));
});

test('rollouts: an edit during a rollout cancels it and rolls out the newest version; allocations keep what they run meanwhile', async (t) => {
  const env = await setup(t);
  const [v1, v2, v3] = [web('1'), web('2'), web('3')];
  await stableV1(env, v1);
  env.rollouts.setJobs([v2], file('2'));
  env.converge(v2);
  env.clock.t += 1000;
  env.rollouts.check();
  env.converge(v2); // 0 healthy on v2, 1 just placed on v2, 2 on v1
  const first = env.store.getRollout('web')!.deployment!;
  env.rollouts.setJobs([v3], file('3'));
  const rec = env.store.getRollout('web')!;
  assert.notEqual(rec.deployment!.id, first.id);
  assert.equal(rec.deployment!.version, jobVersion(v3));
  assert.deepEqual(Object.keys(rec.versions).sort(), [jobVersion(v1), jobVersion(v2), jobVersion(v3)].sort());
  const events = env.store.events({ job: 'web' }).map((e) => e.message);
  assert.ok(events.includes(`Cancelled due to newer version of job (deployment ${first.id}, version ${first.version})`), events.join('\n'));
  env.converge(v3);
  const [h1, h2, h3] = [v1, v2, v3].map(vHash);
  assert.equal(env.running().filter((h) => h === h3).length, 1, 'one at a time again');
  assert.deepEqual(env.running().filter((h) => h !== h3).sort(), [h1, h2].sort());
  for (let i = 0; i < 4; i++) {
    env.clock.t += 1000;
    env.rollouts.check();
    env.converge(v3);
  }
  assert.deepEqual(env.running(), [h3, h3, h3]);
});

test('rollouts: a failed rollout with auto_revert runs the stable version until the file changes; status keeps the failing revision', async (t) => {
  const env = await setup(t);
  const [v1, v2] = [web('1'), web('2')];
  await stableV1(env, v1);
  env.rollouts.setJobs([v2], file('bad000000000ffff'));
  env.converge(v2, 'restarting');
  env.clock.t += 5000;
  env.rollouts.check();
  const rec = env.store.getRollout('web')!;
  assert.equal(rec.reverted?.version, jobVersion(v2));
  assert.equal(rec.reverted?.fileRevision, 'bad000000000');
  assert.equal(rec.deployment!.rollback, true);
  assert.equal(rec.deployment!.version, jobVersion(v1));
  assert.deepEqual([...new Set([...env.desired(v2).values()].map((d) => d.job.groups[0].tasks[0].env.V))], ['1'], 'the stable job for every allocation');
  assert.equal(env.rollouts.target('web')!.groups[0].tasks[0].env.V, '1');
  const events = env.store.events({ job: 'web' }).map((e) => `${e.type}: ${e.message}`);
  assert.ok(events.some((e) => e.startsWith(`Deployment: Failed due to unhealthy allocations - rolling back to job version ${jobVersion(v1)}`)), events.join('\n'));
  env.converge(v2);
  env.clock.t += 1000;
  env.rollouts.check();
  assert.equal(env.store.getRollout('web')!.deployment!.status, 'successful');
  assert.deepEqual(env.running(), Array(3).fill(vHash(v1)));
  // An edit in place of the failing file: still the failing version, still reverted (its new revision shown).
  env.rollouts.setJobs([web('2', { memoryMB: 512 })], file('bad111111111ffff'));
  assert.equal(env.store.getRollout('web')!.reverted?.fileRevision, 'bad111111111');
  // An agent restart keeps the revert.
  await env.restart();
  env.rollouts.setJobs([v2], file('bad111111111ffff'));
  assert.deepEqual([...new Set([...env.desired(v2).values()].map((d) => d.job.groups[0].tasks[0].env.V))], ['1']);
  // A new version in the file ends it.
  const v3 = web('3');
  env.rollouts.setJobs([v3], file('3'));
  assert.equal(env.store.getRollout('web')!.reverted, undefined);
  assert.equal(env.store.getRollout('web')!.deployment!.version, jobVersion(v3));
});

test('rollouts: without auto_revert a failed rollout stops: the rest keep the old version; without a stable version there is none to revert to', async (t) => {
  const env = await setup(t);
  const v1 = web('1', { update: { autoRevert: false } });
  const v2 = web('2', { update: { autoRevert: false } });
  await stableV1(env, v1);
  env.rollouts.setJobs([v2], file('2'));
  env.converge(v2, 'failed');
  env.rollouts.check();
  const rec = env.store.getRollout('web')!;
  assert.equal(rec.deployment!.status, 'failed');
  assert.equal(rec.deployment!.description, 'Failed due to unhealthy allocations');
  assert.equal(rec.reverted, undefined);
  env.converge(v2);
  assert.deepEqual(env.running(), [vHash(v2), vHash(v1), vHash(v1)]);

  const fresh = await setup(t);
  fresh.rollouts.setJobs([web('x')], file('x'));
  fresh.rollouts.begin();
  await tick();
  fresh.converge(web('x'), 'failed');
  fresh.rollouts.check();
  assert.equal(fresh.store.getRollout('web')!.deployment!.description, 'Failed due to unhealthy allocations - no stable job version to auto revert to');
});

test('rollouts: tendctl deployment fail reverts with auto_revert; promote marks manual allocations healthy', async (t) => {
  const env = await setup(t);
  const [v1, v2] = [web('1'), web('2')];
  await stableV1(env, v1);
  env.rollouts.setJobs([v2], file('2'));
  env.converge(v2);
  env.rollouts.fail('web');
  const rec = env.store.getRollout('web')!;
  assert.equal(rec.reverted?.reason, 'Deployment marked as failed');
  assert.ok(env.store.events({ job: 'web' }).some((e) => e.message.startsWith(`Deployment marked as failed - rolling back to job version ${jobVersion(v1)}`)));
  assert.throws(() => env.rollouts.promote('web'), /expected a group with health_check = "manual"/);

  const m = await setup(t);
  const manual = (l: string) => web(l, { update: { healthCheck: 'manual' } });
  m.rollouts.setJobs([manual('1')], file('1'));
  m.rollouts.begin();
  await tick();
  m.converge(manual('1'));
  m.clock.t += 30_000;
  m.rollouts.check();
  assert.equal(m.store.getRollout('web')!.deployment!.status, 'running', 'manual: no health by itself, no healthy_deadline (5s)');
  assert.equal(m.rollouts.promote('web'), 3);
  assert.equal(m.store.getRollout('web')!.deployment!.status, 'successful');
  assert.throws(() => m.rollouts.fail('web'), /expected a running deployment, got successful/);
});

test('rollouts: an edit in place (resources) is no rollout; a count change during a rollout places the new allocations at once', async (t) => {
  const env = await setup(t);
  const v1 = web('1');
  await stableV1(env, v1);
  const id = env.store.getRollout('web')!.deployment!.id;
  const bigger = web('1', { memoryMB: 900 });
  env.rollouts.setJobs([bigger], file('1b'));
  assert.equal(env.store.getRollout('web')!.deployment!.id, id, 'no new deployment');
  assert.ok([...env.desired(bigger).values()].every((d) => d.task.resources.memoryMB === 900), 'every allocation gets the edit (in place)');
  assert.equal(env.store.getRollout('web')!.versions[jobVersion(v1)], bigger, 'the stable job follows the file');

  const v2 = web('2', { count: 5 });
  env.rollouts.setJobs([v2], file('2'));
  env.converge(v2);
  const h2 = vHash(v2);
  assert.deepEqual(env.running().map((h) => h === h2), [false, false, false, true, true], 'the two new ones, no old one until they are healthy');
});

test('rollouts: jobs without rollouts (batch, max_parallel = 0) expand as their files say and keep no record', async (t) => {
  const env = await setup(t);
  const batch = makeJob('b', { type: 'batch', count: 2 });
  const forced = web('1', { update: { maxParallel: 0 } });
  env.rollouts.setJobs([batch, forced], []);
  assert.deepEqual(env.store.rolloutAll(), []);
  assert.equal(env.rollouts.expand([batch, forced]).size, 5);
});
