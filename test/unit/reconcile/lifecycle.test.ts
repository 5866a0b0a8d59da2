/**
 * The lifecycle planner driven through whole scenarios: a small simulated
 * worker acts on each plan (starts what may start, stops what must stop) and
 * the test feeds exits through the real restart policy, as the per-task
 * worker will.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  displayRank, hookLabel, intentOf, orderForDisplay, planAlloc, restartJobType, restartsOnSuccess, stopWaves,
  type AllocPlan, type Intent, type LifecycleTask, type TaskStatus,
} from '../../../src/reconcile/lifecycle.js';
import { nextRestart } from '../../../src/reconcile/restart-policy.js';
import type { JobType, RestartPolicy, Task } from '../../../src/jobspec/model.js';
import type { RestartWindow } from '../../../src/store/store.js';

type Lc = Task['lifecycle'];
const task = (name: string, lifecycle?: Lc, leader = false): LifecycleTask => ({ name, lifecycle, leader });
const pre = (sidecar = false): Lc => ({ hook: 'prestart', sidecar });
const post = (sidecar = false): Lc => ({ hook: 'poststart', sidecar });
const stop: Lc = { hook: 'poststop', sidecar: false };

const POLICY: RestartPolicy = { attempts: 2, intervalMs: 60_000, delayMs: 1000, mode: 'fail' };

/** One allocation and a worker that does what the plan says; starts succeed at once. */
class Sim {
  readonly states: Record<string, (TaskStatus & { window?: RestartWindow }) | undefined> = {};
  readonly log: string[] = [];
  intent: Intent = 'run';
  now = 1_000_000;

  constructor(
    readonly tasks: LifecycleTask[],
    readonly jobType: JobType = 'service',
    readonly policy: RestartPolicy = POLICY,
  ) {}

  plan(): AllocPlan {
    return planAlloc({ tasks: this.tasks, states: this.states, intent: this.intent });
  }

  /** Worker passes until the plan asks for nothing more; returns the last plan. Logs each action in order. */
  settle(): AllocPlan {
    for (let i = 0; i < 20; i++) {
      const p = this.plan();
      const acts: [string, string][] = [];
      for (const t of p.tasks) {
        const s = this.states[t.name];
        if (t.mustStop && s && s.state !== 'stopping') acts.push(['stop', t.name]);
        else if (t.mayStart && (!s || s.state === 'pending' || s.state === 'restarting')) acts.push(['start', t.name]);
      }
      if (acts.length === 0) return p;
      for (const [kind, name] of acts) {
        // The worker records a task it stopped for the group as dead (never pending).
        this.states[name] = { ...this.states[name], state: kind === 'start' ? 'running' : 'dead' };
        this.log.push(`${kind} ${name}`);
      }
    }
    throw new Error('the plan never settles');
  }

  /** The task's process exits with `code`: the restart policy (with restartJobType) decides what follows. */
  exit(name: string, code: number): void {
    const t = this.tasks.find((x) => x.name === name)!;
    const s = this.states[name];
    assert.equal(s?.state, 'running', `${name} exits while running`);
    const out = nextRestart(this.policy, restartJobType(t, this.jobType), { code }, s.window, this.now, () => 0.5);
    this.states[name] = { state: out.kind === 'restart' ? 'restarting' : out.kind === 'complete' ? 'complete' : 'failed', window: out.window };
    this.log.push(`exit ${name} ${code} → ${this.states[name]!.state}`);
  }

  /** The worker's reset at the start of a new run (after a restart reached done). */
  reset(): void {
    for (const t of this.tasks) this.states[t.name] = { state: 'pending' };
  }

  take(): string[] {
    return this.log.splice(0);
  }
}

const byName = (p: AllocPlan, name: string) => p.tasks.find((t) => t.name === name)!;
const state = (sim: Sim) => Object.fromEntries(sim.tasks.map((t) => [t.name, sim.states[t.name]?.state ?? '-']));

/** init (prestart), proxy (prestart sidecar), web (main), warm (poststart), cleanup (poststop). */
const full = () => [task('web'), task('init', pre()), task('proxy', pre(true)), task('warm', post()), task('cleanup', stop)];

test('lifecycle: start order prestart → main → poststart, poststop waits', () => {
  const sim = new Sim(full());
  let p = sim.settle();
  assert.deepEqual(sim.take(), ['start init', 'start proxy']);
  assert.equal(p.phase, 'prestart');
  assert.equal(byName(p, 'web').mayStart, false);
  assert.equal(byName(p, 'web').reason, 'waiting for prestart task "init" to complete');
  assert.equal(byName(p, 'warm').reason, 'waiting for prestart task "init" to complete');
  assert.equal(byName(p, 'cleanup').reason, 'runs after the main tasks stop');

  sim.exit('init', 0); // ephemeral prestart: complete on exit 0, even in a service job
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit init 0 → complete', 'start web', 'start warm']);
  assert.equal(p.phase, 'poststart');
  assert.equal(byName(p, 'init').mayStart, false); // runs once per allocation

  sim.exit('warm', 0);
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit warm 0 → complete']);
  assert.equal(p.phase, 'running');
  assert.deepEqual(state(sim), { web: 'running', init: 'complete', proxy: 'running', warm: 'complete', cleanup: '-' });
  assert.equal(byName(p, 'cleanup').mayStart, false);
  assert.ok(p.tasks.every((t) => !t.mustStop));
});

test('lifecycle: main waits for a prestart sidecar to be running, not merely started', () => {
  const tasks = [task('web'), task('proxy', pre(true))];
  let p = planAlloc({ tasks, states: { proxy: { state: 'starting' } }, intent: 'run' });
  assert.equal(p.phase, 'prestart');
  assert.equal(byName(p, 'web').reason, 'waiting for prestart sidecar "proxy" to run');
  p = planAlloc({ tasks, states: { proxy: { state: 'running' } }, intent: 'run' });
  assert.equal(p.phase, 'main');
  assert.equal(byName(p, 'web').mayStart, true);
});

test('lifecycle: poststart waits until every main task has run ("starting" is not yet)', () => {
  const tasks = [task('a'), task('b'), task('warm', post())];
  let p = planAlloc({ tasks, states: { a: { state: 'running' }, b: { state: 'starting' } }, intent: 'run' });
  assert.equal(p.phase, 'main');
  assert.equal(byName(p, 'warm').reason, 'waiting for main task "b" to run');
  p = planAlloc({ tasks, states: { a: { state: 'running' }, b: { state: 'restarting' } }, intent: 'run' });
  assert.equal(p.phase, 'poststart');
  assert.equal(byName(p, 'warm').mayStart, true);
});

test('lifecycle: init fails, then succeeds on restart; main starts only then', () => {
  const sim = new Sim(full());
  sim.settle();
  sim.take();
  sim.exit('init', 1);
  let p = sim.plan();
  assert.equal(p.phase, 'prestart');
  assert.equal(byName(p, 'init').mayStart, true); // the restart policy's delay is the diff's business
  assert.equal(byName(p, 'web').mayStart, false);
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit init 1 → restarting', 'start init']);
  sim.exit('init', 0);
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit init 0 → complete', 'start web', 'start warm']);
  assert.equal(p.phase, 'poststart');
});

test('lifecycle: init fails with restarts exhausted: the group fails, sidecars stop, poststop runs, main never starts', () => {
  const sim = new Sim(full(), 'service', { ...POLICY, attempts: 1 });
  sim.settle();
  sim.take();
  sim.exit('init', 1);
  sim.settle();
  sim.exit('init', 1);
  let p = sim.plan();
  assert.equal(p.phase, 'stopping');
  assert.equal(p.reason, 'task "init" failed');
  assert.equal(p.outcome, 'failed');
  assert.deepEqual(p.stopOrder, [['proxy']]);
  assert.equal(byName(p, 'web').mayStart, false);
  assert.equal(byName(p, 'web').reason, 'group stopping: task "init" failed');
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit init 1 → restarting', 'start init', 'exit init 1 → failed', 'stop proxy', 'start cleanup']);
  assert.equal(p.phase, 'poststop');
  assert.equal(p.runPoststop, true);
  sim.exit('cleanup', 0);
  p = sim.settle();
  assert.equal(p.phase, 'done');
  assert.equal(p.outcome, 'failed');
  assert.deepEqual(state(sim), { web: '-', init: 'failed', proxy: 'dead', warm: '-', cleanup: 'complete' });
  assert.ok(p.tasks.every((t) => !t.mayStart && !t.mustStop));
  assert.equal(byName(p, 'web').reason, 'group failed: task "init" failed');
});

test('lifecycle: a service main task that exits restarts while the others keep running', () => {
  const sim = new Sim(full());
  sim.settle();
  sim.exit('init', 0);
  sim.settle();
  sim.exit('warm', 0);
  sim.settle();
  sim.take();
  sim.exit('web', 0); // a service's main task restarts even on exit 0
  let p = sim.plan();
  assert.equal(p.phase, 'running');
  assert.ok(p.tasks.every((t) => !t.mustStop));
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit web 0 → restarting', 'start web']);
  assert.equal(byName(p, 'warm').mayStart, false); // ephemeral poststart ran once
  assert.equal(byName(p, 'init').mayStart, false);
});

test('lifecycle: a sidecar that exits is restarted, even after the prestart phase', () => {
  const sim = new Sim(full(), 'batch');
  sim.settle();
  sim.exit('init', 0);
  sim.settle();
  sim.take();
  sim.exit('proxy', 0); // sidecars restart on success, in batch jobs too
  const p = sim.settle();
  assert.deepEqual(sim.take(), ['exit proxy 0 → restarting', 'start proxy']);
  assert.equal(p.phase, 'poststart');
});

test('lifecycle: batch main completes → sidecars stop → poststop runs to completion → done', () => {
  const tasks = [task('job'), task('init', pre()), task('proxy', pre(true)), task('metrics', post(true)), task('cleanup', stop)];
  const sim = new Sim(tasks, 'batch');
  sim.settle();
  sim.exit('init', 0);
  sim.settle();
  assert.deepEqual(sim.take(), ['start init', 'start proxy', 'exit init 0 → complete', 'start job', 'start metrics']);
  sim.exit('job', 0);
  let p = sim.plan();
  assert.equal(p.phase, 'stopping');
  assert.equal(p.reason, 'main tasks finished');
  assert.deepEqual(p.stopOrder, [['proxy', 'metrics']]);
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit job 0 → complete', 'stop proxy', 'stop metrics', 'start cleanup']);
  assert.equal(p.phase, 'poststop');
  sim.exit('cleanup', 0); // poststop: complete on exit 0, never restarted on success
  p = sim.settle();
  assert.equal(p.phase, 'done');
  assert.equal(p.outcome, 'complete');
  assert.deepEqual(sim.take(), ['exit cleanup 0 → complete']);
});

test('lifecycle: a failing poststop task is retried by its restart policy, then the group is done', () => {
  const sim = new Sim([task('job'), task('cleanup', stop)], 'batch', { ...POLICY, attempts: 1 });
  sim.settle();
  sim.exit('job', 0);
  sim.settle();
  sim.exit('cleanup', 3);
  sim.settle();
  sim.exit('cleanup', 3);
  const p = sim.settle();
  assert.deepEqual(sim.take(), ['start job', 'exit job 0 → complete', 'start cleanup', 'exit cleanup 3 → restarting', 'start cleanup', 'exit cleanup 3 → failed']);
  assert.equal(p.phase, 'done');
  assert.equal(p.outcome, 'complete'); // the main work completed; the poststop failure shows on its own record
});

/** proxy (prestart sidecar), web (main leader), worker (main), metrics (poststart sidecar), cleanup (poststop). */
const led = () => [task('proxy', pre(true)), task('web', undefined, true), task('worker'), task('metrics', post(true)), task('cleanup', stop)];

test('lifecycle: the leader exits for good → other main tasks stop, then sidecars, then poststop', () => {
  const sim = new Sim(led(), 'batch');
  sim.settle();
  assert.deepEqual(sim.take(), ['start proxy', 'start web', 'start worker', 'start metrics']);
  sim.exit('web', 0);
  let p = sim.plan();
  assert.equal(p.phase, 'stopping');
  assert.equal(p.reason, 'leader task "web" completed');
  assert.deepEqual(p.stopOrder, [['worker'], ['proxy', 'metrics']]);
  assert.deepEqual(p.tasks.filter((t) => t.mustStop).map((t) => t.name), ['worker']);
  assert.equal(byName(p, 'proxy').reason, 'stops after "worker"');
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit web 0 → complete', 'stop worker', 'stop proxy', 'stop metrics', 'start cleanup']);
  sim.exit('cleanup', 0);
  p = sim.settle();
  assert.equal(p.phase, 'done');
  assert.equal(p.reason, 'leader task "web" completed');
});

test('lifecycle: a service leader restarts while it may; failing for good stops the group', () => {
  const sim = new Sim(led(), 'service', { ...POLICY, attempts: 1 });
  sim.settle();
  sim.take();
  sim.exit('web', 1);
  assert.equal(sim.plan().phase, 'running'); // only a poststart sidecar: nothing ephemeral holds 'poststart'
  sim.settle();
  sim.exit('web', 1);
  const p = sim.settle();
  assert.deepEqual(sim.take(), ['exit web 1 → restarting', 'start web', 'exit web 1 → failed', 'stop worker', 'stop proxy', 'stop metrics', 'start cleanup']);
  assert.equal(p.reason, 'leader task "web" failed');
  assert.equal(p.outcome, 'failed');
});

test('lifecycle: group delete stops the leader, then main tasks, then sidecars; poststop runs before teardown', () => {
  const sim = new Sim(led());
  sim.settle();
  sim.take();
  sim.intent = 'stop';
  let p = sim.plan();
  assert.deepEqual(p.stopOrder, [['web'], ['worker'], ['proxy', 'metrics']]);
  assert.deepEqual(p.tasks.filter((t) => t.mustStop).map((t) => t.name), ['web']);
  assert.equal(p.outcome, 'stopped');
  p = sim.settle();
  assert.deepEqual(sim.take(), ['stop web', 'stop worker', 'stop proxy', 'stop metrics', 'start cleanup']);
  assert.equal(p.phase, 'poststop'); // not torn down while cleanup runs
  assert.equal(byName(p, 'cleanup').mustStop, false);
  sim.exit('cleanup', 0);
  p = sim.settle();
  assert.equal(p.phase, 'done'); // now the worker removes the records and the alloc dir
  assert.equal(p.reason, 'the group is no longer desired');
});

test('lifecycle: a stop waits for a wave still stopping before the next', () => {
  const tasks = led();
  const p = planAlloc({
    tasks,
    states: { proxy: { state: 'running' }, web: { state: 'dead' }, worker: { state: 'stopping' }, metrics: { state: 'running' } },
    intent: 'stop',
  });
  assert.deepEqual(p.stopOrder, [['worker'], ['proxy', 'metrics']]);
  assert.equal(byName(p, 'worker').mustStop, true); // still its turn: the worker sees it is already stopping
  assert.equal(byName(p, 'proxy').mustStop, false);
});

test('lifecycle: deleting a group that never started anything runs no poststop', () => {
  const tasks = full();
  const p = planAlloc({ tasks, states: { init: { state: 'pending' }, proxy: { state: 'pending' } }, intent: 'stop' });
  assert.equal(p.phase, 'done');
  assert.equal(p.runPoststop, false);
});

test('lifecycle: an edit restarts the whole group in order: stop in waves, poststop, then prestart again', () => {
  const sim = new Sim(full());
  sim.settle();
  sim.exit('init', 0);
  sim.settle();
  sim.exit('warm', 0);
  sim.settle();
  sim.take();
  // web's args changed: the worker derives the intent from the records and the spec hashes.
  const changed = new Set(['web']);
  const intent = () => intentOf(true, sim.tasks.map((t) => ({ status: sim.states[t.name], specChanged: changed.has(t.name) })));
  sim.intent = intent();
  assert.equal(sim.intent, 'restart');
  let p = sim.settle();
  assert.deepEqual(sim.take(), ['stop web', 'stop proxy', 'start cleanup']);
  assert.equal(p.phase, 'poststop');
  sim.exit('cleanup', 0);
  p = sim.settle();
  assert.equal(p.phase, 'done');
  assert.equal(p.outcome, 'stopped');
  assert.deepEqual(sim.take(), ['exit cleanup 0 → complete']);
  sim.reset(); // new run: every record pending (the new spec is adopted as each task starts)
  changed.clear();
  sim.intent = intentOf(true, sim.tasks.map((t) => ({ status: sim.states[t.name], specChanged: true }))); // hashes still differ: pending tasks do not count
  assert.equal(sim.intent, 'run');
  p = sim.settle();
  assert.deepEqual(sim.take(), ['start init', 'start proxy']);
  assert.equal(p.phase, 'prestart');
  sim.exit('init', 0);
  p = sim.settle();
  assert.deepEqual(sim.take(), ['exit init 0 → complete', 'start web', 'start warm']);
});

test('lifecycle: intentOf', () => {
  assert.equal(intentOf(false, []), 'stop');
  assert.equal(intentOf(true, [{ status: { state: 'running' }, specChanged: false }]), 'run');
  assert.equal(intentOf(true, [{ status: { state: 'complete' }, specChanged: true }]), 'restart');
  assert.equal(intentOf(true, [{ status: undefined, specChanged: true }, { status: { state: 'pending' }, specChanged: true }]), 'run');
});

test('lifecycle: after an agent restart, a main task may restart while a prestart sidecar is restarting', () => {
  const tasks = full();
  const p = planAlloc({
    tasks,
    states: { init: { state: 'complete' }, proxy: { state: 'restarting' }, web: { state: 'restarting' }, warm: { state: 'complete' } },
    intent: 'run',
  });
  assert.equal(p.phase, 'running');
  assert.equal(byName(p, 'web').mayStart, true);
  assert.equal(byName(p, 'proxy').mayStart, true);
});

test('lifecycle: a group without lifecycle fails as a whole when one task fails (Nomad sibling-failed)', () => {
  const sim = new Sim([task('a'), task('b')], 'service', { ...POLICY, attempts: 0 });
  sim.settle();
  sim.exit('a', 1);
  const p = sim.settle();
  assert.deepEqual(sim.take(), ['start a', 'start b', 'exit a 1 → failed', 'stop b']);
  assert.equal(p.phase, 'done');
  assert.equal(p.outcome, 'failed');
});

test('lifecycle: restartsOnSuccess follows Nomad restart tracker', () => {
  const cases: [Lc, JobType, boolean][] = [
    [undefined, 'service', true],
    [undefined, 'batch', false],
    [pre(), 'service', false],
    [pre(true), 'batch', true],
    [post(), 'service', false],
    [post(true), 'batch', true],
    [stop, 'service', false],
    [{ hook: 'poststop', sidecar: true }, 'service', false],
  ];
  for (const [lc, type, want] of cases) {
    assert.equal(restartsOnSuccess({ lifecycle: lc }, type), want, `${JSON.stringify(lc)} ${type}`);
    assert.equal(restartJobType({ lifecycle: lc }, type), want ? 'service' : 'batch');
  }
});

test('lifecycle: stop waves, display order and labels', () => {
  assert.deepEqual(stopWaves(led()), [['web'], ['worker'], ['proxy', 'metrics']]);
  assert.deepEqual(stopWaves(full()), [['web', 'init', 'warm'], ['proxy']]);
  assert.deepEqual(orderForDisplay(full()).map((t) => t.name), ['init', 'proxy', 'web', 'warm', 'cleanup']);
  assert.deepEqual([undefined, pre(), post(true), stop].map(displayRank), [1, 0, 2, 3]);
  assert.equal(hookLabel(pre(true)), 'prestart sidecar');
  assert.equal(hookLabel({ hook: 'poststop', sidecar: true }), 'poststop');
  assert.equal(hookLabel(undefined, true), 'leader');
  assert.equal(hookLabel(undefined), undefined);
});
