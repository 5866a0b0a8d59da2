/**
 * The runner over a fake clock and fake check kinds: registration and deregistration by owner,
 * status changes as task events, check_restart restarting through the host after `limit`
 * unhealthy results past `grace`, and a re-registration that keeps unchanged checks running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createLocalServices } from '../../../src/services/index.js';
import type { CheckHost } from '../../../src/services/runner.js';
import type { CheckResult, CheckSpec, CheckStatus } from '../../../src/services/services.js';
import { FakeTime, reg, spec } from './fixtures.js';

function setup() {
  const time = new FakeTime();
  const results = new Map<string, CheckStatus>();
  const runs: string[] = [];
  const kind = async (s: CheckSpec): Promise<CheckResult> => {
    runs.push(s.id);
    const status = results.get(s.id) ?? 'passing';
    return { status, output: `${s.name} ${status}` };
  };
  const metrics = { runs: 0, restarts: 0, states: {} as Record<string, number> };
  const services = createLocalServices({
    logger: pino({ level: 'silent' }),
    time,
    kinds: { tcp: kind, http: kind, script: async (s, exec) => (exec ? kind(s) : { status: 'critical', output: 'no task' }) },
    metrics: { checkRun: () => void metrics.runs++, checkRestart: () => void metrics.restarts++, checkStates: (c) => void (metrics.states = { ...c }) },
  });
  const events: string[] = [];
  const restarts: string[] = [];
  const host: CheckHost = {
    exec: (task) => (task === 't' ? async () => ({ code: 0, output: '' }) : undefined),
    restart: (task, reason) => void restarts.push(`${task}: ${reason}`),
    emit: (task, type, message) => void events.push(`${task ?? '-'} ${type}: ${message}`),
    startedAt: () => time.now(),
  };
  return { time, results, runs, services, events, restarts, host, metrics };
}

test('check runner: an owner registers, its checks run on the interval, status changes are task events, remove deregisters', async () => {
  const { time, results, services, events, host, runs, metrics } = setup();
  services.runner.set('task:x', [reg('r1', { checks: [spec({ id: 'r1#0', intervalMs: 1000 })] })], host);
  assert.equal(services.catalog.size, 1);
  await time.advance(1000);
  assert.equal(services.catalog.check('r1#0')!.status, 'passing');
  results.set('r1#0', 'critical');
  await time.advance(1000);
  assert.equal(services.catalog.check('r1#0')!.status, 'critical');
  await time.advance(3000);
  assert.deepEqual(events, ['t Health Check: Health check "alive" passing', 't Health Check: Health check "alive" failed (critical): alive critical']);
  assert.deepEqual(metrics.states, { passing: 0, warning: 0, critical: 1, pending: 0 });
  assert.equal(metrics.runs, runs.length);
  services.runner.remove('task:x');
  assert.equal(services.catalog.size, 0);
  const before = runs.length;
  await time.advance(5000);
  assert.equal(runs.length, before, 'no check runs once deregistered');
  services.close();
});

test('check runner: check_restart restarts the check\'s task after `limit` unhealthy results past grace, once per start', async () => {
  const { time, results, services, host, restarts, metrics } = setup();
  const check = spec({ id: 'r1#0', task: 't', intervalMs: 1000, checkRestart: { limit: 3, graceMs: 5000, ignoreWarnings: false } });
  results.set('r1#0', 'critical');
  services.runner.set('task:x', [reg('r1', { checks: [check] })], host);
  await time.advance(5000);
  assert.deepEqual(restarts, [], 'grace: not counted');
  await time.advance(3000);
  assert.deepEqual(restarts, ['t: healthcheck: check "alive" unhealthy']);
  await time.advance(5000);
  assert.equal(restarts.length, 1, 'nothing more until the task starts again');
  services.runner.taskStarted('alloc-1', 't', time.now());
  await time.advance(5000);
  assert.equal(restarts.length, 1, 'grace again after the start');
  await time.advance(3000);
  assert.equal(restarts.length, 2);
  assert.equal(metrics.restarts, 2);
  services.close();
});

test('check runner: a re-registration keeps unchanged checks (state and schedule), replaces changed ones, drops what the owner no longer has', async () => {
  const { time, services, host, runs } = setup();
  const a = reg('r1', { checks: [spec({ id: 'r1#0', intervalMs: 1000 }), spec({ id: 'r1#1', name: 'b', intervalMs: 1000 })] });
  services.runner.set('task:x', [a, reg('r2', { name: 'db' })], host);
  await time.advance(1500);
  assert.equal(services.catalog.check('r1#0')!.status, 'passing');
  services.runner.set('task:x', [{ ...a, checks: [a.checks[0], { ...a.checks[1], timeoutMs: 500 }] }], host);
  assert.equal(services.catalog.check('r1#0')!.status, 'passing', 'unchanged check keeps its state');
  assert.equal(services.catalog.check('r1#1')!.status, 'pending', 'changed check starts over');
  assert.equal(services.catalog.get('r2'), undefined, 'what the owner no longer has is deregistered');
  runs.length = 0;
  await time.advance(1000);
  assert.deepEqual(runs.sort(), ['r1#0', 'r1#1']);
  services.close();
});

test('check runner: a script check of a task that is not running is critical', async () => {
  const { time, services, host } = setup();
  services.runner.set('group:a', [reg('r1', { task: undefined, checks: [spec({ id: 'r1#0', type: 'script', task: 'other', intervalMs: 1000, script: { command: '/bin/true', args: [] } })] })], host);
  await time.advance(1000);
  assert.equal(services.catalog.check('r1#0')!.status, 'critical');
  assert.equal(services.catalog.check('r1#0')!.output, 'no task');
  services.close();
});
