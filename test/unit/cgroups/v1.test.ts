import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { CgroupManager, CgroupManagerOptions } from '../../../src/cgroups/cgroups.js';
import { createCgroupManager } from '../../../src/cgroups/factory.js';
import { isTendError } from '../../../src/errors.js';
import { fakeHybrid, GONE_PID, recordingSignaller, type FakeTree } from './fake-cgroupfs.js';

describe('cgroups v1 / hybrid (fake cgroupfs)', () => {
  let fake: FakeTree;
  let mgr: CgroupManager;
  const make = (opts: Partial<CgroupManagerOptions> = {}) =>
    createCgroupManager({ mounts: fake.mounts, cpus: [0, 1, 2, 3], pollIntervalMs: 1, ...opts });
  const MiB = 1 << 20;

  beforeEach(() => {
    fake = fakeHybrid();
    mgr = make();
  });
  afterEach(() => fake.cleanup());

  test('createCgroupManager: picks v1 on a hybrid host; paths per controller, allPaths per hierarchy', () => {
    assert.equal(mgr.mode, 'hybrid');
    assert.equal(mgr.cgroupsPath('web'), '/tend/web');
    assert.deepEqual(
      mgr.paths('web'),
      ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer'].map((c) => `${fake.root}/${c}/tend/web`),
    );
    assert.deepEqual(
      [...mgr.allPaths('web')].sort(),
      ['cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'unified'].map((c) => `${fake.root}/${c}/tend/web`),
    );
  });

  test('check: makes the parent in every controller and gives its cpuset the root CPUs and mems', async () => {
    assert.deepEqual(await mgr.check(), { ok: true });
    for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer']) assert.ok(fake.has(`${c}/tend`), c);
    assert.equal(fake.read('cpuset/tend/cpuset.cpus'), '0-3');
    assert.equal(fake.read('cpuset/tend/cpuset.mems'), '0');
  });

  test('check: names a controller that is not mounted', async () => {
    delete fake.mounts.v1.pids;
    assert.deepEqual(await make().check(), { ok: false, reason: 'cgroup controller pids not mounted' });
  });

  test('create: writes every limit where v1 keeps it', async () => {
    await mgr.create('web', { cpuShares: 1, memoryReservationBytes: 32 * MiB, memoryMaxBytes: 64 * MiB, pidsMax: 10 });
    assert.equal(fake.read('cpu/tend/web/cpu.shares'), '2', 'shares clamped to the kernel minimum');
    assert.equal(fake.read('memory/tend/web/memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(fake.read('memory/tend/web/memory.soft_limit_in_bytes'), String(32 * MiB));
    assert.equal(fake.read('pids/tend/web/pids.max'), '10');
    assert.equal(fake.read('cpuset/tend/web/cpuset.cpus'), '0-3');
    assert.equal(fake.read('cpuset/tend/web/cpuset.mems'), '0');
    assert.equal(fake.has('devices/tend/web'), false, 'hierarchies without limits are left to the runtime');
    await mgr.update('web', { memoryReservationBytes: 0, memoryMaxBytes: 0, pidsMax: 0 });
    assert.equal(fake.read('memory/tend/web/memory.soft_limit_in_bytes'), '-1');
    assert.equal(fake.read('memory/tend/web/memory.limit_in_bytes'), '-1');
    assert.equal(fake.read('pids/tend/web/pids.max'), 'max');
  });

  test('update: memsw follows the hard limit; a failed memsw write on a cut restores the old limit', async () => {
    await mgr.create('web', {});
    fake.write('memory/tend/web/memory.limit_in_bytes', String(64 * MiB));
    fake.write('memory/tend/web/memory.memsw.limit_in_bytes', String(64 * MiB));
    await mgr.update('web', { memoryMaxBytes: 128 * MiB });
    assert.equal(fake.read('memory/tend/web/memory.memsw.limit_in_bytes'), String(128 * MiB));
    assert.equal(fake.read('memory/tend/web/memory.limit_in_bytes'), String(128 * MiB));
    // Make memsw unwritable (a directory): the cut writes the limit first, then must undo it.
    rmSync(path.join(fake.root, 'memory/tend/web/memory.memsw.limit_in_bytes'));
    mkdirSync(path.join(fake.root, 'memory/tend/web/memory.memsw.limit_in_bytes'));
    await assert.rejects(mgr.update('web', { memoryMaxBytes: 32 * MiB }), (err: unknown) => {
      assert.ok(isTendError(err, 'E_CGROUP'));
      assert.match(err.message, /^failed to set memory limit of cgroup web to 33554432 bytes: /);
      return true;
    });
    assert.equal(fake.read('memory/tend/web/memory.limit_in_bytes'), String(128 * MiB));
  });

  test('create: exclusive cores narrow the shared tasks, destroy gives them back', async () => {
    await mgr.create('shared', {});
    await mgr.create('pinned', { cpuset: mgr.cpusets.reserve('pinned', 1) });
    assert.equal(fake.read('cpuset/tend/pinned/cpuset.cpus'), '0');
    assert.equal(fake.read('cpuset/tend/shared/cpuset.cpus'), '1-3');
    await mgr.destroy('pinned');
    assert.equal(fake.read('cpuset/tend/shared/cpuset.cpus'), '0-3');
  });

  test('stats: v1 files as the kernel shows them', async () => {
    await mgr.create('web', { memoryMaxBytes: 64 * MiB });
    fake.write('memory/tend/web/memory.usage_in_bytes', '5000000\n');
    fake.write('memory/tend/web/memory.max_usage_in_bytes', '6000000\n');
    fake.write('memory/tend/web/memory.stat', 'cache 10\nrss 20\nswap 0\ntotal_cache 1000\ntotal_rss 2000\ntotal_swap 30\n');
    fake.write('cpuacct/tend/web/cpuacct.stat', 'user 150\nsystem 50\n');
    fake.write('cpuacct/tend/web/cpuacct.usage', '2000000000\n');
    fake.write('cpu/tend/web/cpu.stat', 'nr_periods 10\nnr_throttled 3\nthrottled_time 4500\n');
    fake.write('pids/tend/web/pids.current', '2\n');
    const s = await mgr.stats('web');
    assert.deepEqual(s.memory, { usageBytes: 5000000, rssBytes: 2000, cacheBytes: 1000, swapBytes: 30, maxUsageBytes: 6000000, limitBytes: 64 * MiB });
    assert.deepEqual(s.cpu, { userNs: 1.5e9, systemNs: 0.5e9, totalNs: 2e9, throttledPeriods: 3, throttledTimeNs: 4500, percent: 0 });
    assert.equal(s.pids, 2);
  });

  test('oomKills: oom_kill from memory.oom_control, else memory.events of the unified dir', async () => {
    await mgr.create('web', {});
    fake.write('memory/tend/web/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    assert.equal(await mgr.oomKills('web'), 2);
    fake.write('memory/tend/web/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\n');
    assert.equal(await mgr.oomKills('web'), 0);
    fake.write('unified/tend/web/memory.events', 'oom 1\noom_kill 1\n');
    assert.equal(await mgr.oomKills('web'), 1);
    await assert.rejects(mgr.oomKills('nope'), /does not exist/);
  });

  test('destroy: freezes, kills while frozen, and removes the dirs runc added in other hierarchies', async () => {
    await mgr.create('web', {});
    fake.write('freezer/tend/web/freezer.state', 'THAWED\n');
    fake.write('memory/tend/web/cgroup.procs', '111\n');
    fake.write('devices/tend/web/cgroup.procs', '111\n');
    fake.write('unified/tend/web/cgroup.procs', '111\n');
    const seen: string[] = [];
    const rec = recordingSignaller((pid) => {
      seen.push(`${pid} ${fake.read('freezer/tend/web/freezer.state')}`);
      for (const c of ['memory', 'devices', 'unified']) fake.write(`${c}/tend/web/cgroup.procs`, '');
    });
    await make({ signal: rec.signal }).destroy('web');
    assert.deepEqual(seen, ['111 FROZEN']);
    for (const dir of mgr.allPaths('web')) assert.equal(fake.has(path.relative(fake.root, dir)), false, dir);
  });

  test('list and gc: a cgroup left only in a hierarchy tend does not use is found and removed', async () => {
    await mgr.create('keep', {});
    fake.write('devices/tend/stale/cgroup.procs', `${GONE_PID}\n`);
    fake.write('unified/tend/stale2/cgroup.procs', '');
    assert.deepEqual(await mgr.list(), ['keep', 'stale', 'stale2']);
    assert.deepEqual((await mgr.gc(new Set(['keep']))).sort(), ['stale', 'stale2']);
    assert.deepEqual(await mgr.list(), ['keep']);
  });
});
