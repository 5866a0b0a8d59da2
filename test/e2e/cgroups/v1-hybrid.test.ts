/**
 * The cgroup manager for real on a v1 or hybrid host, as root: real processes
 * in real cgroups, limits read back from the kernel, OOM kills, pids limits,
 * exclusive cpusets and complete teardown across every hierarchy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { CgroupManager } from '../../../src/cgroups/cgroups.js';
import { parseCpuList } from '../../../src/cgroups/cpuset.js';
import { platform } from '../../../src/platform.js';
import { requireCgroupV1, requireRoot } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { cgroupOf, gatedShell, hostManager, isDead, killOnEnd, leftovers, read, taskDirsEverywhere } from './host.js';

const MiB = 1 << 20;

function gates(t: TestContext): boolean {
  return requireRoot(t) && requireCgroupV1(t);
}

/** The task's dir in the v1 hierarchy that has `controller`. */
function dirOf(mgr: CgroupManager, controller: string, id: string): string {
  const mount = platform().cgroups.v1[controller];
  assert.ok(mount, `controller ${controller} mounted`);
  return path.join(mount, mgr.parent, id);
}

test('check: ok on this host', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  assert.equal(mgr.mode, platform().cgroups.mode);
  assert.deepEqual(await mgr.check(), { ok: true });
});

test('create: a real process joins, limits are written, read back and updated in place', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  await mgr.create('web', { cpuShares: 300, memoryReservationBytes: 32 * MiB, memoryMaxBytes: 64 * MiB, pidsMax: 50 });
  const sh = gatedShell(t, 'exec sleep 30');
  await mgr.addProcess('web', sh.pid);
  assert.deepEqual(await mgr.pids('web'), [sh.pid]);
  for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer']) {
    assert.equal(cgroupOf(sh.pid, c), `/${mgr.parent}/web`, `${c} hierarchy of the process`);
  }
  const mem = dirOf(mgr, 'memory', 'web');
  assert.equal(read(dirOf(mgr, 'cpu', 'web'), 'cpu.shares'), '300');
  assert.equal(read(mem, 'memory.limit_in_bytes'), String(64 * MiB));
  assert.equal(read(mem, 'memory.soft_limit_in_bytes'), String(32 * MiB));
  assert.equal(read(dirOf(mgr, 'pids', 'web'), 'pids.max'), '50');
  assert.deepEqual(parseCpuList(read(dirOf(mgr, 'cpuset', 'web'), 'cpuset.cpus')), mgr.cpusets.shared());

  // Raise then cut the hard limit (memsw must stay ≥ limit: the manager orders the writes).
  await mgr.update('web', { cpuShares: 600, memoryMaxBytes: 128 * MiB, pidsMax: 0 });
  assert.equal(read(dirOf(mgr, 'cpu', 'web'), 'cpu.shares'), '600');
  assert.equal(read(mem, 'memory.limit_in_bytes'), String(128 * MiB));
  assert.equal(read(dirOf(mgr, 'pids', 'web'), 'pids.max'), 'max');
  await mgr.update('web', { memoryMaxBytes: 48 * MiB, memoryReservationBytes: 0 });
  assert.equal(read(mem, 'memory.limit_in_bytes'), String(48 * MiB));
  assert.equal(Number(read(mem, 'memory.soft_limit_in_bytes')) > 2 ** 62, true, 'soft limit back to unlimited');
  try {
    assert.equal(read(mem, 'memory.memsw.limit_in_bytes'), String(48 * MiB), 'swap capped at the hard limit');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no swap accounting on this kernel
  }
  assert.deepEqual(await mgr.pids('web'), [sh.pid], 'same process after the updates');
  assert.equal((await mgr.stats('web')).memory.limitBytes, 48 * MiB);

  await mgr.destroy('web');
  await waitFor(() => isDead(sh.pid), { what: 'the task process to die' });
});

test('pids limit: a fork loop is held at pidsMax and the node stays usable', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  await mgr.create('bomb', { pidsMax: 20 });
  const sh = gatedShell(t, 'for i in $(seq 100); do sleep 30 & done; wait');
  let seen: number[] = [];
  killOnEnd(t, () => seen);
  await mgr.addProcess('bomb', sh.pid);
  sh.release();
  const pidsDir = dirOf(mgr, 'pids', 'bomb');
  await waitFor(() => Number(/max (\d+)/.exec(read(pidsDir, 'pids.events'))?.[1] ?? 0) > 0, { what: 'a fork refused by pids.max' });
  seen = await mgr.pids('bomb');
  assert.ok(seen.length <= 20, `${seen.length} processes in the cgroup`);
  assert.ok(seen.length >= 10, `the loop did fork (${seen.length} processes)`);
  assert.ok(Number(read(pidsDir, 'pids.current')) <= 20);
  assert.ok((await mgr.stats('bomb')).pids <= 20);
  // Outside the task, forking still works.
  assert.equal(spawnSync('true').status, 0);
  await mgr.destroy('bomb');
  for (const pid of seen) assert.ok(isDead(pid), `process ${pid} of the fork loop is dead`);
});

test('oomKills: a process allocating past memoryMaxBytes is OOM killed and counted', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  await mgr.create('hog', { memoryMaxBytes: 32 * MiB });
  assert.equal(await mgr.oomKills('hog'), 0);
  // tail holds its one 200 MiB "line" in memory.
  const sh = gatedShell(t, 'head -c 200M /dev/zero | tail; echo survived $?');
  await mgr.addProcess('hog', sh.pid);
  sh.release();
  const { code } = await sh.exited;
  assert.equal(code, 0, `the shell itself survives, only the hog is killed; output: ${sh.output()}`);
  assert.match(sh.output(), /survived 137/, 'tail died of SIGKILL');
  assert.ok((await mgr.oomKills('hog')) >= 1, `oom_kill counted; output: ${sh.output()}`);
  const stats = await mgr.stats('hog');
  assert.ok(stats.memory.maxUsageBytes !== undefined && stats.memory.maxUsageBytes > 16 * MiB, `peak ${stats.memory.maxUsageBytes}`);
  assert.ok(stats.memory.maxUsageBytes <= 32 * MiB, `peak ${stats.memory.maxUsageBytes} within the limit`);
});

test('stats: memory and cpu of a busy task, percent over an interval', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  await mgr.create('busy', { memoryMaxBytes: 256 * MiB });
  // 20 MB held in a shell variable, then a busy loop.
  const sh = gatedShell(t, 'x=$(head -c 20000000 /dev/zero | tr "\\0" a); while :; do :; done');
  await mgr.addProcess('busy', sh.pid);
  assert.equal((await mgr.stats('busy')).cpu.percent, 0, 'first reading has no interval');
  sh.release();
  let last = await mgr.stats('busy');
  await waitFor(
    async () => {
      last = await mgr.stats('busy');
      return last.cpu.percent > 20 && last.memory.rssBytes > 16e6;
    },
    { what: 'cpu percent and rss to show the busy task', timeoutMs: 10000, intervalMs: 100 },
  );
  assert.ok(last.cpu.percent <= 100 * platform().cpus.length * 1.1, `percent ${last.cpu.percent}`);
  assert.ok(last.cpu.userNs + last.cpu.systemNs > 0 && last.cpu.totalNs > 0, JSON.stringify(last.cpu));
  assert.ok(last.memory.usageBytes >= last.memory.rssBytes, JSON.stringify(last.memory));
  assert.equal(last.memory.limitBytes, 256 * MiB);
  assert.ok(last.pids >= 1);
  assert.ok(Math.abs(last.at - Date.now()) < 5000);
  await mgr.destroy('busy');
  await waitFor(() => isDead(sh.pid), { what: 'the busy task to die' });
});

test('cpusets: two exclusive reservations differ, the processes run there, and are released on destroy', async (t) => {
  if (!gates(t)) return;
  if (platform().cpus.length < 2) return t.skip('needs 2 CPUs');
  const mgr = hostManager(t);
  const a = mgr.cpusets.reserve('a', 1);
  const b = mgr.cpusets.reserve('b', 1);
  assert.notDeepEqual(a, b);
  await mgr.create('a', { cpuset: a });
  await mgr.create('b', { cpuset: b });
  assert.deepEqual(parseCpuList(read(dirOf(mgr, 'cpuset', 'a'), 'cpuset.cpus')), a);
  assert.deepEqual(parseCpuList(read(dirOf(mgr, 'cpuset', 'b'), 'cpuset.cpus')), b);
  const sh = gatedShell(t, 'exec sleep 30');
  await mgr.addProcess('a', sh.pid);
  const status = readFileSync(`/proc/${sh.pid}/status`, 'utf8');
  assert.deepEqual(parseCpuList(/Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? ''), a);
  await mgr.destroy('a');
  assert.deepEqual(mgr.cpusets.assignments(), { b });
  assert.deepEqual(mgr.cpusets.reserve('c', 1), a, 'a released CPU is handed out again');
  await mgr.destroy('b');
  assert.deepEqual(Object.keys(mgr.cpusets.assignments()), ['c']);
});

test('destroy: kills a double-forked setsid child, removes the cgroup in every hierarchy, idempotent', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  await mgr.create('t', { pidsMax: 100 });
  const sh = gatedShell(t, '(setsid sleep 300 &); exec sleep 301');
  let pids: number[] = [];
  killOnEnd(t, () => pids);
  await mgr.addProcess('t', sh.pid);
  // Join the hierarchies runc joins too (devices, blkio, name=systemd, unified), as runc would.
  const everywhere = taskDirsEverywhere(mgr, 't');
  assert.deepEqual([...mgr.allPaths('t')].sort(), everywhere, 'allPaths names every hierarchy');
  const made = leftovers(everywhere);
  for (const dir of everywhere.filter((d) => !made.includes(d))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'cgroup.procs'), String(sh.pid));
  }
  assert.deepEqual(leftovers(everywhere), everywhere);
  sh.release();
  // The subshell that forks the setsid child exits right after: wait for just the two, the child reparented.
  const ppidOf = (pid: number) => {
    try {
      return Number(/^\S+ \(.*\) \S+ (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
    } catch {
      return NaN; // gone meanwhile
    }
  };
  await waitFor(
    async () => {
      const now = await mgr.pids('t');
      const other = now.filter((p) => p !== sh.pid);
      return now.length === 2 && other.length === 1 && ![sh.pid, NaN].includes(ppidOf(other[0]));
    },
    { what: 'the shell and the setsid child, reparented' },
  );
  pids = await mgr.pids('t');
  const orphan = pids.find((p) => p !== sh.pid);
  assert.ok(orphan !== undefined);
  assert.notEqual(ppidOf(orphan), sh.pid, 'reparented');

  await mgr.destroy('t');
  for (const pid of pids) assert.ok(isDead(pid), `process ${pid} is dead`);
  assert.deepEqual(leftovers(everywhere), [], 'no directory left in any hierarchy');
  assert.deepEqual(await mgr.pids('t'), []);
  assert.deepEqual(await mgr.list(), []);
  await mgr.destroy('t');
  await Promise.all([mgr.destroy('t'), mgr.destroy('never-was')]);
});

test('gc: destroys every task cgroup not kept, with its processes', async (t) => {
  if (!gates(t)) return;
  const mgr = hostManager(t);
  for (const id of ['keep', 'junk1', 'junk2']) await mgr.create(id, {});
  const sh = gatedShell(t, 'exec sleep 30');
  await mgr.addProcess('junk1', sh.pid);
  assert.deepEqual(await mgr.list(), ['junk1', 'junk2', 'keep']);
  assert.deepEqual((await mgr.gc(new Set(['keep']))).sort(), ['junk1', 'junk2']);
  assert.deepEqual(await mgr.list(), ['keep']);
  assert.deepEqual(leftovers([...taskDirsEverywhere(mgr, 'junk1'), ...taskDirsEverywhere(mgr, 'junk2')]), []);
  await waitFor(() => isDead(sh.pid), { what: 'the process of a collected cgroup to die' });
});
