/**
 * The API server on real sockets: socket mode and stale/live socket handling,
 * the loopback TCP listener and its token, JSON errors, Prometheus metrics,
 * event stream heartbeats, and close() ending open streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startApiServer, type ApiServerOptions } from '../../../src/api/server.js';
import { PromMetrics } from '../../../src/api/metrics.js';
import { createClient } from '../../../src/api/client.js';
import { isTendError } from '../../../src/errors.js';
import { FakeAgent, agentWithTasks, capturingLogger } from './fake-agent.js';
import { waitFor } from '../../helpers/wait.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tend-api-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}



async function serve(t: { after(fn: () => Promise<void>): void }, agent: FakeAgent, o: Partial<ApiServerOptions> = {}) {
  const dir = await tempDir(t);
  const metrics = new PromMetrics({ defaultMetrics: false });
  const server = await startApiServer(agent, { socket: path.join(dir, 'tend.sock'), logger: pino({ level: 'silent' }), metrics, ...o });
  t.after(() => server.close());
  return { dir, server, metrics };
}

function request(target: { socketPath: string } | { host: string; port: number }, urlPath: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ ...target, path: urlPath, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('api server: the socket is mode 0600, owned by the agent user, removed on close', async (t) => {
  const { server } = await serve(t, agentWithTasks());
  const st = await lstat(server.socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, process.getuid!());
  await server.close();
  await assert.rejects(lstat(server.socket), { code: 'ENOENT' });
});

test('api server: a live socket is refused, a stale one replaced, a non-socket path refused', async (t) => {
  const { dir, server } = await serve(t, agentWithTasks());
  await assert.rejects(
    startApiServer(new FakeAgent(), { socket: server.socket, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }) }),
    /another tend agent is already serving on this socket/,
  );
  // A stale socket: its owner was SIGKILLed and never removed the file.
  const stale = path.join(dir, 'stale.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((r) => child.once('exit', r));
  assert.ok((await lstat(stale)).isSocket());
  const second = await startApiServer(agentWithTasks(), { socket: stale, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }) });
  t.after(() => second.close());
  const client = createClient({ address: `unix://${stale}` });
  assert.equal((await client.tasks()).length, 1);
  client.close();
  const file = path.join(dir, 'file.sock');
  await writeFile(file, '');
  await assert.rejects(
    startApiServer(new FakeAgent(), { socket: file, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }) }),
    /the path exists and is not a socket/,
  );
});

test('api server: TCP needs a token and a loopback address', async (t) => {
  const dir = await tempDir(t);
  const base = { socket: path.join(dir, 'tend.sock'), logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }) };
  await assert.rejects(startApiServer(new FakeAgent(), { ...base, address: '127.0.0.1:0' }), (err) => isTendError(err, 'E_CONFIG_INVALID') && /without api\.token/.test(err.message));
  await assert.rejects(startApiServer(new FakeAgent(), { ...base, address: '0.0.0.0:0', token: 'x' }), /must be a loopback address/);
  await assert.rejects(lstat(base.socket), { code: 'ENOENT' }, 'a refused start leaves no socket behind');
});

test('api server: TCP answers 401 without or with a wrong token, 200 with it; the token is never logged', async (t) => {
  const token = 's3cr3t-token-value';
  const lines: string[] = [];
  const { server } = await serve(t, agentWithTasks(), { address: '127.0.0.1:0', token, logger: capturingLogger(lines) });
  const url = new URL(server.tcpUrl!);
  const target = { host: url.hostname, port: Number(url.port) };
  const none = await request(target, '/v1/tasks');
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.body).error.code, 'E_UNAUTHORIZED');
  assert.equal((await request(target, '/v1/tasks', { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await request(target, '/metrics', { authorization: `Bearer ${token}x` })).status, 401);
  const ok = await request(target, '/v1/tasks', { authorization: `Bearer ${token}` });
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body)[0].id, 'web/g[0]/t');
  // the client sends TEND_TOKEN / -token
  const client = createClient({ address: server.tcpUrl, env: { TEND_TOKEN: token } });
  assert.equal((await client.tasks()).length, 1);
  client.close();
  await assert.rejects(createClient({ address: server.tcpUrl, env: {} }).tasks(), (err) => isTendError(err, 'E_UNAUTHORIZED'));
  await waitFor(() => lines.filter((l) => l.includes('"api request"')).length >= 6, { what: 'request log lines' });
  assert.ok(lines.length > 0);
  assert.ok(!lines.some((l) => l.includes(token)), 'the token appears in a log line');
});

test('api server: errors are JSON with a code; a missing task is a 404 naming it', async (t) => {
  const { server } = await serve(t, agentWithTasks());
  const target = { socketPath: server.socket };
  const missing = await request(target, '/v1/task/nope%2Fx');
  assert.equal(missing.status, 404);
  assert.match(missing.headers['content-type']!, /application\/json/);
  assert.deepEqual(JSON.parse(missing.body), { error: { code: 'E_TASK_NOT_FOUND', message: 'task "nope/x" not found (tendctl status lists the tasks)', details: { task: 'nope/x', suggestions: [] } } });
  const endpoint = await request(target, '/v2/whatever');
  assert.equal(endpoint.status, 404);
  assert.equal(JSON.parse(endpoint.body).error.message, 'no such endpoint: /v2/whatever');
  const method = await request(target, '/v1/tasks', {}, 'DELETE');
  assert.equal(method.status, 405);
  assert.equal(method.headers.allow, 'GET');
  const bad = await request(target, '/v1/events?after=x');
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.body).error.code, 'E_BAD_REQUEST');
});

/** Prometheus text exposition: `# HELP`/`# TYPE` lines and `name{label="v",…} value` samples. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|NaN|\+Inf|-Inf))$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return samples;
}

test('api server: /metrics is Prometheus text and moves with the agent', async (t) => {
  const { server, metrics } = await serve(t, agentWithTasks());
  const client = createClient({ address: `unix://${server.socket}` });
  t.after(() => client.close());
  metrics.setTaskStates({ raw_exec: { running: 3, restarting: 1 } });
  metrics.taskStarted('raw_exec', 42);
  metrics.restart('raw_exec');
  metrics.oomKill('exec');
  metrics.reconcilePass(3);
  metrics.queueDepth(2);
  metrics.fileLoadError();
  metrics.taskExited('raw_exec', { code: 1 });
  let m = parsePrometheus(await client.metrics());
  assert.equal(m.get('tend_tasks{state="running",driver="raw_exec"}'), 3);
  assert.equal(m.get('tend_task_starts_total{driver="raw_exec"}'), 1);
  assert.equal(m.get('tend_task_launch_duration_seconds_bucket{le="0.05",driver="raw_exec"}'), 1);
  assert.equal(m.get('tend_task_launch_duration_seconds_bucket{le="0.025",driver="raw_exec"}'), 0);
  assert.equal(m.get('tend_task_restarts_total{driver="raw_exec"}'), 1);
  assert.equal(m.get('tend_task_oom_kills_total{driver="exec"}'), 1);
  assert.equal(m.get('tend_reconcile_pass_duration_seconds_count'), 1);
  assert.equal(m.get('tend_work_queue_depth'), 2);
  assert.equal(m.get('tend_job_file_load_errors_total'), 1);
  assert.equal(m.get('tend_task_exits_total{driver="raw_exec",outcome="failure"}'), 1);
  // a task stops: the running count drops, the state that vanished reads 0
  metrics.setTaskStates({ raw_exec: { running: 2 } });
  m = parsePrometheus(await client.metrics());
  assert.equal(m.get('tend_tasks{state="running",driver="raw_exec"}'), 2);
  assert.equal(m.get('tend_tasks{state="restarting",driver="raw_exec"}'), 0);
});

test('api server: an idle event stream carries heartbeats; close() ends it', async (t) => {
  const agent = agentWithTasks();
  const { server } = await serve(t, agent, { heartbeatMs: 50 });
  let body = '';
  let ended = false;
  const req = http.request({ socketPath: server.socket, path: '/v1/events?follow=1', agent: false }, (res) => {
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type']!, /application\/x-ndjson/);
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => (ended = true));
    res.on('error', () => (ended = true));
  });
  req.end();
  t.after(() => req.destroy());
  await waitFor(() => (body.match(/"heartbeat"/g) ?? []).length >= 2, { what: 'two heartbeats' });
  agent.publish({ task: 'web/g[0]/t', job: 'web', type: 'Started', message: 'hi' });
  await waitFor(() => body.includes('"message":"hi"'), { what: 'the event' });
  for (const line of body.trim().split('\n')) JSON.parse(line);
  await server.close();
  await waitFor(() => ended, { what: 'the stream to end on close' });
  assert.equal(agent.subscribers, 0);
});

test('api client: plan sends an absolute dir, resolved against the caller\'s cwd', async (t) => {
  const agent = agentWithTasks();
  const { server } = await serve(t, agent);
  const client = createClient({ address: `unix://${server.socket}`, cwd: '/work/repo' });
  t.after(() => client.close());
  const plan = await client.plan('jobs');
  assert.equal(agent.lastPlanDir, '/work/repo/jobs');
  assert.deepEqual(plan.actions, [{ kind: 'start', task: 'new/g[0]/t', job: 'new' }]);
  await client.plan();
  assert.equal(agent.lastPlanDir, undefined);
});
