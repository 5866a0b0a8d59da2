/**
 * Each check kind against real servers on 127.0.0.1 started by the test: http (status codes,
 * redirects, method, headers, body, timeout, https with tls_skip_verify), tcp (open, refused,
 * a server that never accepts), grpc (the standard health service over node:http2) and script
 * (through an exec function, as the runner gives it).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runHttp } from '../../../src/services/kinds/http.js';
import { runTcp } from '../../../src/services/kinds/tcp.js';
import { runScript } from '../../../src/services/kinds/script.js';
import { decodeResponse, encodeRequest, runGrpc } from '../../../src/services/kinds/grpc.js';
import type { CheckSpec } from '../../../src/services/services.js';
import { spec } from './fixtures.js';

async function listen(t: TestContext, server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(() => r(undefined))));
  return (server.address() as net.AddressInfo).port;
}

function httpSpec(port: number, p: string, over: Partial<NonNullable<CheckSpec['http']>> = {}, timeoutMs = 2000): CheckSpec {
  return spec({ type: 'http', port, timeoutMs, http: { url: `http://127.0.0.1:${port}${p}`, method: 'GET', headers: {}, tlsSkipVerify: false, ...over } });
}

test('http check: 2xx passing, 429 warning, 3xx without a location, 4xx and 5xx critical; the output reads as Consul\'s', async (t) => {
  const port = await listen(t, http.createServer((q, r) => {
    r.statusCode = Number(q.url!.slice(1));
    r.end(`body of ${q.url}`);
  }));
  const got: Record<number, string> = {};
  for (const code of [200, 204, 299, 304, 404, 429, 500, 503]) got[code] = (await runHttp(httpSpec(port, `/${code}`))).status;
  assert.deepEqual(got, { 200: 'passing', 204: 'passing', 299: 'passing', 304: 'critical', 404: 'critical', 429: 'warning', 500: 'critical', 503: 'critical' });
  const r = await runHttp(httpSpec(port, '/200'));
  assert.equal(r.code, 200);
  assert.equal(r.output, `HTTP GET http://127.0.0.1:${port}/200: 200 OK Output: body of /200`);
  assert.match((await runHttp(httpSpec(port, '/500'))).output, /: 500 Internal Server Error Output: body of \/500$/);
});

test('http check: redirects are followed (as Go\'s client), the method, headers and body are sent, the connection is not kept', async (t) => {
  const seen: { method?: string; headers: http.IncomingHttpHeaders; body: string; conn: string | undefined }[] = [];
  const port = await listen(t, http.createServer((q, r) => {
    let body = '';
    q.on('data', (c) => (body += c));
    q.on('end', () => {
      seen.push({ method: q.method, headers: q.headers, body, conn: q.headers.connection });
      if (q.url === '/old') {
        r.writeHead(302, { location: '/new' });
        return r.end();
      }
      if (q.url === '/loop') {
        r.writeHead(301, { location: '/loop' });
        return r.end();
      }
      r.end('fine');
    });
  }));
  const redirected = await runHttp(httpSpec(port, '/old'));
  assert.equal(redirected.status, 'passing', redirected.output);
  assert.equal(seen.length, 2);
  const loop = await runHttp(httpSpec(port, '/loop'));
  assert.equal(loop.status, 'critical', 'after 10 redirects the 301 itself is the answer');
  seen.length = 0;
  const post = await runHttp(httpSpec(port, '/x', { method: 'POST', headers: { 'X-Token': ['a', 'b'], Host: ['svc.example'] }, body: '{"ping":1}' }));
  assert.equal(post.status, 'passing');
  assert.equal(seen[0].method, 'POST');
  assert.equal(seen[0].body, '{"ping":1}');
  assert.equal(seen[0].headers['x-token'], 'a, b');
  assert.equal(seen[0].headers.host, 'svc.example');
  assert.equal(seen[0].conn, 'close');
});

test('http check: refused and timed out are critical with why; the output keeps 4 KiB of the body', async (t) => {
  const port = await listen(t, http.createServer((q, r) => {
    if (q.url === '/slow') return void setTimeout(() => r.end('late'), 3000).unref();
    r.end('x'.repeat(10_000));
  }));
  const slow = await runHttp(httpSpec(port, '/slow', {}, 1000));
  assert.equal(slow.status, 'critical');
  assert.match(slow.output, /timed out after 1s$/);
  const big = await runHttp(httpSpec(port, '/big'));
  assert.ok(Buffer.byteLength(big.output) <= 4096 && big.output.length > 4000, String(big.output.length));
  const free = net.createServer();
  const freePort = await new Promise<number>((r) => free.listen(0, '127.0.0.1', () => r((free.address() as net.AddressInfo).port)));
  await new Promise((r) => free.close(r));
  const refused = await runHttp(httpSpec(freePort, '/'));
  assert.equal(refused.status, 'critical');
  assert.match(refused.output, /ECONNREFUSED/);
});

test('http check: https with tls_skip_verify accepts a self-signed server; without it the check is critical', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const port = await listen(t, https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (_q, r) => r.end('secure')));
  const s = (skip: boolean) => httpSpec(port, '/', { url: `https://127.0.0.1:${port}/`, tlsSkipVerify: skip });
  assert.equal((await runHttp(s(true))).status, 'passing');
  const strict = await runHttp(s(false));
  assert.equal(strict.status, 'critical');
  assert.match(strict.output, /self.signed|certificate/i);
});

test('tcp check: a listening port passes, a closed one and a silent one are critical', async (t) => {
  const port = await listen(t, net.createServer((c) => c.end()));
  const ok = await runTcp(spec({ port }));
  assert.deepEqual(ok, { status: 'passing', output: `TCP connect 127.0.0.1:${port}: Success` });
  const free = net.createServer();
  const freePort = await new Promise<number>((r) => free.listen(0, '127.0.0.1', () => r((free.address() as net.AddressInfo).port)));
  await new Promise((r) => free.close(r));
  const refused = await runTcp(spec({ port: freePort }));
  assert.equal(refused.status, 'critical');
  assert.match(refused.output, /ECONNREFUSED/);
  // An address that drops SYNs (TEST-NET-1, not routed): the timeout answers.
  const t0 = Date.now();
  const silent = await runTcp(spec({ address: '192.0.2.1', port: 9, timeoutMs: 1000 }));
  assert.equal(silent.status, 'critical');
  assert.ok(Date.now() - t0 < 2500);
});

test('grpc check: the health service says SERVING (passing) or NOT_SERVING (critical); a server without it is critical', async (t) => {
  const statuses: Record<string, number> = { '': 1, 'shop.Cart': 2 };
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '12', 'grpc-message': 'unimplemented' }));
        return stream.end();
      }
      const req = Buffer.concat(chunks);
      const name = req.length > 5 ? req.subarray(7).toString() : '';
      const status = statuses[name];
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      if (status === undefined) {
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '5', 'grpc-message': 'unknown%20service' }));
        return stream.end();
      }
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
    });
  });
  const port = await listen(t, server);
  const g = (service: string) => spec({ type: 'grpc', port, grpc: { service, tls: false, tlsSkipVerify: false } });
  assert.equal((await runGrpc(g(''))).status, 'passing');
  const cart = await runGrpc(g('shop.Cart'));
  assert.equal(cart.status, 'critical');
  assert.match(cart.output, /status NOT_SERVING/);
  const unknown = await runGrpc(g('nope'));
  assert.equal(unknown.status, 'critical');
  assert.match(unknown.output, /code = 5 desc = unknown service/);
  assert.equal(decodeResponse(Buffer.from([0, 0, 0, 0, 0])), 0, 'an empty message is UNKNOWN');
  assert.deepEqual([...encodeRequest('ab')], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  // Not an http2 server at all.
  const plain = await listen(t, http.createServer((_q, r) => r.end()));
  assert.equal((await runGrpc(spec({ type: 'grpc', port: plain, timeoutMs: 1000, grpc: { service: '', tls: false, tlsSkipVerify: false } }))).status, 'critical');
});

test('script check: exit 0 passing, 1 warning, other critical; a timeout or a task not running is critical', async () => {
  const s = spec({ type: 'script', task: 't', script: { command: '/bin/check', args: ['--fast'] }, timeoutMs: 3000 });
  const ran: string[][] = [];
  const exec = (code: number, output = 'out\n') => async (cmd: string[], timeoutMs: number) => {
    ran.push([...cmd, String(timeoutMs)]);
    return { code, output };
  };
  assert.deepEqual(await runScript(s, exec(0)), { status: 'passing', code: 0, output: 'out\n' });
  assert.equal((await runScript(s, exec(1))).status, 'warning');
  assert.equal((await runScript(s, exec(2))).status, 'critical');
  assert.deepEqual(ran[0], ['/bin/check', '--fast', '3000']);
  assert.deepEqual(await runScript(s, exec(-1, 'timed out after 3000 ms')), { status: 'critical', output: 'Timed out (3s) running check' });
  assert.match((await runScript(s, undefined)).output, /task "t" is not running/);
  const failing = await runScript(s, async () => {
    throw new Error('expected task to be running, got restarting');
  });
  assert.equal(failing.status, 'critical');
  assert.match(failing.output, /restarting/);
});
