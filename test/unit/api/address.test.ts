import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultClientCandidates, isLoopbackHost, parseClientAddress, parseListenAddress, socketOfConfig, unixAddress } from '../../../src/api/address.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { clientTarget, createClient, unreachable } from '../../../src/api/client.js';
import { isTendError } from '../../../src/errors.js';

test('parseClientAddress: unix URLs and paths, http and host:port', () => {
  assert.deepEqual(parseClientAddress('unix:///var/lib/tend/tend.sock'), { kind: 'unix', path: '/var/lib/tend/tend.sock', url: 'unix:///var/lib/tend/tend.sock' });
  assert.equal(parseClientAddress('./state/tend.sock', '/home/u').url, 'unix:///home/u/state/tend.sock');
  assert.deepEqual(parseClientAddress('http://127.0.0.1:4646/'), { kind: 'tcp', host: '127.0.0.1', port: 4646, url: 'http://127.0.0.1:4646' });
  assert.equal(parseClientAddress('[::1]:80').url, 'http://[::1]:80');
  assert.throws(() => parseClientAddress('https://127.0.0.1:1'), /use http:\/\//);
  assert.throws(() => parseClientAddress('nonsense'), /expected HOST:PORT/);
});

test('clientTarget: flag over TEND_ADDR over the default socket; token from flag or TEND_TOKEN', () => {
  assert.equal(clientTarget({ env: {}, cwd: '/w' }).address.url, 'unix:///w/state/tend.sock');
  assert.equal(clientTarget({ env: { TEND_ADDR: 'http://127.0.0.1:9' }, cwd: '/w' }).address.url, 'http://127.0.0.1:9');
  assert.equal(clientTarget({ address: 'unix:///x.sock', env: { TEND_ADDR: 'http://127.0.0.1:9' } }).address.url, 'unix:///x.sock');
  assert.equal(clientTarget({ env: { TEND_TOKEN: 't' } }).token, 't');
  assert.equal(clientTarget({ token: 'f', env: { TEND_TOKEN: 't' } }).token, 'f');
  assert.equal(clientTarget({ env: { TEND_TOKEN: '' } }).token, undefined);
});

test('clientTarget: without an address, the first default socket that exists (the quick start\'s, then the deployed agent\'s); the error names both', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-addr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const quick = unixAddress(path.join(dir, 'state/tend.sock'));
  const deployed = unixAddress(path.join(dir, 'var/tend.sock'));
  assert.equal(clientTarget({ env: {}, candidates: [quick, deployed] }).address.url, quick.url, 'none exists: the first');
  await mkdir(path.dirname(deployed.path), { recursive: true });
  await writeFile(deployed.path, '');
  const target = clientTarget({ env: {}, candidates: [quick, deployed] });
  assert.equal(target.address.url, deployed.url, 'the one that exists');
  assert.equal(clientTarget({ env: { TEND_ADDR: quick.path }, candidates: [quick, deployed] }).tried, undefined);
  const enoent = Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' });
  assert.equal(
    unreachable(quick, enoent, false, [quick, deployed]).message,
    `cannot reach the tend agent: no socket at ${quick.url} nor ${deployed.url} (is the agent running? set -address or TEND_ADDR)`,
  );
  const c = createClient({ env: {}, candidates: [quick, unixAddress(path.join(dir, 'nope.sock'))] });
  t.after(() => c.close());
  await assert.rejects(c.jobs(), (err) => isTendError(err, 'E_AGENT_UNREACHABLE') && /no socket at unix:\/\/.*state\/tend\.sock nor unix:\/\/.*nope\.sock/.test(err.message));
});

test('parseListenAddress: loopback only', () => {
  assert.equal(parseListenAddress('127.0.0.1:4646').url, 'http://127.0.0.1:4646');
  assert.equal(parseListenAddress('localhost:1').host, '127.0.0.1');
  assert.throws(() => parseListenAddress('0.0.0.0:4646'), (e) => isTendError(e, 'E_CONFIG_INVALID') && /loopback/.test(e.message));
  assert.throws(() => parseListenAddress('10.0.0.1:4646'), /loopback/);
  assert.ok(isLoopbackHost('::1') && isLoopbackHost('127.8.0.1') && !isLoopbackHost('::'));
});

test('unreachable: says what to do for a missing socket, a stale one and EACCES', () => {
  const addr = parseClientAddress('unix:///run/tend.sock');
  const err = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
  assert.match(unreachable(addr, err('ENOENT')).message, /no such socket \(is the agent running\?/);
  assert.match(unreachable(addr, err('ECONNREFUSED')).message, /stale socket file/);
  const denied = unreachable(addr, err('EACCES'));
  assert.equal(denied.code, 'E_AGENT_UNREACHABLE');
  assert.equal(denied.message, "cannot reach the tend agent: permission denied on /run/tend.sock: run as the agent's user or root");
});

test('socketOfConfig: /etc/tend/agent.hcl names the socket by api { socket } or data_dir, read without the HCL parser', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-cfg-'));
  try {
    const cfg = (text: string) => {
      const f = path.join(dir, 'agent.hcl');
      writeFileSync(f, text);
      return socketOfConfig(f);
    };
    assert.equal(cfg('data_dir = "/srv/tend"\n'), '/srv/tend/tend.sock');
    assert.equal(cfg('# data_dir = "/nope"\ndata_dir = "/srv/tend" // comment\napi {\n  socket = "/run/tend.sock"\n}\n'), '/run/tend.sock');
    assert.equal(cfg('data_dir = "state"\n'), path.join(dir, 'state', 'tend.sock'), 'relative to the file');
    assert.equal(cfg('client {\n  data_dir = "/not/top"\n}\n'), undefined, 'only the top level counts');
    assert.equal(cfg('plugin "exec" {\n  config {\n    socket = "/x"\n  }\n}\ndata_dir = "/var/lib/tend"\n'), '/var/lib/tend/tend.sock');
    assert.equal(cfg('data_dir = "${env.HOME}/tend"\n'), undefined, 'interpolation is not evaluated');
    assert.equal(socketOfConfig(path.join(dir, 'missing.hcl')), undefined);
    assert.equal(cfg(readFileSync(new URL('../../../deploy/agent.hcl', import.meta.url), 'utf8')), '/var/lib/tend/tend.sock');
    const c = defaultClientCandidates('/work', path.join(dir, 'agent.hcl'));
    assert.deepEqual(c.map((a) => a.path), ['/work/state/tend.sock', '/var/lib/tend/tend.sock'], 'the same socket once');
    writeFileSync(path.join(dir, 'agent.hcl'), 'data_dir = "/srv/tend"\n');
    assert.deepEqual(defaultClientCandidates('/work', path.join(dir, 'agent.hcl')).map((a) => a.path), ['/work/state/tend.sock', '/srv/tend/tend.sock', '/var/lib/tend/tend.sock']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
