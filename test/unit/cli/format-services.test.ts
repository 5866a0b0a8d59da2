import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckView, JobView, ServiceInstanceView, TaskView } from '../../../src/api/api.js';
import { renderJob, renderStatus, renderTask } from '../../../src/cli/format/status.js';
import { renderServiceInfo, renderServiceList } from '../../../src/cli/format/services.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

function check(over: Partial<CheckView> = {}): CheckView {
  return { id: 'r#0', name: 'http', type: 'http', service: 'web-api', task: 'server', group: true, status: 'passing', output: 'HTTP GET http://10.0.0.5:23456/health: 200 OK Output: ok', at: iso(-3000), since: iso(-60_000), mode: 'healthiness', intervalMs: 10_000, timeoutMs: 2000, ...over };
}

function task(checks: CheckView[]): TaskView {
  return { id: 'web/fe[0]/server', job: 'web', group: 'fe', index: 0, task: 'server', allocId: 'a1b2c3d4e5', driver: 'exec', state: 'running', pid: 42, startedAt: iso(-100_000), restarts: 0, resources: { cpu: 100, memoryMB: 256 }, file: '/jobs/web.hcl', checks };
}

test('status: the task table names a failing check in DETAILS; the task and job views list checks with status, last result and output', () => {
  const failing = check({ id: 'r#1', name: 'tcp', type: 'tcp', status: 'critical', output: 'TCP connect 10.0.0.5:23456: connect ECONNREFUSED 10.0.0.5:23456', checkRestart: { limit: 3, graceMs: 30_000, ignoreWarnings: false } });
  const t = task([check(), failing]);
  const job: JobView = { id: 'web', file: '/jobs/web.hcl', type: 'service', status: 'running', tasks: [t] };
  assert.match(renderStatus({ jobs: [job], files: [] }, { now: NOW }).split('\n')[1], /check "tcp" critical$/);
  const detail = renderTask(t, { now: NOW });
  assert.match(detail, /^Checks\n\s+STATUS\s+CHECK\s+TYPE\s+SERVICE\s+TASK\s+LAST\s+OUTPUT\n\s+passing\s+http\s+http\s+web-api\s+server \(group\)\s+3s ago\s+HTTP GET http:\/\/10\.0\.0\.5:23456\/health: 200 OK Output: ok\n\s+critical\s+tcp\s+tcp\s+web-api\s+server \(group\)\s+3s ago\s+TCP connect/m);
  assert.match(detail, /^ {2}tcp \(critical\): every 10s, timeout 2s, restart after 3 unhealthy \(grace 30s\)\n {4}TCP connect 10\.0\.0\.5:23456: connect ECONNREFUSED 10\.0\.0\.5:23456$/m);
  const jv = renderJob(job, [], undefined, { now: NOW });
  assert.match(jv, /^Checks\n\s+STATUS/m);
});

test('services: the list shows tags, instances and their health; the info shows each instance and its checks', () => {
  assert.equal(renderServiceList([]), 'No services registered.\n');
  const list = renderServiceList([{ name: 'web-api', namespace: 'default', tags: ['v1'], instances: 3, passing: 2, warning: 0, critical: 1, pending: 0, jobs: ['web'] }]);
  assert.equal(list, 'SERVICE NAME  TAGS  INSTANCES  HEALTH                 JOBS\nweb-api       [v1]  3          2 passing, 1 critical  web\n');
  const inst: ServiceInstanceView = { id: 'x', name: 'web-api', namespace: 'default', job: 'web', group: 'fe', index: 0, allocId: 'a1b2c3d4e5', tags: ['v1'], meta: {}, address: '10.0.0.5', port: 23456, status: 'passing', checks: [check()], file: '/jobs/web.hcl' };
  const info = renderServiceInfo('web-api', [inst], NOW);
  assert.match(info, /^JOB\s+GROUP\s+TASK\s+ADDRESS\s+TAGS\s+HEALTH\s+ALLOC ID\nweb\s+fe\[0\]\s+\(group\)\s+10\.0\.0\.5:23456\s+\[v1\]\s+passing\s+a1b2c3d4$/m);
  assert.match(info, /^Checks of web-api at 10\.0\.0\.5:23456 \(web\/fe\[0\]\):$/m);
});
