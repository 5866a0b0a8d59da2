/**
 * The exec API's input frames (`input=frames`: stdin, eof, resize), between
 * the real client and the real server on a unix socket and on TCP with a
 * token, backed by a fake agent that runs a real `sh`; and the way back to
 * raw stdin against an agent that does not read frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import pino from 'pino';
import { startApiServer } from '../../../src/api/server.js';
import { PromMetrics } from '../../../src/api/metrics.js';
import { createClient } from '../../../src/api/client.js';
import { agentWithTasks, type FakeAgent } from './fake-agent.js';
import { waitFor } from '../../helpers/wait.js';

const TOKEN = 'frames-token';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tend-frames-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(t: { after(fn: () => Promise<void>): void }, agent: FakeAgent) {
  const dir = await tempDir(t);
  const server = await startApiServer(agent, {
    socket: path.join(dir, 'tend.sock'),
    address: '127.0.0.1:0',
    token: TOKEN,
    logger: pino({ level: 'silent' }),
    metrics: new PromMetrics({ defaultMetrics: false }),
  });
  t.after(() => server.close());
  return server;
}

async function text(s: Readable): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

test('api exec input frames: keys, resizes and TERM reach the session on the unix socket and on TCP; the exit code comes back', async (t) => {
  const agent = agentWithTasks();
  const server = await serve(t, agent);
  for (const [name, client] of [
    ['unix', createClient({ address: `unix://${server.socket}` })],
    ['tcp', createClient({ address: server.tcpUrl!, token: TOKEN })],
  ] as const) {
    agent.resizes.length = 0;
    const stdin = new PassThrough();
    const s = await client.exec('web/g[0]/t', ['sh', '-c', 'cat; exit 6'], { stdin, tty: { rows: 10, cols: 20 }, term: 'xterm-256color' });
    const out = text(s.stdout);
    stdin.write('abc');
    s.resize({ rows: 11, cols: 22 });
    s.resize({ rows: 12, cols: 23 });
    await waitFor(() => agent.resizes.length === 2, { what: `${name}: both resizes at the agent` });
    stdin.end('def\n');
    assert.equal(await s.exit, 6, name);
    assert.equal(await out, 'abcdef\n', name);
    assert.deepEqual(agent.resizes, [{ rows: 11, cols: 22 }, { rows: 12, cols: 23 }], name);
    assert.deepEqual(agent.lastExecOpts, { stdin: true, tty: { rows: 10, cols: 20 }, env: { TERM: 'xterm-256color' } }, name);
    client.close();
  }
  await waitFor(() => agent.execPids.size === 0, { what: 'exec children to end' });
});

test('api exec input frames: -t without -i sends resizes only; the command sees no input', async (t) => {
  const agent = agentWithTasks();
  const server = await serve(t, agent);
  const client = createClient({ address: `unix://${server.socket}` });
  t.after(() => client.close());
  const s = await client.exec('web/g[0]/t', ['sh', '-c', 'read x || echo eof; exit 2'], { tty: { rows: 5, cols: 6 } });
  s.resize({ rows: 7, cols: 8 });
  assert.equal(await s.exit, 2);
  assert.equal(await text(s.stdout), 'eof\n');
  assert.deepEqual(agent.lastExecOpts, { stdin: false, tty: { rows: 5, cols: 6 } });
});

test('api exec: a newer client against an agent without input frames sends raw stdin (and resizes nothing)', async (t) => {
  const dir = await tempDir(t);
  const socket = path.join(dir, 'old.sock');
  let query = '';
  // An agent of before input frames: the body is the command's stdin, echoed here as its stdout.
  const old = http.createServer((req, res) => {
    query = req.url ?? '';
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.write(JSON.stringify({ stdout: Buffer.concat(chunks).toString('base64') }) + '\n');
      res.end(JSON.stringify({ exit: 0 }) + '\n');
    });
  });
  await new Promise<void>((r) => old.listen(socket, r));
  t.after(() => new Promise<void>((r) => old.close(() => r())));
  const client = createClient({ address: `unix://${socket}` });
  t.after(() => client.close());
  const stdin = new PassThrough();
  const s = await client.exec('web/g[0]/t', ['sh'], { stdin, tty: { rows: 5, cols: 6 } });
  s.resize({ rows: 9, cols: 9 });
  stdin.end('raw keys');
  assert.equal(await s.exit, 0);
  assert.equal(await text(s.stdout), 'raw keys');
  assert.match(query, /input=frames/);
});

test('api exec input frames: an unreadable frame ends the session with E_BAD_REQUEST and kills the command; a bad term is refused', async (t) => {
  const agent = agentWithTasks();
  const server = await serve(t, agent);
  const post = (query: string, body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ socketPath: server.socket, method: 'POST', path: `/v1/task/${encodeURIComponent('web/g[0]/t')}/exec?${query}`, agent: false }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const r = await post('cmd=sleep&cmd=30&stdin=1&tty=1&input=frames', '{"stdin": "YQ=="}\nnot json\n');
  assert.equal(r.status, 200);
  const last = JSON.parse(r.body.trim().split('\n').at(-1)!) as { error?: { code: string; message: string } };
  assert.equal(last.error?.code, 'E_BAD_REQUEST');
  assert.match(last.error!.message, /^failed to read exec input: /);
  await waitFor(() => agent.execPids.size === 0, { what: 'the command to be killed' });
  const bad = await post('cmd=sh&tty=1&term=x%3By', '');
  assert.equal(bad.status, 400);
  assert.match(bad.body, /expected term to be a terminal type like xterm-256color, got \\"x;y\\"/);
});
