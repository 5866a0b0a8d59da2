import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_UPDATE } from '../../../src/jobspec/update.js';
import type { UpdateStrategy } from '../../../src/jobspec/model.js';
import type { Deployment, DeploymentGroup } from '../../../src/store/store.js';
import { UNKNOWN_SPEC } from '../../../src/store/store.js';
import { allocVersion, jobVersion, stepDeployment, stepGroup, UNKNOWN_VERSION, type AllocNow, type GroupStepInput } from '../../../src/reconcile/rollout-plan.js';
import { taskStatesHealth, combineHealth } from '../../../src/reconcile/rollout-health.js';
import { computeHashes } from '../../../src/reconcile/spec-hash.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

const S: UpdateStrategy = { ...DEFAULT_UPDATE, maxParallel: 1, minHealthyTimeMs: 1000, healthyDeadlineMs: 5000, progressDeadlineMs: 60_000 };
const T0 = 1_700_000_000_000;

const old = (index: number, live = true): AllocNow => ({ index, version: 'v1', live, health: { status: 'pending', reason: 'old' } });
const onTarget = (index: number, health: AllocNow['health'], live = true): AllocNow => ({ index, version: 'v2', live, health });
const allocs = (...a: AllocNow[]) => new Map(a.map((x) => [x.index, x]));

function step(o: Partial<GroupStepInput> & { allocs: Map<number, AllocNow> }) {
  return stepGroup({ now: T0, target: 'v2', count: 3, strategy: S, known: new Set(['v1', 'v2']), state: undefined, running: true, ...o });
}

/**
 * Runs a group's rollout step by step as the worker would carry it out: a placed allocation stops
 * (one step down), then runs the target from that moment. `fail` indexes never turn healthy.
 * Returns the fewest allocations serving at any step and the final step.
 */
function simulate(o: { count: number; strategy: UpdateStrategy; fail?: number[]; stepMs?: number; maxSteps?: number }) {
  const state = new Map<number, { version: string; live: boolean; since?: number }>();
  for (let i = 0; i < o.count; i++) state.set(i, { version: 'v1', live: true });
  let group: DeploymentGroup | undefined;
  let now = T0;
  let fewest = o.count;
  let last!: ReturnType<typeof stepGroup>;
  const order: number[] = [];
  for (let n = 0; n < (o.maxSteps ?? 200); n++) {
    const a = new Map<number, AllocNow>();
    for (const [index, s] of state) {
      const failing = o.fail?.includes(index) && s.version === 'v2';
      a.set(index, { index, version: s.version, live: s.live, health: s.since !== undefined && !failing ? { status: 'healthy', since: s.since } : { status: 'pending', reason: 'starting' } });
    }
    last = stepGroup({ now, target: 'v2', count: o.count, strategy: o.strategy, known: new Set(['v1', 'v2']), allocs: a, state: group, running: true });
    group = last.state;
    // The worker: a newly assigned allocation stops now and runs the target from the next step on.
    for (const [index, v] of last.assign) {
      const s = state.get(index)!;
      if (v === 'v2' && s.version === 'v1') {
        order.push(index);
        state.set(index, { version: 'v2', live: false });
      } else if (s.version === 'v2' && !s.live) {
        state.set(index, { version: 'v2', live: !o.fail?.includes(index), since: o.fail?.includes(index) ? undefined : now });
      }
    }
    fewest = Math.min(fewest, [...state.values()].filter((s) => s.live).length);
    if (last.done || last.failed) break;
    now += o.stepMs ?? 250;
  }
  return { fewest, last, order, now };
}

test('rollout plan: versions change with what needs new processes, not with resources, kill_timeout, restart policy or count', () => {
  const base = makeJob('web', { count: 3 });
  const v = jobVersion(base);
  assert.match(v, /^[0-9a-f]{8}$/);
  assert.equal(jobVersion(makeJob('web', { count: 5 })), v, 'count');
  assert.equal(jobVersion(makeJob('web', { tasks: [makeTask('t', { resources: { cpu: 500, memoryMB: 900 } })] })), v, 'resources (in place)');
  assert.equal(jobVersion(makeJob('web', { tasks: [makeTask('t', { killTimeoutMs: 1, restart: { attempts: 9, intervalMs: 1, delayMs: 1, mode: 'delay' } })] })), v, 'kill_timeout, restart');
  assert.notEqual(jobVersion(makeJob('web', { tasks: [makeTask('t', {}, { args: ['2'] })] })), v, 'args');
  assert.notEqual(jobVersion(makeJob('web', { tasks: [makeTask('t', { env: { A: '1' } })] })), v, 'env');
});

test('rollout plan: an allocation runs the first version its records fit, target first; none is unknown; no record is undefined', () => {
  const v1 = makeJob('web');
  const v2 = makeJob('web', { tasks: [makeTask('t', { env: { A: '2' } })] });
  const g1 = v1.groups[0];
  const rec1 = { task: 't', hashes: computeHashes(v1, g1, g1.tasks[0]) };
  const cands = [{ version: 'v2', job: v2 }, { version: 'v1', job: v1 }];
  assert.equal(allocVersion('g', [rec1], cands), 'v1');
  assert.equal(allocVersion('g', [{ task: 't', hashes: computeHashes(v2, v2.groups[0], v2.groups[0].tasks[0]) }], cands), 'v2');
  assert.equal(allocVersion('g', [{ task: 't', hashes: { ...rec1.hashes, restart: UNKNOWN_SPEC } }], cands), UNKNOWN_VERSION);
  assert.equal(allocVersion('g', [{ task: 'gone', hashes: rec1.hashes }], cands), UNKNOWN_VERSION, 'a task the versions lack');
  assert.equal(allocVersion('g', [], cands), undefined);
});

test('rollout plan: task_states health: running since the last start; ephemeral tasks may have completed; a failed task is unhealthy', () => {
  const g = makeJob('web', {
    tasks: [
      makeTask('init', { lifecycle: { hook: 'prestart', sidecar: false } }),
      makeTask('main'),
      makeTask('side', { lifecycle: { hook: 'poststart', sidecar: true } }),
      makeTask('bye', { lifecycle: { hook: 'poststop', sidecar: false } }),
    ],
  }).groups[0];
  const at = (s: number) => new Date(T0 + s * 1000).toISOString();
  assert.deepEqual(
    taskStatesHealth(g, [
      { task: 'init', state: 'complete', startedAt: at(0) },
      { task: 'main', state: 'running', startedAt: at(2) },
      { task: 'side', state: 'running', startedAt: at(5) },
    ]),
    { status: 'healthy', since: T0 + 5000 },
  );
  assert.deepEqual(taskStatesHealth(g, [{ task: 'init', state: 'complete' }, { task: 'main', state: 'running', startedAt: at(2) }]), { status: 'pending', reason: 'task "side" is not started' });
  assert.deepEqual(taskStatesHealth(g, [{ task: 'main', state: 'restarting' }]).status, 'pending');
  assert.deepEqual(taskStatesHealth(g, [{ task: 'main', state: 'failed' }]), { status: 'unhealthy', reason: 'Unhealthy because of failed task "main"' });
  assert.deepEqual(combineHealth({ status: 'healthy', since: 5 }, { status: 'healthy', since: 9 }), { status: 'healthy', since: 9 });
  assert.deepEqual(combineHealth({ status: 'healthy', since: 5 }, { status: 'pending', reason: 'check "http" critical' }), { status: 'pending', reason: 'check "http" critical' });
});

test('rollout plan: all healthy: max_parallel 1 replaces one at a time, each after min_healthy_time; never more than one down', () => {
  const r = simulate({ count: 3, strategy: S });
  assert.equal(r.last.done, true);
  assert.equal(r.last.failed, undefined);
  assert.deepEqual(r.order, [0, 1, 2]);
  assert.equal(r.fewest, 2);
  // Each placement waits for the one before to be healthy for min_healthy_time: at least 3 × 1 s.
  assert.ok(r.now - T0 >= 3000, `took ${r.now - T0} ms`);
  assert.ok(Object.values(r.last.state.allocs).every((a) => a.healthyAt && !a.unhealthy));
  const wide = simulate({ count: 5, strategy: { ...S, maxParallel: 2 } });
  assert.equal(wide.last.done, true);
  assert.equal(wide.fewest, 3, 'max_parallel 2 of 5: at least 3 serve');
});

test('rollout plan: the first step places max_parallel allocations; the next waits while they are not healthy', () => {
  const first = step({ allocs: allocs(old(0), old(1), old(2)) });
  assert.deepEqual(first.placed, [0]);
  assert.deepEqual([...first.assign], [[0, 'v2'], [1, 'v1'], [2, 'v1']]);
  const wait = step({ now: T0 + 500, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 + 200 }), old(1), old(2)), state: first.state });
  assert.deepEqual(wait.placed, []);
  assert.deepEqual(wait.healthy, []);
  assert.equal(wait.wakeAt, T0 + 1200, 'when min_healthy_time has passed');
  const next = step({ now: T0 + 1200, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 + 200 }), old(1), old(2)), state: wait.state });
  assert.deepEqual(next.healthy, [0]);
  assert.deepEqual(next.placed, [1]);
  assert.equal(next.state.allocs['0'].healthyAt, new Date(T0 + 1200).toISOString());
});

test('rollout plan: an allocation not healthy by healthy_deadline fails the group; nothing more is replaced', () => {
  const first = step({ allocs: allocs(old(0), old(1), old(2)) });
  const restarting = onTarget(0, { status: 'pending', reason: 'task "t" is restarting' }, false);
  const before = step({ now: T0 + 4999, allocs: allocs(restarting, old(1), old(2)), state: first.state });
  assert.equal(before.failed, undefined);
  assert.equal(before.wakeAt, T0 + 5000);
  const late = step({ now: T0 + 5000, allocs: allocs(restarting, old(1), old(2)), state: before.state });
  assert.equal(late.failed, 'allocations');
  assert.deepEqual(late.unhealthy, [{ index: 0, reason: 'Task not running for min_healthy_time of 1s by healthy_deadline of 5s (task "t" is restarting)' }]);
  assert.deepEqual(late.placed, []);
  assert.deepEqual([...late.assign], [[0, 'v2'], [1, 'v1'], [2, 'v1']]);
  const r = simulate({ count: 3, strategy: S, fail: [0] });
  assert.equal(r.last.failed, 'allocations');
  assert.deepEqual(r.order, [0], 'only the first allocation was replaced');
  // A failed task is unhealthy at once, before the deadline.
  const failed = step({ now: T0 + 100, allocs: allocs(onTarget(0, { status: 'unhealthy', reason: 'Unhealthy because of failed task "t"' }, false), old(1), old(2)), state: first.state });
  assert.equal(failed.failed, 'allocations');
});

test('rollout plan: the deployment ends: a failed one keeps every allocation where it is, even one that went down', () => {
  const first = step({ allocs: allocs(old(0), old(1), old(2)) });
  const ended = step({ running: false, now: T0 + 9000, allocs: allocs(onTarget(0, { status: 'pending', reason: 'x' }, false), old(1, false), old(2)), state: first.state });
  assert.deepEqual([...ended.assign], [[0, 'v2'], [1, 'v1'], [2, 'v1']]);
  assert.deepEqual(ended.placed, []);
  assert.deepEqual(ended.healthy, []);
});

test('rollout plan: an agent restart mid-rollout: the group state as stored and the records give the same step', () => {
  const first = step({ allocs: allocs(old(0), old(1), old(2)) });
  const second = step({ now: T0 + 1500, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 + 300 }), old(1), old(2)), state: first.state });
  assert.deepEqual(second.placed, [1]);
  // Stored and read back; allocation 1 was being stopped when the agent died (its records still on v1, not live).
  const stored = JSON.parse(JSON.stringify(second.state)) as DeploymentGroup;
  const again = step({ now: T0 + 60_000, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 + 300 }), old(1, false), old(2)), state: stored });
  assert.deepEqual([...again.assign], [[0, 'v2'], [1, 'v2'], [2, 'v1']], 'the placed allocation keeps the target, the other waits');
  assert.deepEqual(again.placed, []);
  // Recovery not over: nothing judged, nothing placed, and nothing failed for the time the agent was down.
  const d: Deployment = { id: 'd1', version: 'v2', status: 'running', description: 'Deployment is running', startedAt: new Date(T0).toISOString(), groups: { g: stored } };
  const held = stepDeployment({ now: T0 + 600_000, deployment: d, known: new Set(['v1', 'v2']), hold: true, groups: [{ name: 'g', count: 3, strategy: S, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 }), onTarget(1, { status: 'pending', reason: 'x' }, false), old(2)) }] });
  assert.equal(held.deployment.status, 'running');
  assert.equal(held.ended, undefined);
  assert.deepEqual(held.placed, []);
});

test('rollout plan: allocations not serving are replaced at once; new indexes (count raised) are placed at once and count as in flight', () => {
  const down = step({ allocs: allocs(old(0), old(1, false), old(2)) });
  assert.deepEqual(down.placed.sort(), [0, 1], 'the down one costs no capacity, plus max_parallel serving ones');
  const raised = step({ count: 5, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 - 5000 }), old(1), old(2)) });
  assert.deepEqual(raised.placed, [3, 4]);
  assert.deepEqual(raised.healthy, [0]);
  assert.equal(raised.assign.get(1), 'v1', 'the new ones are in flight: no serving one goes');
  assert.equal(raised.state.desiredTotal, 5);
  const lowered = step({ count: 1, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 - 5000 }), old(1), old(2)), state: raised.state });
  assert.equal(lowered.done, true);
  assert.deepEqual(Object.keys(lowered.state.allocs), ['0']);
  // An allocation whose version cannot be run again (no job for it) gets the target at once, and is in flight.
  const unknown = step({ allocs: allocs(old(0), { ...old(1), version: UNKNOWN_VERSION }, old(2)) });
  assert.deepEqual(unknown.placed, [1]);
  assert.deepEqual(unknown.assign, new Map([[0, 'v1'], [1, 'v2'], [2, 'v1']]));
});

test('rollout plan: manual health never turns healthy by itself and has no healthy_deadline; progress_deadline still fails it', () => {
  const manual = { ...S, healthCheck: 'manual' as const, progressDeadlineMs: 10_000 };
  const first = step({ strategy: manual, allocs: allocs(old(0), old(1), old(2)) });
  const waiting = step({ strategy: manual, now: T0 + 9000, allocs: allocs(onTarget(0, { status: 'pending', reason: 'manual' }), old(1), old(2)), state: first.state });
  assert.equal(waiting.failed, undefined);
  assert.deepEqual(waiting.unhealthy, []);
  const late = step({ strategy: manual, now: T0 + 10_000, allocs: allocs(onTarget(0, { status: 'pending', reason: 'manual' }), old(1), old(2)), state: waiting.state });
  assert.equal(late.failed, 'progress');
  // A promotion (healthyAt set by the controller) lets the next one go.
  const promoted = { ...first.state, allocs: { '0': { ...first.state.allocs['0'], healthyAt: new Date(T0 + 2000).toISOString() } } };
  const next = step({ strategy: manual, now: T0 + 2000, allocs: allocs(onTarget(0, { status: 'pending', reason: 'manual' }), old(1), old(2)), state: promoted });
  assert.deepEqual(next.placed, [1]);
});

test('rollout plan: progress_deadline is pushed back by every allocation that turns healthy', () => {
  const s = { ...S, progressDeadlineMs: 3000, healthyDeadlineMs: 2500 };
  const first = step({ strategy: s, allocs: allocs(old(0), old(1), old(2)) });
  assert.equal(first.state.requireProgressBy, new Date(T0 + 3000).toISOString());
  const healthy = step({ strategy: s, now: T0 + 2000, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 + 500 }), old(1), old(2)), state: first.state });
  assert.equal(healthy.state.requireProgressBy, new Date(T0 + 5000).toISOString());
  assert.equal(healthy.failed, undefined);
});

test('rollout plan: a deployment succeeds when every group is done, fails as a whole when one group fails (no group places then)', () => {
  const d: Deployment = { id: 'd1', version: 'v2', status: 'running', description: 'Deployment is running', startedAt: new Date(T0).toISOString(), groups: {} };
  const known = new Set(['v1', 'v2']);
  const good = { name: 'a', count: 2, strategy: S, allocs: allocs(onTarget(0, { status: 'healthy', since: T0 - 9000 }), onTarget(1, { status: 'healthy', since: T0 - 9000 })) };
  const ok = stepDeployment({ now: T0, deployment: d, known, groups: [good] });
  assert.equal(ok.ended, 'successful');
  assert.equal(ok.deployment.status, 'successful');
  assert.equal(ok.deployment.description, 'Deployment completed successfully');
  const waitingGroup = { name: 'b', count: 2, strategy: S, allocs: allocs(old(0), old(1)) };
  const bad = { name: 'c', count: 1, strategy: S, allocs: allocs(onTarget(0, { status: 'unhealthy', reason: 'Unhealthy because of failed task "t"' }, false)) };
  const failed = stepDeployment({ now: T0, deployment: d, known, groups: [waitingGroup, bad] });
  assert.equal(failed.ended, 'failed');
  assert.equal(failed.deployment.description, 'Failed due to unhealthy allocations');
  assert.deepEqual(failed.placed, [], 'group b placed nothing: the deployment failed');
  assert.deepEqual([...failed.assign.get('b')!], [[0, 'v1'], [1, 'v1']]);
  const unchanged = stepDeployment({ now: T0, deployment: ok.deployment, known, groups: [good] });
  assert.equal(unchanged.changed, false);
});
