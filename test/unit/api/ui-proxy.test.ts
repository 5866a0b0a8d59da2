/**
 * `tendctl ui`'s proxy against a stand-in agent on a unix socket that answers
 * with what it received: the one-time login, the session token, reads only,
 * headers not passed on, streams passed through and closed with the page.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startUiProxy, type UiProxy } from '../../../src/api/ui-proxy.js';
import { waitFor } from '../../helpers/wait.js';

let dir: string;
let agent: http.Server;
let proxy: UiProxy;
let streamsOpen = 0;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tend-ui-proxy-'));
  const socket = path.join(dir, 'tend.sock');
  agent = http.createServer((req, res) => {
    if (req.url?.startsWith('/v1/events')) {
      streamsOpen++;
      res.once('close', () => streamsOpen--);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"seq":1}\n');
      return;
    }
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'x-from': 'agent' });
    res.end(body);
  });
  await new Promise<void>((r) => agent.listen(socket, r));
  proxy = await startUiProxy({ socket });
});

after(async () => {
  await proxy?.close();
  agent?.closeAllConnections();
  await new Promise<void>((r) => agent.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

test('ui proxy: listens on loopback; the login link works once and hands the session over in the fragment', async () => {
  assert.match(proxy.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  const link = new URL(proxy.url);
  assert.equal(link.pathname, '/ui/');
  const first = await fetch(proxy.url, { redirect: 'manual' });
  assert.equal(first.status, 303);
  const location = first.headers.get('location') ?? '';
  assert.match(location, /^\/ui\/#token=[\w-]{20,}$/);
  const again = await fetch(proxy.url, { redirect: 'manual' });
  assert.equal(again.status, 401, 'used once');
  assert.match((await again.json()).error.message, /works once/);
  const guessed = await fetch(`${proxy.origin}/ui/?login=guess`, { redirect: 'manual' });
  assert.equal(guessed.status, 401);
});

test('ui proxy: the API needs the session token; only its reads reach the agent, without the caller headers', async () => {
  // A fresh proxy: the session of the test above is its own.
  const p = await startUiProxy({ socket: path.join(dir, 'tend.sock') });
  try {
    const token = /#token=(.+)$/.exec((await fetch(p.url, { redirect: 'manual' })).headers.get('location') ?? '')![1];
    assert.equal((await fetch(`${p.origin}/v1/jobs`)).status, 401);
    assert.equal((await fetch(`${p.origin}/v1/jobs`, { headers: { authorization: 'Bearer nope' } })).status, 401);
    const ok = await fetch(`${p.origin}/v1/jobs?x=1`, { headers: { authorization: `Bearer ${token}`, cookie: 'a=b', 'if-none-match': '"e"' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-from'), 'agent');
    const seen = (await ok.json()) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/v1/jobs?x=1');
    assert.equal(seen.headers.authorization, undefined, 'the session token stays at the proxy');
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers['if-none-match'], '"e"');
    // The page's own files need no token.
    assert.equal((await fetch(`${p.origin}/ui/app.js`)).status, 200);
    // Reads only, of the page and the API only.
    const post = await fetch(`${p.origin}/v1/task/x/restart`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal((await fetch(`${p.origin}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 404);
  } finally {
    await p.close();
  }
});

test('ui proxy: a stream passes through and ends at the agent when the page goes', async () => {
  const p = await startUiProxy({ socket: path.join(dir, 'tend.sock') });
  try {
    const token = /#token=(.+)$/.exec((await fetch(p.url, { redirect: 'manual' })).headers.get('location') ?? '')![1];
    const stop = new AbortController();
    const res = await fetch(`${p.origin}/v1/events?follow=1`, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value), '{"seq":1}\n');
    assert.equal(streamsOpen, 1);
    stop.abort();
    await waitFor(() => streamsOpen === 0, { what: "the agent's end of the stream closed" });
  } finally {
    await p.close();
  }
});

test('ui proxy: refuses to listen off loopback', async () => {
  await assert.rejects(startUiProxy({ socket: path.join(dir, 'tend.sock'), listen: '0.0.0.0:0' }), /invalid -listen "0.0.0.0:0": expected a loopback HOST:PORT/);
});
