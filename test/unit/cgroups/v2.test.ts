import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { CgroupManager, CgroupManagerOptions } from '../../../src/cgroups/cgroups.js';
import { createCgroupManager } from '../../../src/cgroups/factory.js';
import { isTendError } from '../../../src/errors.js';
import { fakeV2, GONE_PID, recordingSignaller, type FakeTree } from './fake-cgroupfs.js';

describe('cgroups v2 (fake cgroupfs)', () => {
  let fake: FakeTree;
  let mgr: CgroupManager;
  const make = (opts: Partial<CgroupManagerOptions> = {}) =>
    createCgroupManager({ mounts: fake.mounts, cpus: [0, 1, 2, 3], pollIntervalMs: 1, ...opts });

  beforeEach(() => {
    fake = fakeV2();
    mgr = make();
  });
  afterEach(() => fake.cleanup());

  test('createCgroupManager: picks v2 on a unified host', () => {
    assert.equal(mgr.mode, 'v2');
    assert.equal(mgr.parent, 'tend');
    assert.equal(mgr.cgroupsPath('web'), '/tend/web');
    assert.deepEqual(mgr.paths('web'), [`${fake.root}/unified/tend/web`]);
  });

  test('check: ok when the controllers are there and the parent can be made', async () => {
    assert.deepEqual(await mgr.check(), { ok: true });
    assert.ok(fake.has('unified/tend'));
  });

  test('check: names a controller the kernel does not offer', async () => {
    fake.write('unified/cgroup.controllers', 'cpuset cpu io memory\n');
    assert.deepEqual(await mgr.check(), { ok: false, reason: `cgroup controller pids not available in ${fake.root}/unified/cgroup.controllers` });
  });

  test('create: enables the controllers down the parent chain and writes every limit', async () => {
    await mgr.create('web', { cpuShares: 500, memoryReservationBytes: 64 << 20, memoryMaxBytes: 128 << 20, pidsMax: 100 });
    assert.equal(fake.read('unified/cgroup.subtree_control'), '+cpu +cpuset +memory +pids');
    assert.equal(fake.read('unified/tend/cgroup.subtree_control'), '+cpu +cpuset +memory +pids');
    assert.equal(fake.read('unified/tend/web/cpu.weight'), String(1 + Math.floor((498 * 9999) / 262142)));
    assert.equal(fake.read('unified/tend/web/memory.low'), String(64 << 20));
    assert.equal(fake.read('unified/tend/web/memory.max'), String(128 << 20));
    assert.equal(fake.read('unified/tend/web/pids.max'), '100');
    assert.equal(fake.read('unified/tend/web/cpuset.cpus'), '0-3');
  });

  test('create: idempotent, and controllers already on are not written again', async () => {
    fake.write('unified/cgroup.subtree_control', 'cpuset cpu io memory pids\n');
    await mgr.create('web', { pidsMax: 10 });
    await mgr.create('web', { pidsMax: 20 });
    assert.equal(fake.read('unified/cgroup.subtree_control'), 'cpuset cpu io memory pids\n');
    assert.equal(fake.read('unified/tend/web/pids.max'), '20');
  });

  test('create: 0 means no limit; a hard limit turns swap off when swap is accounted', async () => {
    await mgr.create('web', {});
    fake.write('unified/tend/web/memory.swap.max', 'max\n');
    await mgr.update('web', { memoryMaxBytes: 64 << 20, pidsMax: 0 });
    assert.equal(fake.read('unified/tend/web/memory.swap.max'), '0');
    assert.equal(fake.read('unified/tend/web/pids.max'), 'max');
    await mgr.update('web', { memoryMaxBytes: 0 });
    assert.equal(fake.read('unified/tend/web/memory.max'), 'max');
    assert.equal(fake.read('unified/tend/web/memory.swap.max'), 'max');
  });

  test('create: an invalid id is refused before touching the tree', async () => {
    await assert.rejects(mgr.create('../escape', {}), /invalid cgroup id/);
    assert.equal(fake.has('unified/tend'), false);
  });

  test('update: a missing cgroup is E_CGROUP', async () => {
    await assert.rejects(mgr.update('nope', { pidsMax: 1 }), (err: unknown) => isTendError(err, 'E_CGROUP') && /does not exist/.test(String(err)));
  });

  test('update: raises and lowers memory in place', async () => {
    await mgr.create('web', { memoryMaxBytes: 64 << 20 });
    fake.write('unified/tend/web/memory.current', `${10 << 20}\n`);
    await mgr.update('web', { memoryMaxBytes: 256 << 20 });
    assert.equal(fake.read('unified/tend/web/memory.max'), String(256 << 20));
    await mgr.update('web', { memoryMaxBytes: 32 << 20 });
    assert.equal(fake.read('unified/tend/web/memory.max'), String(32 << 20));
  });

  test('update: a cut below unreclaimable usage is refused with EBUSY and the old limit stays', async () => {
    await mgr.create('web', { memoryMaxBytes: 256 << 20 });
    fake.write('unified/tend/web/memory.current', `${100 << 20}\n`);
    fake.write('unified/tend/web/memory.stat', `anon ${95 << 20}\nfile ${5 << 20}\n`);
    await assert.rejects(mgr.update('web', { memoryMaxBytes: 50 << 20 }), (err: unknown) => {
      assert.ok(isTendError(err, 'E_CGROUP'));
      assert.match(err.message, /failed to set memory limit of cgroup web to 52428800 bytes: .*EBUSY.*old limit stays/);
      assert.equal(err.details.errno, 'EBUSY');
      return true;
    });
    assert.equal(fake.read('unified/tend/web/memory.max'), String(256 << 20));
  });

  test('update: a cut the page cache can absorb goes through', async () => {
    await mgr.create('web', { memoryMaxBytes: 256 << 20 });
    fake.write('unified/tend/web/memory.current', `${100 << 20}\n`);
    fake.write('unified/tend/web/memory.stat', `anon ${20 << 20}\nfile ${80 << 20}\n`);
    fake.write('unified/tend/web/memory.reclaim', '');
    await mgr.update('web', { memoryMaxBytes: 50 << 20 });
    assert.equal(fake.read('unified/tend/web/memory.reclaim'), String(50 << 20), 'asked the kernel to reclaim the difference');
    assert.equal(fake.read('unified/tend/web/memory.max'), String(50 << 20));
  });

  test('create: exclusive cores move the tasks on the shared pool off them, and back on destroy', async () => {
    await mgr.create('shared', {});
    assert.equal(fake.read('unified/tend/shared/cpuset.cpus'), '0-3');
    const cores = mgr.cpusets.reserve('pinned', 2);
    await mgr.create('pinned', { cpuset: cores });
    assert.equal(fake.read('unified/tend/pinned/cpuset.cpus'), '0-1');
    assert.equal(fake.read('unified/tend/shared/cpuset.cpus'), '2-3');
    await mgr.destroy('pinned');
    assert.equal(fake.read('unified/tend/shared/cpuset.cpus'), '0-3');
    assert.deepEqual(mgr.cpusets.assignments(), {});
  });

  test('create: a cpuset the allocator did not hand out is adopted; a clash is refused and nothing is left', async () => {
    await mgr.create('a', { cpuset: [3] });
    assert.deepEqual(mgr.cpusets.assignments(), { a: [3] });
    await assert.rejects(mgr.create('b', { cpuset: [3] }), /cpu 3 is held by a/);
    assert.equal(fake.has('unified/tend/b'), false);
  });

  test('update: cpuset [] returns a task to the shared pool', async () => {
    await mgr.create('a', { cpuset: [0] });
    await mgr.create('b', {});
    assert.equal(fake.read('unified/tend/b/cpuset.cpus'), '1-3');
    await mgr.update('a', { cpuset: [] });
    assert.equal(fake.read('unified/tend/a/cpuset.cpus'), '0-3');
    assert.equal(fake.read('unified/tend/b/cpuset.cpus'), '0-3');
  });

  test('create: without cpuset handed to the parent, shared tasks get no cpuset and exclusive cores are refused', async () => {
    fake.write('unified/tend/cgroup.controllers', 'cpu memory pids\n');
    await mgr.create('a', {});
    assert.equal(fake.read('unified/tend/cgroup.subtree_control'), '+cpu +memory +pids');
    assert.equal(fake.has('unified/tend/a/cpuset.cpus'), false);
    await assert.rejects(mgr.create('b', { cpuset: [1] }), /failed to set cpuset of cgroup b: the cpuset controller is not enabled in .*tend\/cgroup.subtree_control/);
    assert.equal(fake.has('unified/tend/b'), false);
    await assert.rejects(mgr.update('a', { cpuset: [0] }), /cpuset controller is not enabled/);
    assert.deepEqual(mgr.cpusets.assignments(), {});
    await mgr.update('a', { cpuset: [] });
    assert.equal(fake.has('unified/tend/a/cpuset.cpus'), false);
  });

  test('create: after an agent restart the first change rewrites shared cpusets a previous run left narrowed', async () => {
    await mgr.create('old', {});
    fake.write('unified/tend/old/cpuset.cpus', '3\n'); // narrowed for an exclusive task that is gone now
    const restarted = make();
    await restarted.create('new', {});
    assert.equal(fake.read('unified/tend/old/cpuset.cpus'), '0-3');
    fake.write('unified/tend/old/cpuset.cpus', '3\n');
    await restarted.create('newer', {});
    assert.equal(fake.read('unified/tend/old/cpuset.cpus'), '3\n', 'no rewrite while the shared set is unchanged');
  });

  test('allPaths: the single v2 dir', () => {
    assert.deepEqual(mgr.allPaths('web'), mgr.paths('web'));
  });

  test('addProcess: writes the pid to cgroup.procs; pids reads the subtree', async () => {
    await mgr.create('web', {});
    await mgr.addProcess('web', 4242);
    assert.equal(fake.read('unified/tend/web/cgroup.procs'), '4242');
    fake.write('unified/tend/web/cgroup.procs', '4242\n4243\n');
    fake.write('unified/tend/web/inner/cgroup.procs', '4300\n4242\n');
    assert.deepEqual(await mgr.pids('web'), [4242, 4243, 4300]);
    assert.deepEqual(await mgr.pids('gone'), []);
  });

  test('stats: memory, cpu and pids as the kernel shows them; percent over the interval', async () => {
    await mgr.create('web', { memoryMaxBytes: 128 << 20 });
    fake.write('unified/tend/web/memory.current', '4718592\n');
    fake.write('unified/tend/web/memory.stat', 'anon 1052672\nfile 3325952\nkernel 389120\n');
    fake.write('unified/tend/web/memory.swap.current', '0\n');
    fake.write('unified/tend/web/memory.peak', '8388608\n');
    fake.write('unified/tend/web/cpu.stat', 'usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 5\nnr_throttled 1\nthrottled_usec 250\n');
    fake.write('unified/tend/web/pids.current', '3\n');
    const first = await mgr.stats('web');
    assert.deepEqual(first.memory, {
      usageBytes: 4718592,
      rssBytes: 1052672,
      cacheBytes: 3325952,
      swapBytes: 0,
      maxUsageBytes: 8388608,
      limitBytes: 128 << 20,
    });
    assert.deepEqual(first.cpu, { userNs: 600_000, systemNs: 400_000, totalNs: 1_000_000, throttledPeriods: 1, throttledTimeNs: 250_000, percent: 0 });
    assert.equal(first.pids, 3);
    assert.ok(Math.abs(first.at - Date.now()) < 5000);
    fake.write('unified/tend/web/cpu.stat', 'usage_usec 1000000000\nuser_usec 600\nsystem_usec 400\n');
    const second = await mgr.stats('web');
    assert.ok(second.cpu.percent > 0, `percent ${second.cpu.percent}`);
  });

  test('stats: a missing cgroup is E_CGROUP', async () => {
    await assert.rejects(mgr.stats('nope'), (err: unknown) => isTendError(err, 'E_CGROUP'));
  });

  test('oomKills: oom_kill from memory.events, 0 without the file', async () => {
    await mgr.create('web', {});
    assert.equal(await mgr.oomKills('web'), 0);
    fake.write('unified/tend/web/memory.events', 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n');
    assert.equal(await mgr.oomKills('web'), 1);
    await assert.rejects(mgr.oomKills('nope'), /does not exist/);
  });

  test('destroy: cgroup.kill fast path, then the directory and its children are removed', async () => {
    await mgr.create('web', {});
    fake.write('unified/tend/web/cgroup.kill', '');
    fake.write('unified/tend/web/cgroup.procs', `${GONE_PID}\n`);
    fake.write('unified/tend/web/inner/cgroup.procs', `${GONE_PID + 1}\n`);
    fake.write('unified/tend/web/cgroup.freeze', '0');
    const seen: string[] = [];
    const rec = recordingSignaller(() => {
      seen.push(`kill=${fake.read('unified/tend/web/cgroup.kill')} freeze=${fake.read('unified/tend/web/cgroup.freeze')}`);
      throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    });
    const m = make({ signal: rec.signal });
    await m.destroy('web');
    assert.equal(fake.has('unified/tend/web'), false);
    assert.deepEqual(rec.calls.sort(), [GONE_PID, GONE_PID + 1], 'each pid signalled once: ESRCH means reaped');
    assert.deepEqual(seen, ['kill=1 freeze=0', 'kill=1 freeze=0'], 'cgroup.kill written, no freeze needed');
  });

  test('destroy: pids that no longer exist (ESRCH from process.kill) count as gone', async () => {
    await mgr.create('web', {});
    fake.write('unified/tend/web/cgroup.procs', `${GONE_PID}\n`);
    await mgr.destroy('web');
    assert.equal(fake.has('unified/tend/web'), false);
  });

  test('destroy: freezes, waits for frozen 1, kills while frozen, waits until cgroup.procs is empty', async () => {
    await mgr.create('web', {});
    fake.write('unified/tend/web/cgroup.freeze', '0\n');
    fake.write('unified/tend/web/cgroup.events', 'populated 1\nfrozen 0\n');
    fake.write('unified/tend/web/cgroup.procs', '111\n222\n');
    const seen: string[] = [];
    const rec = recordingSignaller((pid) => {
      seen.push(`${pid} freeze=${fake.read('unified/tend/web/cgroup.freeze')} ${fake.read('unified/tend/web/cgroup.events').includes('frozen 1') ? 'frozen' : 'thawed'}`);
      // The "kernel": the process exits and leaves cgroup.procs.
      const left = fake.read('unified/tend/web/cgroup.procs').split('\n').filter((l) => l && l !== String(pid));
      fake.write('unified/tend/web/cgroup.procs', left.join('\n'));
    });
    const m = make({ signal: rec.signal });
    const timer = setTimeout(() => fake.write('unified/tend/web/cgroup.events', 'populated 1\nfrozen 1\n'), 30);
    try {
      await m.destroy('web');
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(seen, ['111 freeze=1 frozen', '222 freeze=1 frozen']);
    assert.equal(fake.has('unified/tend/web'), false);
  });

  test('destroy: times out with the pids still there', async () => {
    await mgr.create('web', {});
    fake.write('unified/tend/web/cgroup.procs', '111\n');
    const m = make({ signal: () => undefined });
    await assert.rejects(m.destroy('web', { timeoutMs: 50 }), /failed to destroy cgroup web: processes 111 still running after 50ms/);
    assert.ok(fake.has('unified/tend/web'));
  });

  test('destroy: idempotent, fine on a cgroup that never existed, concurrent calls share one run', async () => {
    await mgr.create('web', {});
    await Promise.all([mgr.destroy('web'), mgr.destroy('web')]);
    await mgr.destroy('web');
    await mgr.destroy('never');
    assert.equal(fake.has('unified/tend/web'), false);
  });

  test('list and gc: destroy every child not kept', async () => {
    await mgr.create('a', {});
    await mgr.create('b', {});
    await mgr.create('c', {});
    assert.deepEqual(await mgr.list(), ['a', 'b', 'c']);
    assert.deepEqual((await mgr.gc(new Set(['b']))).sort(), ['a', 'c']);
    assert.deepEqual(await mgr.list(), ['b']);
  });

  test('list: empty before the parent exists', async () => {
    assert.deepEqual(await mgr.list(), []);
  });
});
