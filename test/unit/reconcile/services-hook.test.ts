/**
 * The services hook driven by the task worker (fake executor, real scheduler with fake check
 * kinds): registrations follow the tasks (a task's while it runs, the group's while a main task
 * runs), check_restart restarts a task through its restart policy (counted, with the policy's
 * delay), an edit of the services re-registers in place, and removal deregisters everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { emptyHooks } from '../../../src/reconcile/hooks.js';
import { servicesHooks } from '../../../src/reconcile/hooks/services.js';
import { createLocalServices } from '../../../src/services/index.js';
import type { CheckStatus } from '../../../src/services/services.js';
import type { Service, ServiceCheck } from '../../../src/jobspec/model.js';
import { expandJobs } from '../../../src/reconcile/expand.js';
import { waitFor } from '../../helpers/wait.js';
import { makeJob, makeTask } from '../agent/fixtures.js';
import { setup } from './worker-setup.js';

const pos = { file: '/jobs/shop.hcl', line: 3, column: 5 };

function check(over: Partial<ServiceCheck> = {}): ServiceCheck {
  return { type: 'tcp', intervalMs: 20, timeoutMs: 1000, method: 'GET', protocol: 'http', headers: {}, tlsSkipVerify: false, args: [], grpcUseTls: false, successBeforePassing: 0, failuresBeforeCritical: 0, onUpdate: 'require_healthy', pos, ...over };
}

function service(name: string, checks: ServiceCheck[], over: Partial<Service> = {}): Service {
  return { name, port: '9', tags: [], meta: {}, provider: 'nomad', addressMode: 'auto', onUpdate: 'require_healthy', checks, pos, ...over };
}

function shopJob(restartLimit = 2, tags: string[] = [], delayMs = 30) {
  const main = makeTask('main', {
    restart: { attempts: 3, intervalMs: 60_000, delayMs, mode: 'fail' },
    services: [service('${TASK}-svc', [check({ name: 'own', checkRestart: { limit: restartLimit, graceMs: 0, ignoreWarnings: false } })], { tags })],
  });
  const job = makeJob('shop', { tasks: [main, makeTask('side')] });
  job.groups[0].services = [service('${JOB}-web', [check({ name: 'group' })])];
  return job;
}

async function started(t: Parameters<typeof setup>[0], job = shopJob()) {
  const results = new Map<string, CheckStatus>();
  const kind = async (s: { name: string }) => ({ status: results.get(s.name) ?? 'passing', output: s.name });
  const services = createLocalServices({ logger: pino({ level: 'silent' }), kinds: { tcp: kind } });
  t.after(async () => services.close());
  const hooks = emptyHooks();
  const h = servicesHooks({ runner: services.runner, health: services.health, node: { name: 'n', id: 'id', class: '', datacenter: 'dc1', attributes: {}, meta: {} }, agentEnv: {}, nodeAddress: '127.0.0.1' });
  hooks.poststart.push(h);
  hooks.update.push(h);
  hooks.stop.push(h);
  hooks.exited.push(h);
  hooks.teardown.push(h);
  const s = await setup(t, [job], { hooks });
  const id = (task: string) => [...s.desired.keys()].find((k) => k.endsWith(`/${task}`))!;
  s.worker.begin();
  await s.syncAll();
  await waitFor(() => s.store.get(id('main'))?.state === 'running' && s.store.get(id('side'))?.state === 'running', { what: 'tasks running' });
  const names = () => services.catalog.summaries().map((x) => x.name).sort();
  return { ...s, services, results, id, names };
}

test('services hook: a task\'s services while it runs, the group\'s while a main task runs; removal deregisters all', async (t) => {
  const w = await started(t, shopJob(2, [], 60_000));
  assert.deepEqual(w.names(), ['main-svc', 'shop-web']);
  const allocId = w.store.get(w.id('main'))!.allocId;
  await waitFor(() => w.services.health.health(allocId) === 'healthy', { what: 'allocation healthy' });
  // "side" exits (it waits 15s to restart): main still runs, the group's service stays.
  w.executor.exit(w.desired.get(w.id('side'))!.execId, 0);
  await waitFor(() => w.store.get(w.id('side'))?.state === 'restarting', { what: 'side exited' });
  assert.deepEqual(w.names(), ['main-svc', 'shop-web']);
  // main exits too (a minute before its restart): no main task runs, nothing is registered.
  w.executor.exit(w.desired.get(w.id('main'))!.execId, 1);
  await waitFor(() => w.store.get(w.id('main'))?.state === 'restarting', { what: 'main exited' });
  assert.deepEqual(w.names(), []);
  assert.equal(w.services.health.health(allocId), 'pending');
  w.worker.setDesired(new Map());
  for (const id of [w.id('main'), w.id('side')]) w.worker.submit(id);
  await waitFor(() => w.store.all().length === 0, { what: 'records gone' });
  assert.deepEqual(w.names(), []);
});

test('services hook: check_restart restarts the task through its restart policy (counted, delayed), and grace starts over', async (t) => {
  const w = await started(t);
  const main = w.id('main');
  w.results.set('own', 'critical');
  await waitFor(() => (w.store.get(main)?.restarts ?? 0) >= 1 && w.store.get(main)?.state === 'running', { what: 'main restarted by check_restart', timeoutMs: 5000 });
  const events = w.store.get(main)!.events.map((e) => `${e.type}: ${e.message}`);
  assert.ok(events.includes('Restart Signaled: healthcheck: check "own" unhealthy'), events.join('\n'));
  assert.ok(events.some((e) => e.startsWith('Restarting: Task restarting in')), 'the policy delay applied');
  assert.ok(events.some((e) => e.startsWith('Health Check: Health check "own" failed (critical)')), events.join('\n'));
  // Out of attempts (3): the task fails, as any failing task would.
  await waitFor(() => w.store.get(main)?.state === 'failed', { what: 'main failed after its attempts', timeoutMs: 10_000 });
  assert.match(w.store.get(main)!.error ?? '', /Exceeded allowed attempts 3/);
  assert.equal(w.store.get(main)!.restarts, 3);
  assert.deepEqual(w.names(), ['shop-web'], 'the failed task\'s service is gone; the group\'s stays while side runs');
});

test('services hook: an edit of a service applies in place (no restart) and re-registers', async (t) => {
  const w = await started(t);
  const pid = w.store.get(w.id('main'))!.handle!.pid;
  const next = expandJobs([shopJob(2, ['v2'])], w.store.nodeId);
  w.worker.setDesired(next);
  w.worker.submit(w.id('main'));
  await waitFor(() => w.services.catalog.instances('main-svc')[0]?.tags.join() === 'v2', { what: 'new tags registered' });
  assert.equal(w.store.get(w.id('main'))!.handle!.pid, pid, 'not restarted');
  assert.ok(w.store.get(w.id('main'))!.events.some((e) => e.message === 'Task updated in place: services'));
});
