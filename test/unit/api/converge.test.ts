import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convergence, mayChangeSilently, taskReadiness, targetState, withPlan } from '../../../src/api/converge.js';
import type { PlanAction } from '../../../src/api/api.js';
import type { CheckView, DeploymentView, FileView, JobView, TaskView } from '../../../src/api/api.js';

function task(job: string, index: number, over: Partial<TaskView> = {}): TaskView {
  return {
    id: `${job}/g[${index}]/t`,
    job,
    group: 'g',
    index,
    task: 't',
    allocId: `a${index}`,
    driver: 'raw_exec',
    state: 'running',
    restarts: 0,
    resources: { cpu: 100, memoryMB: 64 },
    file: `/jobs/${job}.hcl`,
    ...over,
  };
}

function job(id: string, tasks: TaskView[], over: Partial<JobView> = {}): JobView {
  return { id, file: `/jobs/${id}.hcl`, type: 'service', status: 'running', tasks, ...over };
}

const file = (jobs: string[], over: Partial<FileView> = {}): FileView => ({ path: `/jobs/${jobs[0]}.hcl`, ok: true, jobs, diagnostics: [], ...over });

function check(status: CheckView['status'], mode: CheckView['mode'] = 'healthiness'): CheckView {
  return { id: 'c', name: 'http', type: 'http', service: 's', status, since: '', mode, intervalMs: 1000, timeoutMs: 1000 };
}

test('converged: a service task is ready running with its health checks passing', () => {
  assert.deepEqual(taskReadiness(task('w', 0), 'service'), { kind: 'ready' });
  assert.deepEqual(taskReadiness(task('w', 0, { checks: [check('pending')] }), 'service'), { kind: 'progressing', why: 'running; check "http" pending' });
  assert.deepEqual(taskReadiness(task('w', 0, { checks: [check('critical', 'readiness')] }), 'service'), { kind: 'ready' });
  assert.equal(taskReadiness(task('w', 0, { state: 'complete' }), 'service').kind, 'ready');
  for (const state of ['pending', 'starting', 'restarting', 'stopping'] as const) assert.equal(taskReadiness(task('w', 0, { state }), 'service').kind, 'progressing', state);
  assert.deepEqual(taskReadiness(task('w', 0, { state: 'dead' }), 'service'), { kind: 'progressing', why: 'stopped' });
});

test('converged: a batch task is ready complete (or stopped with its group); running is not enough', () => {
  assert.deepEqual(taskReadiness(task('b', 0), 'batch'), { kind: 'progressing', why: 'running (waits to complete)' });
  assert.deepEqual(taskReadiness(task('b', 0, { state: 'complete' }), 'batch'), { kind: 'ready' });
  assert.deepEqual(taskReadiness(task('b', 0, { state: 'dead' }), 'sysbatch'), { kind: 'ready' });
  assert.equal(targetState(task('b', 0), 'batch'), 'complete');
});

test('converged: lifecycle: sidecars run, init tasks complete, poststop waits', () => {
  const init = task('w', 0, { lifecycle: { hook: 'prestart', sidecar: false } });
  assert.equal(taskReadiness(init, 'service').kind, 'progressing');
  assert.equal(taskReadiness({ ...init, state: 'complete' }, 'service').kind, 'ready');
  const side = task('w', 0, { lifecycle: { hook: 'prestart', sidecar: true } });
  assert.equal(targetState(side, 'batch'), 'running');
  assert.equal(taskReadiness(side, 'batch').kind, 'ready');
  const post = task('w', 0, { state: 'pending', waiting: 'waits for the main tasks to end', lifecycle: { hook: 'poststop', sidecar: false } });
  assert.equal(taskReadiness(post, 'service').kind, 'ready');
});

test('converged: failed tasks and unavailable drivers are fatal; port and template waits and crash loops are not', () => {
  assert.deepEqual(
    taskReadiness(task('w', 0, { state: 'failed', error: 'exceeded allowed attempts 2 in interval 30m0s', lastExit: { code: 3, signal: null, oomKilled: false, at: '', known: true } }), 'service'),
    { kind: 'fatal', why: 'failed: exceeded allowed attempts 2 in interval 30m0s (last exit code 3)' },
  );
  assert.deepEqual(taskReadiness(task('w', 0, { state: 'pending', error: 'driver exec unavailable: needs root' }), 'service'), { kind: 'fatal', why: 'driver exec unavailable: needs root' });
  assert.deepEqual(taskReadiness(task('w', 0, { state: 'pending', error: 'waiting for ports: 8080 held by other' }), 'service'), { kind: 'progressing', why: 'pending: waiting for ports: 8080 held by other' });
  assert.deepEqual(
    taskReadiness(task('w', 0, { state: 'restarting', restarts: 2, lastExit: { code: 1, signal: null, oomKilled: false, at: '', known: true } }), 'service'),
    { kind: 'progressing', why: 'restarting after exit code 1 (2 restarts)' },
  );
});

test('convergence: counts, label and the states of what is not ready', () => {
  const jobs = [job('web', [task('web', 0), task('web', 1, { state: 'pending' }), task('web', 2, { state: 'starting' })]), job('api', [task('api', 0)])];
  const c = convergence(jobs, [file(['web']), file(['api'])]);
  assert.equal(c.converged, false);
  assert.equal(c.failed, false);
  assert.deepEqual([c.ready, c.total, c.label], [2, 4, 'running']);
  assert.deepEqual(c.notReady, { pending: 1, starting: 1 });
  assert.deepEqual(c.problems.map((p) => p.task), ['web/g[1]/t', 'web/g[2]/t']);
  const only = convergence(jobs, [file(['web']), file(['api'])], ['api']);
  assert.equal(only.converged, true);
  assert.deepEqual([only.ready, only.total, only.jobs], [1, 1, ['api']]);
  const mixed = convergence([...jobs, job('b', [task('b', 0, { state: 'complete' })], { type: 'batch' })], [file(['web']), file(['api']), file(['b'])], ['api', 'b']);
  assert.deepEqual([mixed.converged, mixed.label], [true, 'ready']);
  assert.equal(convergence([], []).converged, true);
});

test('convergence: invalid files and failed or reverted rollouts are fatal; a running rollout is not', () => {
  const web = job('web', [task('web', 0)]);
  const bad = file(['web'], { ok: false, lastGoodAt: 'x', diagnostics: [{ severity: 'error', kind: 'schema', file: '/jobs/web.hcl', line: 12, column: 3, path: '', message: 'unknown field "memroy"' }] });
  const c = convergence([web], [bad]);
  assert.deepEqual(c.problems, [{ job: 'web', file: '/jobs/web.hcl', why: '/jobs/web.hcl:12: unknown field "memroy" (its last good version stays in force)', fatal: true }]);
  assert.equal(c.failed, true);
  const dep = (status: DeploymentView['status'], over: Partial<DeploymentView> = {}): DeploymentView => ({ job: 'web', id: 'd', version: 'v2', status, description: 'Deployment is running', startedAt: '', groups: [], ...over });
  assert.deepEqual(convergence([{ ...web, deployment: dep('running') }], [file(['web'])]).problems, [{ job: 'web', why: 'rollout running: Deployment is running', fatal: false }]);
  assert.equal(convergence([{ ...web, deployment: dep('failed', { description: 'Failed due to unhealthy allocations' }) }], [file(['web'])]).problems[0].why, 'rollout failed: Failed due to unhealthy allocations');
  assert.equal(convergence([{ ...web, deployment: dep('successful') }], [file(['web'])]).converged, true);
});

test('convergence: unknown named jobs wait; excluded jobs and children are left out; a removed job converges once its tasks are gone', () => {
  const c = convergence([], [], ['nope']);
  assert.deepEqual(c.problems, [{ job: 'nope', why: 'job nope is not known to the agent (yet)', fatal: false, recheck: true }]);
  const excluded = job('gpu', [], { status: 'excluded' });
  const child = job('cron/periodic-1', [task('cron/periodic-1', 0)], { parent: 'cron', type: 'batch' });
  assert.equal(convergence([excluded, child], [file(['cron'])]).converged, true);
  const removed = job('old', [task('old', 0, { state: 'stopping' }), task('old', 1, { state: 'dead' })]);
  const r = convergence([removed], []);
  assert.deepEqual(r.problems, [{ job: 'old', task: 'old/g[0]/t', why: 'stopping: its file left the jobs dir', fatal: false }]);
  assert.equal(r.total, 0);
  assert.equal(mayChangeSilently([removed], []), true);
  assert.deepEqual(r.jobs, ['old'], 'counted while something of it is left');
  const done = convergence([job('old', [task('old', 1, { state: 'dead' })]), job('empty', [])], []);
  assert.equal(done.converged, true);
  assert.deepEqual(done.jobs, [], 'not counted once nothing of it is left');
  assert.equal(mayChangeSilently([job('b', [task('b', 0, { state: 'dead' })], { type: 'batch' })], [file(['b'])]), false);
});

test('convergence with the plan: unapplied changes keep it from converging and make a failure they replace not final', () => {
  const web = job('web', [task('web', 0)]);
  const act = (kind: PlanAction['kind'], jobId = 'web', over: Partial<PlanAction> = {}): PlanAction => ({ kind, task: `${jobId}/g[0]/t`, job: jobId, ...over });
  const c = convergence([web], [file(['web'])]);
  assert.equal(withPlan(c, { actions: [act('none')], files: [file(['web'])] }).converged, true);
  const pending = withPlan(c, { actions: [act('restart'), act('start', 'api'), act('start', 'api')], files: [file(['web'])] });
  assert.equal(pending.converged, false);
  assert.deepEqual(pending.problems, [{ job: 'web, api', why: 'the jobs dir has changes the agent has not applied yet: 1 to restart, 2 to start (tendctl plan shows them)', fatal: false, recheck: true }]);
  // Only the named jobs' changes count; an action waiting for a rollout is the rollout's.
  assert.equal(withPlan(convergence([web], [file(['web'])], ['web']), { actions: [act('start', 'api'), act('restart', 'web', { waits: 'rollout' })], files: [] }, ['web']).converged, true);
  // A failed task whose job the sync changes is not final.
  const failed = convergence([job('web', [task('web', 0, { state: 'failed' })])], [file(['web'])]);
  assert.equal(failed.failed, true);
  const replaced = withPlan(failed, { actions: [act('restart')], files: [file(['web'])] });
  assert.deepEqual([replaced.failed, replaced.converged], [false, false]);
  // A file fixed on disk is no longer a failure; one broken on disk is.
  const bad = file(['web'], { ok: false, diagnostics: [{ severity: 'error', kind: 'syntax', file: '/jobs/web.hcl', line: 3, column: 1, path: '', message: 'Unclosed brace' }] });
  const broken = convergence([web], [bad]);
  assert.equal(withPlan(broken, { actions: [], files: [file(['web'])] }).converged, true);
  const now = withPlan(c, { actions: [], files: [{ ...bad, path: '/jobs/new.hcl', jobs: [] }] });
  assert.deepEqual(now.problems, [{ job: '/jobs/new.hcl', file: '/jobs/new.hcl', why: '/jobs/new.hcl:3: Unclosed brace', fatal: true }]);
});
