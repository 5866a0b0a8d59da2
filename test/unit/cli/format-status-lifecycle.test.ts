import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView, TaskView } from '../../../src/api/api.js';
import { renderJob, renderTask, taskNote } from '../../../src/cli/format/status.js';
import { palette } from '../../../src/cli/format/color.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

function task(name: string, over: Partial<TaskView> = {}): TaskView {
  return {
    id: `app/g[0]/${name}`,
    job: 'app',
    group: 'g',
    index: 0,
    task: name,
    allocId: 'a1',
    driver: 'raw_exec',
    state: 'pending',
    restarts: 0,
    resources: { cpu: 100, memoryMB: 64 },
    file: '/jobs/app.hcl',
    ...over,
  };
}

const job = (tasks: TaskView[]): JobView => ({ id: 'app', file: '/jobs/app.hcl', type: 'service', status: 'pending', tasks });

test('status JOB: tasks in lifecycle order with their hook', () => {
  const tasks = [
    task('api', { leader: true, waiting: 'waiting for prestart task "migrate" to complete' }),
    task('cleanup', { lifecycle: { hook: 'poststop', sidecar: false } }),
    task('zz-proxy', { lifecycle: { hook: 'prestart', sidecar: true }, state: 'running' }),
    task('migrate', { lifecycle: { hook: 'prestart', sidecar: false }, state: 'running' }),
    task('announce', { lifecycle: { hook: 'poststart', sidecar: false } }),
  ];
  const out = renderJob(job(tasks), [], undefined, { now: NOW });
  const rows = out.split('\n').filter((l) => l.startsWith('g[0]'));
  assert.deepEqual(
    rows.map((l) => l.split(/\s{2,}/)[1]),
    ['migrate [prestart]', 'zz-proxy [prestart sidecar]', 'api [leader]', 'announce [poststart]', 'cleanup [poststop]'],
  );
  assert.match(rows[2], /waiting for prestart task "migrate" to complete/);
});

test('status JOB: views without lifecycle keep name order, untagged', () => {
  const out = renderJob(job([task('b'), task('a')]), [], undefined, { now: NOW });
  const rows = out.split('\n').filter((l) => l.startsWith('g[0]'));
  assert.deepEqual(rows.map((l) => l.split(/\s{2,}/)[1]), ['a', 'b']);
});

test('status TASK: a Lifecycle line for hook tasks only', () => {
  assert.match(renderTask(task('p', { lifecycle: { hook: 'prestart', sidecar: true } }), { now: NOW }), /Lifecycle += prestart sidecar\n/);
  assert.doesNotMatch(renderTask(task('m'), { now: NOW }), /Lifecycle/);
});

test('status note: waiting shows only while the task does not run and has no error', () => {
  const p = palette(false);
  assert.equal(taskNote(task('m', { waiting: 'waiting for x' }), NOW, p), 'waiting for x');
  assert.equal(taskNote(task('m', { waiting: 'waiting for x', state: 'running' }), NOW, p), '-');
  assert.equal(taskNote(task('m', { waiting: 'waiting for x', error: 'boom' }), NOW, p), 'boom');
});
