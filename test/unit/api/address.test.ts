import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, parseClientAddress, parseListenAddress } from '../../../src/api/address.js';
import { clientTarget, unreachable } from '../../../src/api/client.js';
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
