import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logmonPaths } from '../../../src/executor/logs/protocol.js';

test('log monitor paths: live in the data dir', () => {
  assert.deepEqual(logmonPaths('/var/lib/tend'), {
    socket: '/var/lib/tend/logmon.sock',
    state: '/var/lib/tend/logmon.json',
    lock: '/var/lib/tend/logmon.lock',
    log: '/var/lib/tend/logmon.log',
  });
});

test('log monitor paths: a data dir too long for a unix socket is refused with the limit', () => {
  assert.throws(() => logmonPaths(`/${'d'.repeat(100)}`), (err: Error & { code?: string }) => err.code === 'E_EXECUTOR' && /at most 107 bytes, got 113/.test(err.message));
});
