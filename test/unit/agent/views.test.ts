import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskView } from '../../../src/api/api.js';
import { jobViews } from '../../../src/agent/views.js';

function tv(id: string, over: Partial<TaskView> = {}): TaskView {
  const [job, rest] = [id.split('/')[0], id];
  return { id: rest, job, group: 'g', index: 0, task: 't', allocId: 'a', driver: 'raw_exec', state: 'running', restarts: 0, resources: { cpu: 100, memoryMB: 64 }, file: `/jobs/${job}.hcl`, ...over };
}

test('job status: a job whose file left the jobs dir is "stopping" while its tasks stop, with why; a crash-looping one is "degraded"', () => {
  const exit = { code: 3, signal: null, oomKilled: false, at: '2026-01-01T00:00:00Z', known: true };
  const views = jobViews({
    tasks: [
      tv('gone/g[0]/t', { state: 'stopping' }),
      tv('loop/g[0]/t', { state: 'restarting', lastExit: exit }),
      tv('loop/g[1]/t', { index: 1, state: 'restarting', lastExit: exit }),
      tv('loop/g[2]/t', { index: 2 }),
      tv('ok/g[0]/t'),
    ],
    files: [],
    types: new Map([
      ['loop', 'service'],
      ['ok', 'service'],
    ]),
  });
  const by = new Map(views.map((v) => [v.id, v]));
  assert.deepEqual([by.get('gone')!.status, by.get('gone')!.reason], ['stopping', 'its file left the jobs dir: stopping its tasks']);
  assert.deepEqual([by.get('loop')!.status, by.get('loop')!.reason], ['degraded', 'loop/g[0]/t ended (exit code 3) and waits to restart (restart policy); 1 more task too']);
  assert.deepEqual([by.get('ok')!.status, by.get('ok')!.reason], ['running', undefined]);
});
