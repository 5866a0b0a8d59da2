import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceCatalog } from '../../../src/services/catalog.js';
import { HealthTracker, expectedChecks, healthOf } from '../../../src/services/health.js';
import { applyResult } from '../../../src/services/status.js';
import type { CheckStatus } from '../../../src/services/services.js';
import { reg, spec } from './fixtures.js';

function set(c: ServiceCatalog, checkId: string, status: CheckStatus): void {
  c.setCheck(checkId, applyResult(c.check(checkId)!, { status, output: status }, Date.now()));
}

test('catalog: instances and summaries with the worst status of their checks; nomadService sees passing instances only', () => {
  const c = new ServiceCatalog();
  c.register(reg('r1'));
  c.register(reg('r2', { allocId: 'alloc-2', index: 1, port: 8081, tags: ['v2'] }));
  c.register(reg('r3', { name: 'db', checks: [], tags: [] }));
  assert.deepEqual(c.summaries().map((s) => [s.name, s.instances, s.pending, s.passing, s.tags.join(',')]), [['db', 1, 0, 1, ''], ['web', 2, 2, 0, 'v1,v2']]);
  const tpl = c.forTemplates('default');
  assert.deepEqual(tpl.service('web'), [], 'no check has passed yet');
  assert.deepEqual(tpl.service('db').map((r) => r.port), [8080], 'an instance without checks is served');
  set(c, 'r1#0', 'passing');
  assert.deepEqual(tpl.service('web').map((r) => `${r.address}:${r.port}`), ['127.0.0.1:8080']);
  assert.deepEqual(tpl.service('web', 'v2'), []);
  set(c, 'r2#0', 'passing');
  assert.deepEqual(tpl.service('web', 'v2').map((r) => r.allocId), ['alloc-2']);
  assert.deepEqual(tpl.services(), [{ name: 'db', tags: [] }, { name: 'web', tags: ['v1', 'v2'] }]);
  set(c, 'r1#0', 'warning');
  assert.deepEqual(tpl.service('web').map((r) => r.id), ['r2'], 'a warning instance is not served');
  assert.equal(c.instances('web')[0].status, 'warning');
  assert.deepEqual(c.forTemplates('other').service('web'), [], 'another namespace sees none');
  c.deregister('r2');
  assert.deepEqual(tpl.service('web'), []);
  assert.deepEqual(c.stateCounts(), { passing: 0, warning: 1, critical: 0, pending: 0 });
});

test('catalog: a registration replaced keeps the state of unchanged checks; a changed check starts over', () => {
  const c = new ServiceCatalog();
  const two = reg('r1', { checks: [spec({ id: 'r1#0' }), spec({ id: 'r1#1', name: 'http', type: 'http' })] });
  c.register(two);
  set(c, 'r1#0', 'passing');
  set(c, 'r1#1', 'critical');
  c.register({ ...two, tags: ['v9'], checks: [two.checks[0], { ...two.checks[1], intervalMs: 5000 }] });
  assert.equal(c.check('r1#0')!.status, 'passing');
  assert.equal(c.check('r1#1')!.status, 'pending');
  assert.deepEqual(c.instances('web')[0].tags, ['v9']);
});

test('catalog: watchers hear of a name when its template view may change, not on every result', () => {
  const c = new ServiceCatalog();
  const heard: string[] = [];
  c.watch('web', () => heard.push('web'));
  const off = c.watch('*', () => heard.push('*'));
  c.register(reg('r1'));
  assert.deepEqual(heard, ['web', '*']);
  heard.length = 0;
  set(c, 'r1#0', 'critical');
  assert.deepEqual(heard, [], 'pending → critical: still not served');
  set(c, 'r1#0', 'passing');
  assert.deepEqual(heard, ['web', '*']);
  heard.length = 0;
  set(c, 'r1#0', 'passing');
  assert.deepEqual(heard, []);
  off();
  c.register(reg('r9', { name: 'db', checks: [] }));
  assert.deepEqual(heard, []);
});

test('health: pending until every expected check is registered and has a result; unhealthy on critical; on_update decides what counts', () => {
  const c = new ServiceCatalog();
  const h = new HealthTracker(c);
  const changes: string[] = [];
  h.onHealthChange((a, s) => changes.push(`${a}=${s}`));
  h.expect('alloc-1', 2);
  c.register(reg('r1'));
  assert.equal(h.health('alloc-1'), 'pending');
  set(c, 'r1#0', 'passing');
  assert.equal(h.health('alloc-1'), 'pending', 'one of two expected checks registered');
  c.register(reg('r2', { checks: [spec({ id: 'r2#0', onUpdate: 'ignore_warnings' })] }));
  set(c, 'r2#0', 'warning');
  assert.equal(h.health('alloc-1'), 'healthy');
  set(c, 'r1#0', 'critical');
  assert.equal(h.health('alloc-1'), 'unhealthy');
  set(c, 'r1#0', 'passing');
  c.deregister('r1');
  c.deregister('r2');
  assert.equal(h.health('alloc-1'), 'pending');
  assert.deepEqual(changes, ['alloc-1=healthy', 'alloc-1=unhealthy', 'alloc-1=healthy', 'alloc-1=pending']);
  const readiness = { spec: spec({ onUpdate: 'ignore' }), status: 'critical' as const, since: '', successes: 0, failures: 1 };
  assert.equal(healthOf([readiness], 1), 'healthy', 'a readiness check never counts');
});

test('health: the checks an allocation expects are its group services\' and its main and sidecar tasks\'', () => {
  const svc = (n: number) => ({ name: 's', tags: [], meta: {}, provider: 'nomad' as const, addressMode: 'auto' as const, onUpdate: 'require_healthy' as const, checks: Array(n).fill({}), pos: { file: '', line: 0, column: 0 } });
  const group = {
    services: [svc(1)],
    tasks: [
      { services: [svc(2)] },
      { services: [svc(1)], lifecycle: { hook: 'prestart' as const, sidecar: false } },
      { services: [svc(3)], lifecycle: { hook: 'poststart' as const, sidecar: true } },
    ],
  };
  assert.equal(expectedChecks(group as never), 6);
});
