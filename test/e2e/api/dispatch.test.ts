/**
 * `tendctl job dispatch` and POST /v1/job/<job>/dispatch as an operator meets them: the real
 * tendctl binary and API server on a temp socket, a fake agent that checks dispatches with the
 * agent's own rules (src/reconcile/dispatch.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { PromMetrics } from '../../../src/api/metrics.js';
import { FakeAgent } from './fake-agent.js';
import { killCliChildren, startCli } from '../../helpers/cli.js';
import { makeJob } from '../../unit/agent/fixtures.js';
import type { Job, Parameterized } from '../../../src/jobspec/model.js';

let root: string;
let sock: string;
let agent: FakeAgent;
let server: ApiServer;

const param = (id: string, q: Partial<Parameterized>): Job => ({ ...makeJob(id, { type: 'batch' }), parameterized: { payload: 'optional', metaRequired: [], metaOptional: [], pos: { file: '', line: 0, column: 0 }, ...q } });
const tendctl = (args: string[], input?: string) => startCli(args, { env: { TEND_ADDR: `unix://${sock}`, TEND_TOKEN: '', NO_COLOR: '' }, ...(input !== undefined ? { input } : {}) }).done;

function post(urlPath: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, path: urlPath, method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tend-dispatch-cli-'));
  sock = path.join(root, 'tend.sock');
  agent = new FakeAgent([], []);
  agent.parameterizedJobs.set('render', param('render', { payload: 'required', metaRequired: ['run'], metaOptional: ['mode'] }));
  agent.parameterizedJobs.set('ping', param('ping', { payload: 'forbidden' }));
  server = await startApiServer(agent, { socket: sock, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }), heartbeatMs: 200 });
});

after(async () => {
  killCliChildren();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

test('tendctl job dispatch: meta and a payload from a file or stdin reach the agent; the child id is printed as Nomad does', async () => {
  const file = path.join(root, 'payload.json');
  await writeFile(file, '{"scene": 3}\n');
  const r = await tendctl(['job', 'dispatch', '-meta', 'run=42', '-meta', 'mode=a=b', 'render', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Dispatched Job ID = render\/dispatch-\d+-[0-9a-f]{8}\n$/);
  const d = agent.dispatched.at(-1)!;
  assert.deepEqual(d.meta, { run: '42', mode: 'a=b' }, 'split on the first "="');
  assert.equal(d.payload?.toString(), '{"scene": 3}\n');

  const s = await tendctl(['job', 'dispatch', '-json', '-meta', 'run=7', 'render', '-'], 'from stdin');
  assert.equal(s.code, 0, s.stderr);
  assert.equal(JSON.parse(s.stdout).job, 'render');
  assert.equal(agent.dispatched.at(-1)!.payload?.toString(), 'from stdin');

  const bin = Buffer.from([0, 255, 10, 13, 0x80]);
  await writeFile(file, bin);
  assert.equal((await tendctl(['job', 'dispatch', '-meta', 'run=1', 'render', file])).code, 0);
  assert.deepEqual([...agent.dispatched.at(-1)!.payload!], [...bin], 'binary payloads arrive byte for byte');
});

test('tendctl job dispatch: clear errors (unknown job, missing meta, unpermitted meta, forbidden payload, too large, bad flags)', async () => {
  const before = agent.dispatched.length;
  const nope = await tendctl(['job', 'dispatch', 'nope']);
  assert.equal(nope.code, 1);
  assert.match(nope.stderr, /failed to dispatch nope: no job nope in force \[E_JOB_NOT_FOUND\]/);

  const missing = await tendctl(['job', 'dispatch', 'render', '-'], 'x');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /failed to dispatch render: dispatch did not provide required meta keys: \[run\] \[E_BAD_REQUEST\]/);

  const extra = await tendctl(['job', 'dispatch', '-meta', 'run=1', '-meta', 'colour=red', 'render', '-'], 'x');
  assert.match(extra.stderr, /dispatch request included unpermitted metadata keys: \[colour\]; expected keys of meta_required or meta_optional \(run, mode\)/);

  const noPayload = await tendctl(['job', 'dispatch', '-meta', 'run=1', 'render']);
  assert.match(noPayload.stderr, /payload not provided but required/);

  const forbidden = await tendctl(['job', 'dispatch', 'ping', '-'], 'data');
  assert.match(forbidden.stderr, /failed to dispatch ping: payload provided but forbidden \(parameterized \{ payload = "forbidden" \}\), got 4 bytes/);

  const big = await tendctl(['job', 'dispatch', '-meta', 'run=1', 'render', '-'], 'x'.repeat(16 * 1024 + 1));
  assert.equal(big.code, 1);
  assert.match(big.stderr, /failed to read the payload from stdin: expected at most 16384 bytes \(16 KiB, as Nomad\), got more/);

  const absent = await tendctl(['job', 'dispatch', '-meta', 'run=1', 'render', path.join(root, 'absent')]);
  assert.match(absent.stderr, /failed to read the payload from .*absent: .*ENOENT/);

  const badMeta = await tendctl(['job', 'dispatch', '-meta', 'novalue', 'render']);
  assert.equal(badMeta.code, 2);
  assert.match(badMeta.stderr, /-meta: expected KEY=VALUE, got "novalue"/);

  const noJob = await tendctl(['job', 'dispatch']);
  assert.equal(noJob.code, 2);
  assert.equal(agent.dispatched.length, before, 'nothing dispatched by a refused request');

  const help = await tendctl(['job', '-help']);
  assert.match(help.stdout, /tendctl job dispatch \[options\] JOB \[PAYLOAD_FILE \| -\]/);
  assert.match(help.stdout, /-meta KEY=VALUE/);
});

test('POST /v1/job/<job>/dispatch: the body is checked (meta strings, base64 payload, known fields)', async () => {
  const ok = await post('/v1/job/render/dispatch', JSON.stringify({ meta: { run: '1' }, payload: Buffer.from('hi').toString('base64') }));
  assert.equal(ok.status, 200, ok.body);
  assert.match(JSON.parse(ok.body).child, /^render\/dispatch-/);
  const cases: [string, RegExp][] = [
    [JSON.stringify({ meta: { run: 1 } }), /expected "meta" to be an object of strings/],
    [JSON.stringify({ meta: { run: '1' }, payload: 'not base64!' }), /expected "payload" to be a base64 string/],
    [JSON.stringify({ Meta: { run: '1' } }), /expected only "meta" and "payload", got "Meta"/],
  ];
  for (const [body, why] of cases) {
    const r = await post('/v1/job/render/dispatch', body);
    assert.equal(r.status, 400, body);
    assert.match(JSON.parse(r.body).error.message, why);
  }
  const missing = await post('/v1/job/nope/dispatch', '{}');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).error.code, 'E_JOB_NOT_FOUND');
});
