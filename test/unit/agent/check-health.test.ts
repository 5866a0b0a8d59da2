import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHealthSource } from '../../../src/agent/check-health.js';
import type { AllocHealth, AllocHealthStatus } from '../../../src/services/health.js';
import type { Group } from '../../../src/jobspec/model.js';
import { makeJob } from './fixtures.js';

test('check health for rollouts: no checks → task states decide; passing → healthy since it passed; failing → pending (the deadline decides)', () => {
  let status: AllocHealthStatus = 'pending';
  const listeners: ((a: string, h: AllocHealthStatus) => void)[] = [];
  const services: AllocHealth = { health: () => status, onHealthChange: (cb) => (listeners.push(cb), () => {}) };
  let now = 1000;
  const src = checkHealthSource(services, () => now);
  const plain = makeJob('a').groups[0];
  assert.equal(src.health('x', plain), undefined, 'a group without checks: task states decide');
  const withCheck: Group = { ...plain, services: [{ checks: [{}] }] as unknown as Group['services'] };
  const seen: string[] = [];
  src.onHealthChange((a) => seen.push(a));
  assert.deepEqual(src.health('x', withCheck), { status: 'pending', reason: 'service checks have no result yet' });
  status = 'healthy';
  now = 5000;
  for (const l of listeners) l('x', 'healthy');
  now = 9000;
  assert.deepEqual(src.health('x', withCheck), { status: 'healthy', since: 5000 });
  status = 'unhealthy';
  for (const l of listeners) l('x', 'unhealthy');
  assert.deepEqual(src.health('x', withCheck), { status: 'pending', reason: 'a service check is not passing' });
  assert.deepEqual(seen, ['x', 'x']);
});
