import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { systemdNotifier, takeNotifySocket } from '../../../src/agent/sd-notify.js';

test('sd-notify: NOTIFY_SOCKET is taken out of the environment (nothing spawned later inherits it)', () => {
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/bin' };
  assert.equal(takeNotifySocket(env), '/run/systemd/notify');
  assert.deepEqual(env, { PATH: '/bin' });
  assert.equal(takeNotifySocket({ NOTIFY_SOCKET: '' }), undefined);
  assert.equal(takeNotifySocket({}), undefined);
});

test('sd-notify: without systemd-notify the agent warns and goes on', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  await systemdNotifier('/nonexistent/notify.sock', log, '/nonexistent/systemd-notify').ready('running');
  const warn = JSON.parse(lines.find((l) => l.includes('failed to notify systemd'))!);
  assert.equal(warn.state, 'READY=1');
  assert.equal(warn.level, 40);
});
