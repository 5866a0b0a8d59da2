import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExitResult, TaskHandle } from '../../../src/executor/executor.js';
import { expandJobs } from '../../../src/reconcile/expand.js';
import type { DesiredInstance } from '../../../src/reconcile/reconcile.js';
import { transition, type Transition, type WorkerEvent } from '../../../src/reconcile/transition.js';
import type { TaskRecord } from '../../../src/store/store.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');

function desiredOf(args = ['1000']): DesiredInstance {
  return [...expandJobs([makeJob('a', { tasks: [makeTask('t', {}, { args })] })]).values()][0];
}

function ctx(desired: DesiredInstance | undefined, now = NOW) {
  return { desired, diff: { now, driverBlocked: () => undefined }, random: () => 0.5 };
}

function handle(pid: number, id = desiredOf().execId): TaskHandle {
  return { version: 1, executor: 'plain', id, pid, pidStartTime: pid * 7, startedAt: new Date(NOW).toISOString(), data: {} };
}

function exit(code: number | null, signal: string | null = null): ExitResult {
  return { code, signal, oomKilled: false, at: new Date(NOW).toISOString(), known: true };
}

/** Runs a sequence of events from `rec`, keeping every step's result. */
function run(rec: TaskRecord | undefined, events: WorkerEvent[], d: DesiredInstance | undefined = desiredOf(), now = NOW): { rec: TaskRecord | undefined; steps: Transition[] } {
  const steps: Transition[] = [];
  for (const ev of events) {
    const t = transition(rec, ev, ctx(d, now));
    steps.push(t);
    rec = t.record;
  }
  return { rec, steps };
}

const types = (t: Transition) => t.events.map((e) => e.type);
const kinds = (t: Transition) => t.actions.map((a) => a.kind);

test('transition: a first start goes pending → starting → running, with Received then Started, and watches the handle', () => {
  const h = handle(10);
  const { rec, steps } = run(undefined, [{ type: 'sync' }, { type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }]);
  assert.deepEqual(kinds(steps[0]), ['start']);
  assert.equal(steps[1].record!.state, 'starting');
  assert.deepEqual(types(steps[1]), ['Received']);
  assert.equal(steps[2].record!.state, 'starting');
  assert.equal(rec!.state, 'running');
  assert.deepEqual(types(steps[3]), ['Started']);
  assert.deepEqual(steps[3].actions, [{ kind: 'watch', handle: h }]);
  assert.equal(rec!.restarts, 0);
});

test('transition: never mutates the record it is given', () => {
  const { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: handle(10) }, { type: 'started' }]);
  const frozen = structuredClone(rec!);
  transition(rec, { type: 'exited', handle: handle(10), exit: exit(1) }, ctx(desiredOf()));
  transition(rec, { type: 'updated', fields: ['resources.cpu'], cores: [1] }, ctx(desiredOf()));
  assert.deepEqual(rec, frozen);
});

test('transition: an exit during start wins — the policy schedules a restart and the late "started" changes nothing', () => {
  const h = handle(11);
  const { rec, steps } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'exited', handle: h, exit: exit(3) }, { type: 'started' }]);
  assert.deepEqual(types(steps[2]), ['Terminated', 'Restarting']);
  assert.deepEqual(kinds(steps[2]), ['cleanup']);
  assert.equal(rec!.state, 'restarting');
  assert.equal(rec!.handle, undefined);
  assert.equal(rec!.lastExit!.code, 3);
  assert.equal(steps[3].changed, false);
  assert.ok(Date.parse(rec!.nextRestartAt!) > NOW);
});

test('transition: an exit of another run (stopped on purpose, or superseded) is ignored', () => {
  const { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: handle(12) }, { type: 'started' }]);
  const t = transition(rec, { type: 'exited', handle: handle(99), exit: exit(0) }, ctx(desiredOf()));
  assert.equal(t.changed, false);
  assert.deepEqual(t.events, []);
});

test('transition: a restart requested during a stop stops (again), resets the window and starts as a manual restart', () => {
  const h = handle(13);
  let { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }, { type: 'killing', reason: 'spec changed' }]);
  rec = { ...rec!, window: { startedAt: NOW, count: 2 } };
  assert.equal(rec.state, 'stopping');
  const req = transition(rec, { type: 'restart-requested' }, ctx(desiredOf()));
  assert.deepEqual(req.actions, [{ kind: 'stop', final: false, reason: 'restart requested' }, { kind: 'start', manual: true }]);
  assert.deepEqual(types(req), ['Restart Signaled']);
  assert.equal(req.record!.window, undefined);
  const after = run(req.record, [{ type: 'killed', exit: exit(null, 'SIGINT') }, { type: 'stopped', final: false }, { type: 'starting', manual: true }]);
  assert.equal(after.steps[1].record!.state, 'pending');
  assert.equal(after.rec!.state, 'starting');
  assert.equal(after.rec!.restarts, 1);
  assert.deepEqual(kinds(after.steps[2]), ['count-restart']);
});

test('transition: a failure restart (check_restart) stops the task and the restart policy decides: a delay within attempts, failed past them', () => {
  const h = handle(14);
  const started = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }]).rec!;
  const reason = 'healthcheck: check "web" unhealthy';
  const req = transition(started, { type: 'restart-requested', reason, failure: true }, ctx(desiredOf()));
  assert.deepEqual(req.actions, [{ kind: 'stop', final: false, reason, policy: true }]);
  assert.deepEqual(req.events.map((e) => [e.type, e.message]), [['Restart Signaled', reason]]);
  const stopped = run(started, [{ type: 'killing', reason }, { type: 'killed', exit: exit(null, 'SIGINT') }, { type: 'stopped', final: false, policy: true }]);
  const r = stopped.rec!;
  assert.equal(r.state, 'restarting');
  assert.deepEqual(types(stopped.steps[2]), ['Restarting']);
  assert.equal(r.window!.count, 1, 'counts against the policy (attempts = 2)');
  assert.ok(Date.parse(r.nextRestartAt!) > NOW, 'the policy delay applies');
  const again = run(r, [{ type: 'starting', manual: false }], desiredOf(), Date.parse(r.nextRestartAt!));
  assert.equal(again.rec!.restarts, 1);
  // Attempts used up (mode "fail"): the task fails instead of restarting.
  const spent = { ...started, window: { startedAt: NOW, count: 2 } };
  const failed = run(spent, [{ type: 'killing', reason }, { type: 'killed', exit: exit(null, 'SIGINT') }, { type: 'stopped', final: false, policy: true }]).rec!;
  assert.equal(failed.state, 'failed');
  assert.match(failed.error ?? '', /Exceeded allowed attempts 2/);
  // A task that is not running is not failed by a late check result.
  assert.equal(transition(failed, { type: 'restart-requested', reason, failure: true }, ctx(desiredOf())).actions.length, 0);
});

test('transition: a restart requested for a task with no process starts it at once; for one no longer desired, nothing', () => {
  const { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'start-failed', message: 'boom', unrecoverable: true }]);
  assert.equal(rec!.state, 'failed');
  const t = transition(rec, { type: 'restart-requested' }, ctx(desiredOf()));
  assert.equal(t.record!.state, 'pending');
  assert.deepEqual(t.actions, [{ kind: 'start', manual: true }]);
  assert.equal(transition(rec, { type: 'restart-requested' }, ctx(undefined)).changed, false);
});

test('transition: an edit during a restart delay starts the new spec at once; without the edit the timer decides', () => {
  const h = handle(14);
  const { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }, { type: 'exited', handle: h, exit: exit(1) }]);
  assert.equal(rec!.state, 'restarting');
  // Same spec, before the restart time: nothing; at the restart time: start.
  assert.deepEqual(kinds(transition(rec, { type: 'sync' }, ctx(desiredOf()))), []);
  assert.deepEqual(kinds(transition(rec, { type: 'sync' }, ctx(desiredOf(), Date.parse(rec!.nextRestartAt!)))), ['start']);
  // Edited spec: start now, and the new run mirrors the new spec and counts as a restart.
  const edited = desiredOf(['2000']);
  const sync = transition(rec, { type: 'sync' }, ctx(edited));
  assert.deepEqual(kinds(sync), ['start']);
  const start = transition(rec, { type: 'starting', manual: false }, ctx(edited));
  assert.equal(start.record!.hashes.restart, edited.hashes.restart);
  assert.equal(start.record!.nextRestartAt, undefined);
  assert.equal(start.record!.restarts, 1);
});

test('transition: an edit of a running task restarts it: Restart Signaled, then a stop that keeps the record', () => {
  const { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: handle(15) }, { type: 'started' }]);
  const t = transition(rec, { type: 'sync' }, ctx(desiredOf(['2000'])));
  assert.deepEqual(types(t), ['Restart Signaled']);
  assert.deepEqual(t.actions, [{ kind: 'stop', final: false, reason: 'spec changed (args)' }]);
});

test('transition: agent restart during a start — no process recorded: back to pending; a process recorded: adopted running', () => {
  const started = run(undefined, [{ type: 'starting', manual: false }]).rec!;
  const i = transition(started, { type: 'interrupted' }, ctx(desiredOf()));
  assert.equal(i.record!.state, 'pending');
  assert.deepEqual(kinds(transition(i.record, { type: 'sync' }, ctx(desiredOf()))), ['start']);
  const h = handle(16);
  const launched = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }]).rec!;
  assert.equal(transition(launched, { type: 'interrupted' }, ctx(desiredOf())).changed, false);
  const a = transition(launched, { type: 'adopted', handle: h }, ctx(desiredOf()));
  assert.equal(a.record!.state, 'running');
  assert.deepEqual(a.actions, [{ kind: 'watch', handle: h }]);
  // Or it ended meanwhile: Recovered, Terminated, and the policy.
  const e = transition(launched, { type: 'exited', handle: h, exit: exit(2), recovered: 'Task ended while the agent was down' }, ctx(desiredOf()));
  assert.deepEqual(types(e), ['Recovered', 'Terminated', 'Restarting']);
});

test('transition: agent restart during a stop — a task no longer desired is adopted, then stopped for good by the next sync', () => {
  const h = handle(17);
  const stopping = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }, { type: 'killing', reason: 'no longer in the job files' }]).rec!;
  const a = transition(stopping, { type: 'adopted', handle: h }, ctx(undefined));
  assert.equal(a.record!.state, 'running');
  const s = transition(a.record, { type: 'sync' }, ctx(undefined));
  assert.deepEqual(s.actions, [{ kind: 'stop', final: true, reason: 'no longer in the job files' }]);
  const done = run(a.record, [{ type: 'killing', reason: 'x' }, { type: 'killed', exit: exit(null, 'SIGINT') }, { type: 'stopped', final: true }], undefined);
  assert.equal(done.rec!.state, 'dead');
  assert.deepEqual(kinds(done.steps[2]), ['teardown']);
  // Killed without a handle recorded (it died between kill and record): pending, started again if desired.
  const noHandle = { ...stopping, handle: undefined };
  assert.equal(transition(noHandle, { type: 'interrupted' }, ctx(desiredOf())).record!.state, 'pending');
});

test('transition: agent restart during a restart delay keeps the delay; an exit with no desired task left is dead', () => {
  const h = handle(18);
  const restarting = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }, { type: 'exited', handle: h, exit: exit(1) }]).rec!;
  assert.equal(transition(restarting, { type: 'interrupted' }, ctx(desiredOf())).changed, false);
  assert.deepEqual(kinds(transition(restarting, { type: 'sync' }, ctx(desiredOf()))), []);
  const running = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }]).rec!;
  const gone = transition(running, { type: 'exited', handle: h, exit: exit(0), recovered: 'Task ended while the agent was down' }, ctx(undefined));
  assert.equal(gone.record!.state, 'dead');
  assert.deepEqual(types(gone), ['Recovered', 'Terminated']);
});

test('transition: a failed start goes through the restart policy; an unrecoverable one fails at once', () => {
  const pre = run(undefined, [{ type: 'starting', manual: false }]).rec!;
  const f = transition(pre, { type: 'start-failed', message: 'no such file', unrecoverable: false }, ctx(desiredOf()));
  assert.equal(f.record!.state, 'restarting');
  assert.equal(f.record!.error, 'failed to start task: no such file');
  assert.deepEqual(types(f), ['Driver Failure', 'Restarting']);
  const hook = transition(pre, { type: 'start-failed', message: 'fetch failed', unrecoverable: false, event: 'Setup Failure' }, ctx(desiredOf()));
  assert.deepEqual(types(hook), ['Setup Failure', 'Restarting']);
  const u = transition(pre, { type: 'start-failed', message: 'user denied', unrecoverable: true }, ctx(desiredOf()));
  assert.equal(u.record!.state, 'failed');
  assert.deepEqual(types(u), ['Driver Failure', 'Not Restarting']);
});

test('transition: a blocked driver reports once per reason; a batch exit 0 is complete; an in-place update keeps pinned cores', () => {
  const b1 = transition(undefined, { type: 'blocked', reason: 'requires root' }, ctx(desiredOf()));
  assert.deepEqual(types(b1), ['Received', 'Driver Failure']);
  assert.deepEqual(types(transition(b1.record, { type: 'blocked', reason: 'requires root' }, ctx(desiredOf()))), []);
  const batch = [...expandJobs([makeJob('b', { type: 'batch' })]).values()][0];
  const h = handle(19, batch.execId);
  const c = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }, { type: 'exited', handle: h, exit: exit(0) }], batch);
  assert.equal(c.rec!.state, 'complete');
  const pinned = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: handle(20), cores: [1] }, { type: 'started' }]).rec!;
  assert.deepEqual(transition(pinned, { type: 'updated', fields: ['kill_timeout'] }, ctx(desiredOf())).record!.resources.cores, [1]);
  assert.equal(transition(pinned, { type: 'updated', fields: ['resources.cores'], cores: undefined }, ctx(desiredOf())).record!.resources.cores, undefined);
});

test('transition: a group stop kills a running task (no restart policy, it ends pending) and cancels a pending restart', () => {
  const h = handle(10);
  const { rec: running } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }]);
  const stop = transition(running, { type: 'group-stop', reason: 'group stops: leader task "l" completed' }, ctx(desiredOf()));
  assert.deepEqual(stop.actions, [{ kind: 'stop', final: false, reason: 'group stops: leader task "l" completed' }]);
  const { rec: after } = run(running, [{ type: 'killing', reason: 'x' }, { type: 'killed', exit: exit(null, 'SIGTERM') }, { type: 'stopped', final: false }]);
  assert.equal(after!.state, 'pending');
  assert.equal(after!.restarts, 0, 'not counted as a restart');
  const restarting = transition(running, { type: 'exited', handle: h, exit: exit(1) }, ctx(desiredOf())).record!;
  assert.equal(restarting.state, 'restarting');
  const cancelled = transition(restarting, { type: 'group-stop', reason: 'group stops' }, ctx(desiredOf()));
  assert.equal(cancelled.record!.state, 'pending');
  assert.equal(cancelled.record!.nextRestartAt, undefined);
  assert.deepEqual(types(cancelled), ['Not Restarting']);
  assert.equal(transition(undefined, { type: 'group-stop', reason: 'x' }, ctx(desiredOf())).changed, false);
});

test('transition: a group stop for a removal or restart keeps the record dead (not torn down); an alloc reset brings it back to pending', () => {
  const h = handle(11);
  const { rec: running } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: h }, { type: 'started' }]);
  const stop = transition(running, { type: 'group-stop', reason: 'group stops: the group restarts with a new spec', then: 'dead' }, ctx(desiredOf()));
  assert.deepEqual(stop.actions, [{ kind: 'stop', final: false, reason: 'group stops: the group restarts with a new spec', keep: true }]);
  const { rec: dead } = run(running, [{ type: 'killing', reason: 'x' }, { type: 'killed', exit: exit(null, 'SIGTERM') }, { type: 'stopped', final: false, keep: true }]);
  assert.equal(dead!.state, 'dead');
  const restarting = transition(running, { type: 'exited', handle: h, exit: exit(1) }, ctx(desiredOf())).record!;
  assert.equal(transition(restarting, { type: 'group-stop', reason: 'x', then: 'dead' }, ctx(desiredOf())).record!.state, 'dead', 'a pending restart is cancelled for good');
  const reset = transition(dead, { type: 'alloc-reset', reason: 'the group restarts with a new spec' }, ctx(desiredOf()));
  assert.equal(reset.record!.state, 'pending');
  assert.equal(reset.record!.window, undefined, 'a new run starts a new restart window');
  assert.deepEqual(types(reset), ['Restart Signaled']);
  assert.deepEqual(reset.actions, []);
  assert.equal(transition(reset.record, { type: 'alloc-reset', reason: 'again' }, ctx(desiredOf())).changed, false, 'a pending record is left as it is');
});

test('transition: waiting for ports is pending with the reason, a Port Conflict once per reason; the diff waits until the book has them', () => {
  const d = desiredOf();
  const b1 = transition(undefined, { type: 'blocked', reason: 'static port 80 (port "http") is reserved', cause: 'ports' }, ctx(d));
  assert.equal(b1.record!.state, 'pending');
  assert.equal(b1.record!.error, 'waiting for ports: static port 80 (port "http") is reserved');
  assert.deepEqual(types(b1), ['Received', 'Port Conflict']);
  assert.deepEqual(types(transition(b1.record, { type: 'blocked', reason: 'static port 80 (port "http") is reserved', cause: 'ports' }, ctx(d))), []);
  const held = (reason?: string) => ({ desired: d, diff: { now: NOW, driverBlocked: () => undefined, allocBlocked: () => reason }, random: () => 0.5 });
  // Still blocked for the same reason: nothing to do; a new reason: try (and record it); free: start.
  assert.deepEqual(kinds(transition(b1.record, { type: 'sync' }, held('static port 80 (port "http") is reserved'))), []);
  assert.deepEqual(kinds(transition(b1.record, { type: 'sync' }, held('another reason'))), ['start']);
  assert.deepEqual(kinds(transition(b1.record, { type: 'sync' }, held(undefined))), ['start']);
  // A running task whose edit cannot get its ports keeps running; once it can, it restarts.
  const { rec } = run(undefined, [{ type: 'starting', manual: false }, { type: 'launched', handle: handle(10) }, { type: 'started' }], desiredOf(['1000']));
  const edit = desiredOf(['2000']);
  const blockedEdit = transition(rec, { type: 'sync' }, { ...held('held by job "x"'), desired: edit });
  assert.deepEqual(kinds(blockedEdit), []);
  assert.deepEqual(kinds(transition(rec, { type: 'sync' }, { ...held(undefined), desired: edit })), ['stop']);
});
