/**
 * `tendctl deployment status|fail|promote` and /v1/job/<job>/deployment as an operator meets them:
 * the real tendctl binary and API server on a temp socket, a fake agent holding deployments.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { PromMetrics } from '../../../src/api/metrics.js';
import type { DeploymentView } from '../../../src/api/api.js';
import { FakeAgent, makeTask } from './fake-agent.js';
import { killCliChildren, startCli } from '../../helpers/cli.js';

let root: string;
let sock: string;
let agent: FakeAgent;
let server: ApiServer;

const tendctl = (args: string[]) => startCli(args, { env: { TEND_ADDR: `unix://${sock}`, TEND_TOKEN: '', NO_COLOR: '' } }).done;

function request(method: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, path: urlPath, method, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

const group = (over: Partial<DeploymentView['groups'][number]> = {}): DeploymentView['groups'][number] => ({
  name: 'g',
  desiredTotal: 3,
  placed: 2,
  healthy: 1,
  unhealthy: 0,
  maxParallel: 1,
  healthCheck: 'task_states',
  minHealthyTime: '1s',
  healthyDeadline: '5s',
  progressDeadline: '10m',
  autoRevert: true,
  allocs: [{ index: 0, placedAt: new Date().toISOString(), healthyAt: new Date().toISOString() }, { index: 1, placedAt: new Date().toISOString() }],
  ...over,
});

const running: DeploymentView = { job: 'web', id: '1a2b3c4d', version: '9f8e7d6c', fileRevision: 'abcdef012345', status: 'running', description: 'Deployment is running', startedAt: new Date().toISOString(), groups: [group()] };
const reverted: DeploymentView = {
  job: 'api',
  id: '5e6f7a8b',
  version: '11112222',
  fileRevision: '000011112222',
  rollback: true,
  status: 'successful',
  description: 'Deployment completed successfully',
  startedAt: new Date().toISOString(),
  groups: [group({ placed: 3, healthy: 3 })],
  stable: { version: '11112222', at: new Date().toISOString() },
  reverted: { version: '33334444', fileRevision: 'feedfacecafe', at: new Date().toISOString(), reason: 'Failed due to unhealthy allocations', stableVersion: '11112222' },
};

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tend-deployment-cli-'));
  sock = path.join(root, 'tend.sock');
  agent = new FakeAgent([
    { id: 'web', file: '/jobs/web.hcl', type: 'service', status: 'running', tasks: [makeTask('web', 'g', 0, 't')], deployment: running },
    { id: 'api', file: '/jobs/api.hcl', type: 'service', status: 'running', tasks: [makeTask('api', 'g', 0, 't')], deployment: reverted, reason: 'reverted, file revision feedfacecafe is failing' },
  ]);
  server = await startApiServer(agent, { socket: sock, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }), heartbeatMs: 200 });
});

after(async () => {
  killCliChildren();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

test('tendctl deployment status: the rollout\'s progress, its settings and a revert in force; -json is the API\'s view', async () => {
  const r = await tendctl(['deployment', 'status', 'web']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ID\s+= 1a2b3c4d/);
  assert.match(r.stdout, /Version\s+= 9f8e7d6c \(file revision abcdef012345\)/);
  assert.match(r.stdout, /Status\s+= running: Deployment is running/);
  assert.match(r.stdout, /GROUP\s+DESIRED\s+PLACED\s+HEALTHY\s+UNHEALTHY\s+MAX_PARALLEL\s+HEALTH_CHECK/);
  assert.match(r.stdout, /g\s+3\s+2\s+1\s+0\s+1\s+task_states\s+1s\s+5s/);
  const j = await tendctl(['deployment', 'status', '-json', 'api']);
  assert.deepEqual(JSON.parse(j.stdout), reverted);
  const a = await tendctl(['deployment', 'status', 'api']);
  assert.match(a.stdout, /Reverted = file revision feedfacecafe \(version 33334444\) is failing: Failed due to unhealthy allocations; version 11112222 runs until the file changes/);
  const s = await tendctl(['status', 'web']);
  assert.match(s.stdout, /Deployment = running, 1\/3 healthy, max_parallel 1/);
  const all = await tendctl(['status']);
  assert.match(all.stdout, /Rollouts:\n\s+JOB\s+DEPLOYMENT\s+VERSION\s+STATUS\n\s+api\s+5e6f7a8b\s+11112222\s+reverted, file revision feedfacecafe is failing; version 11112222 runs\n\s+web\s+1a2b3c4d\s+9f8e7d6c\s+running, 1\/3 healthy, max_parallel 1/);
});

test('tendctl deployment fail and promote reach the agent; clear errors for no deployment, a finished one, a bad subcommand', async () => {
  const p = await tendctl(['deployment', 'promote', 'web']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, 'Deployment 1a2b3c4d of web: 1 allocation marked healthy\n');
  const f = await tendctl(['deployment', 'fail', 'web']);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(f.stdout, 'Deployment 1a2b3c4d of web: Deployment marked as failed\n');
  assert.deepEqual(agent.deploymentCalls, [{ kind: 'promote', job: 'web' }, { kind: 'fail', job: 'web' }]);
  const again = await tendctl(['deployment', 'fail', 'web']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /failed to fail the deployment of web: expected a running deployment, got failed \(Deployment marked as failed\) \[E_BAD_REQUEST\]/);
  const none = await tendctl(['deployment', 'status', 'nope']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no service job nope with rollouts has run \[E_JOB_NOT_FOUND\]/);
  const usage = await tendctl(['deployment', 'resume', 'web']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /expected "status", "fail" or "promote", got "resume"/);
  assert.equal((await request('GET', '/v1/job/nope/deployment')).status, 404);
  assert.equal((await request('GET', '/v1/job/web/deployment/fail')).status, 405);
  assert.equal((await request('POST', '/v1/job/web/deployment/pause')).status, 404);
});
