/**
 * The oci executor through real runc and conmon, checked from inside the task.
 * Run alone: node --import tsx --test test/e2e/executor/oci.test.ts
 *
 * tend-test: exclusive (counts the host's mount table before and after: run alone, scripts/test.mjs)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { isTendError } from '../../../src/errors.js';
import { capsFromMask, computeCapabilities, DEFAULT_CHROOT_ENV, existingChrootEnv, NOMAD_DEFAULT_CAPS, ociCap, processCaps } from '../../../src/drivers/exec-isolation.js';
import type { ExecSession, TaskHandle } from '../../../src/executor/executor.js';
import { isAlive } from '../../../src/executor/proc.js';
import { platform } from '../../../src/platform.js';
import { requireConmon, requireRoot, requireRunc } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { cgroupRoots, leftovers, makeHarness, type Harness } from './oci-harness.js';

function gates(t: TestContext): boolean {
  return requireRoot(t) && requireRunc(t) && requireConmon(t);
}

async function collect(s: ExecSession): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  s.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  s.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await s.exit;
  return { out, err, code };
}

/** Run a short exec task to completion and return its exit and output. */
async function runTask(h: Harness, id: string, script: string, over: Parameters<Harness['spec']>[1] = {}) {
  const handle = await h.executor.launch(h.spec(id, { args: ['-c', script], ...over }));
  const exit = await h.executor.wait(handle);
  const out = h.output(id);
  await h.executor.cleanup(id);
  return { exit, out, handle };
}

/** Lines of the host's mount table (this process's namespace). */
const mountCount = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;

const mem = (id: string, h: Harness) => path.join(platform().cgroups.v1.memory ?? path.join(platform().cgroups.unified!, ''), h.parent, id);

describe('oci executor', { concurrency: false }, () => {
  let h: Harness;
  let hostMounts = 0;
  before(() => {
    h = makeHarness('e2e');
    hostMounts = mountCount();
  });
  after(async () => {
    await h?.dispose();
  });

  test('oci executor: private pid mode shows only the task, host mode shows the host', async (t) => {
    if (!gates(t)) return;
    const priv = await runTask(h, 'pid-private', 'cat /proc/1/comm; ls -d /proc/[0-9]* | wc -l');
    const [comm, count] = priv.out.split('\n');
    assert.equal(comm, 'sh');
    assert.ok(Number(count) <= 4, `expected at most 4 processes in a private pid namespace, got ${count}`);
    const host = await runTask(h, 'pid-host', 'ls -d /proc/[0-9]* 2>/dev/null | wc -l', { iso: { pidMode: 'host' } });
    assert.ok(Number(host.out) > 10, `expected the host's processes with pid_mode host, got ${host.out}`);
  });

  test('oci executor: the root is read-only and hides the host', async (t) => {
    if (!gates(t)) return;
    const script = `touch /usr/x 2>&1; touch /newfile 2>&1; for p in /root /work ${h.dataDir}; do test -e $p && echo "visible $p"; done; touch /tmp/ok /local/ok /alloc/ok && echo writable; exit 0`;
    const r = await runTask(h, 'rootfs', script);
    assert.match(r.out, /touch: cannot touch '\/usr\/x': Read-only file system/);
    assert.match(r.out, /touch: cannot touch '\/newfile': Read-only file system/);
    assert.doesNotMatch(r.out, /visible/);
    assert.match(r.out, /writable/);
    assert.equal(r.exit.code, 0);
    assert.ok(existsSync(path.join(h.dataDir, 'alloc', 'rootfs', 'alloc', 'ok')), 'expected /alloc to be the host alloc dir');
  });

  test('oci executor: chroot_env\'s map form binds a host dir at another path inside the root', async (t) => {
    if (!gates(t)) return;
    const chrootEnv = existingChrootEnv(DEFAULT_CHROOT_ENV);
    const r = await runTask(h, 'chroot-map', 'test -f /host-etc/passwd && echo moved; test -e /etc || echo no-etc; exit 0', { iso: { chrootEnv, chrootTargets: { '/etc': '/host-etc' } } });
    assert.equal(r.out, 'moved\nno-etc');
  });

  test('oci executor: CapEff matches allow_caps, cap_add and cap_drop', async (t) => {
    if (!gates(t)) return;
    const caps = computeCapabilities([...NOMAD_DEFAULT_CAPS, 'net_raw'], ['net_raw'], ['chown', 'kill']);
    const r = await runTask(h, 'caps', 'grep CapEff /proc/self/status', { iso: { capabilities: caps.map(ociCap) } });
    const held = new Set(processCaps());
    const got = capsFromMask(r.out.split(/\s+/)[1]);
    assert.deepEqual(got.sort(), caps.filter((c) => held.has(c)).sort());
    assert.ok(got.includes('net_raw') && !got.includes('chown') && !got.includes('kill'));
  });

  test('oci executor: the task runs as its user', async (t) => {
    if (!gates(t)) return;
    const r = await runTask(h, 'user', 'id -u; id -g', { user: { uid: 65534, gid: 65534, name: 'nobody' } });
    assert.equal(r.out, '65534\n65534');
  });

  test('oci executor: a task past its memory limit is OOM killed', async (t) => {
    if (!gates(t)) return;
    const r = await runTask(h, 'oom', 'python3 -c "b = bytearray(256 << 20); print(len(b))"', {
      resources: { cpuShares: 100, memoryBytes: 32 << 20, memoryMaxBytes: 32 << 20 },
    });
    assert.equal(r.exit.oomKilled, true);
    assert.equal(r.exit.message, 'OOM killed');
    assert.equal(r.exit.signal, 'SIGKILL');
  });

  test('oci executor: a fork bomb is held by the pids limit', async (t) => {
    if (!gates(t)) return;
    const handle = await h.executor.launch(
      h.spec('forkbomb', {
        args: ['-c', 'b() { b & b; }; b 2>/dev/null'],
        resources: { cpuShares: 100, memoryBytes: 64 << 20, memoryMaxBytes: 64 << 20, pidsLimit: 32 },
      }),
    );
    t.after(() => h.executor.cleanup('forkbomb'));
    const events = path.join(platform().cgroups.v1.pids ?? platform().cgroups.unified!, h.parent, 'forkbomb', 'pids.events');
    await waitFor(() => Number(/max (\d+)/.exec(readFileSync(events, 'utf8'))?.[1]) > 0, { what: 'the pids limit to refuse a fork', timeoutMs: 10_000 });
    const stats = await h.executor.stats(handle);
    assert.ok(stats.pids <= 32, `expected the pids limit to hold at 32, got ${stats.pids}`);
    assert.ok(stats.memoryBytes > 0);
    const t0 = Date.now();
    await h.executor.shutdown(handle, 'SIGKILL', 0);
    assert.deepEqual(await h.cgroups.list().then((ids) => ids.includes('forkbomb')), false);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test('oci executor: two tasks with cores = 1 get different exclusive CPUs', async (t) => {
    if (!gates(t)) return;
    if (platform().cpus.length < 2) return t.skip('needs 2 CPUs');
    const handles: TaskHandle[] = [];
    for (const id of ['core-a', 'core-b']) {
      const cores = h.cgroups.cpusets.reserve(id, 1);
      handles.push(await h.executor.launch(h.spec(id, { args: ['-c', 'grep Cpus_allowed_list /proc/self/status; sleep 30'], resources: { cpuShares: 100, memoryBytes: 32 << 20, memoryMaxBytes: 32 << 20, cores } })));
      t.after(() => h.executor.cleanup(id));
    }
    await waitFor(() => h.output('core-a').includes('Cpus') && h.output('core-b').includes('Cpus'), { what: 'both tasks to report their cpus' });
    const a = h.output('core-a').split(/\s+/)[1];
    const b = h.output('core-b').split(/\s+/)[1];
    assert.match(a, /^\d+$/);
    assert.match(b, /^\d+$/);
    assert.notEqual(a, b);
    for (const hd of handles) await h.executor.shutdown(hd, 'SIGKILL', 0);
  });

  test('oci executor: updateResources changes the memory limit and keeps the pid', async (t) => {
    if (!gates(t)) return;
    const spec = h.spec('update', { args: ['-c', 'trap "exit 0" TERM; echo ready; sleep 30 & wait'] });
    const handle = await h.executor.launch(spec);
    t.after(() => h.executor.cleanup('update'));
    await waitFor(() => h.output('update').includes('ready'), { what: 'the task to install its TERM trap' });
    const limitFile = path.join(mem('update', h), 'memory.limit_in_bytes');
    assert.equal(Number(readFileSync(limitFile, 'utf8')), 64 << 20);
    await h.executor.updateResources(handle, { ...spec.resources, memoryBytes: 96 << 20, memoryMaxBytes: 128 << 20 });
    assert.equal(Number(readFileSync(limitFile, 'utf8')), 128 << 20);
    assert.ok(isAlive(handle.pid, handle.pidStartTime), 'expected the same process to keep running');
    const exit = await h.executor.shutdown(handle, 'SIGTERM', 5000);
    assert.equal(exit.code, 0, 'expected the task to handle SIGTERM within its grace');
  });

  test('oci executor: exec runs inside the task with its env and propagates the exit code', async (t) => {
    if (!gates(t)) return;
    const handle = await h.executor.launch(h.spec('exec', { args: ['-c', 'sleep 30'] }));
    t.after(() => h.executor.cleanup('exec'));
    // The root, not only the mount namespace: runc exec lands on the host's root when the agent runs chrooted.
    const script = [
      'echo $FOO',
      'readlink /proc/self/ns/mnt /proc/self/ns/pid',
      'grep :memory: /proc/self/cgroup',
      'id -u',
      'pwd',
      `for p in /work /root ${h.dataDir}; do test -e $p && echo "visible $p"; done`,
      'test -d /local && echo local',
      'grep CapBnd /proc/self/status',
      'grep NoNewPrivs /proc/self/status',
      'exit 3',
    ].join('; ');
    const r = await collect(await h.executor.exec(handle, ['/bin/sh', '-c', script], { env: { FOO: 'bar' }, cwd: '/local' }));
    const ns = (n: string) => readlinkSync(`/proc/${handle.pid}/ns/${n}`);
    const taskStatus = readFileSync(`/proc/${handle.pid}/status`, 'utf8');
    const taskBnd = /CapBnd:\s*(\w+)/.exec(taskStatus)![1];
    const cg = /\d+:memory:.*/.exec(readFileSync(`/proc/${handle.pid}/cgroup`, 'utf8'))![0];
    assert.equal(r.err, '');
    assert.equal(r.out, `bar\n${ns('mnt')}\n${ns('pid')}\n${cg}\n0\n/local\nlocal\nCapBnd:\t${taskBnd}\nNoNewPrivs:\t1\n`);
    assert.equal(r.code, 3);
    await h.executor.shutdown(handle, 'SIGKILL', 0);
  });

  test('oci executor: exec as the task\'s user; kill ends the command; a stopped task refuses exec', async (t) => {
    if (!gates(t)) return;
    const handle = await h.executor.launch(h.spec('exec-user', { args: ['-c', 'sleep 30'], user: { name: 'nobody', uid: 65534, gid: 65534 } }));
    t.after(() => h.executor.cleanup('exec-user'));
    const r = await collect(await h.executor.exec(handle, ['/bin/sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status'], {}));
    assert.equal(r.out, '65534\n65534\nCapEff:\t0000000000000000\n');
    // A kill right as the exec joins the task (nsenter may be forking the command): the whole
    // session ends at once, nothing of it is left holding its output (a race once lost 30 s here).
    const procs = () => readFileSync(path.join(mem('exec-user', h), 'cgroup.procs'), 'utf8').trim().split('\n').length;
    const own = procs();
    for (let i = 0; i < 10; i++) {
      const s = await h.executor.exec(handle, ['/bin/sleep', '30'], {});
      const code = collect(s);
      await waitFor(() => procs() > own, { what: 'the exec to join the task cgroup', intervalMs: 1 });
      s.kill('SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`exec ${i}: the session outlived its kill by 5 s`)), 5000)));
      assert.equal((await Promise.race([code, late]).finally(() => clearTimeout(timer))).code, 137);
      await waitFor(() => procs() === own, { what: `exec ${i}: only the task left in its cgroup` });
    }
    const tty = await collect(await h.executor.exec(handle, ['/bin/sh', '-c', 'test -t 0 && echo tty; stty size; id -u'], { tty: { rows: 33, cols: 101 } }));
    assert.deepEqual([tty.out, tty.code], ['tty\r\n33 101\r\n65534\r\n', 0]);
    await h.executor.shutdown(handle, 'SIGKILL', 0);
    await assert.rejects(h.executor.exec(handle, ['true'], {}), /not running|bundle is gone/);
  });

  test('oci executor: an exit while the agent is gone is collected on reattach', async (t) => {
    if (!gates(t)) return;
    const spec = h.spec('reattach', { args: ['-c', 'while [ ! -e /local/go ]; do sleep 0.05; done; exit 7'] });
    const first = h.restart();
    const handle = await first.launch(spec);
    const persisted = JSON.parse(JSON.stringify(handle)) as TaskHandle;
    await first.close(); // the agent is gone
    const second = h.restart();
    assert.deepEqual(await second.reattach(persisted), { state: 'running', handle: persisted });
    await second.close();
    writeFileSync(path.join(spec.taskDir, 'local', 'go'), '');
    await waitFor(() => existsSync(path.join(h.dataDir, 'oci', 'exits', 'reattach')), { what: 'conmon to record the exit' });
    const third = h.restart();
    const r = await third.reattach(persisted);
    assert.equal(r.state, 'exited');
    assert.ok(r.state === 'exited' && r.exit.code === 7 && r.exit.known, `expected exit code 7, got ${JSON.stringify(r)}`);
    await third.cleanup('reattach');
    assert.deepEqual(leftovers(h, 'reattach'), []);
  });

  test('oci executor: list() finds a task by its identity file, or by its config.json env and pid files without one', async (t) => {
    if (!gates(t)) return;
    const base = h.spec('listed');
    const { job, group, index, task, allocId } = base.identity;
    const env = { ...base.env, NOMAD_JOB_ID: job, NOMAD_GROUP_NAME: group, NOMAD_ALLOC_INDEX: String(index), NOMAD_TASK_NAME: task, NOMAD_ALLOC_ID: allocId };
    const spec = h.spec('listed', { env, notes: { v: 1, hashes: { restart: 'r1' } } });
    const handle = await h.executor.launch(spec);
    t.after(() => h.executor.cleanup('listed'));
    const second = h.restart();
    const listed = (await second.list()).find((x) => x.id === 'listed');
    assert.deepEqual(listed, { id: 'listed', identity: spec.identity, driver: 'exec', notes: spec.notes, handle: JSON.parse(JSON.stringify(handle)) });
    // A bundle from before identity files: the NOMAD_* env of config.json and the pid files.
    rmSync(path.join(h.dataDir, 'oci', 'listed', 'identity.json'));
    const old = (await second.list()).find((x) => x.id === 'listed')!;
    assert.deepEqual(old.identity, spec.identity);
    assert.equal(old.driver, 'exec');
    assert.equal(old.notes, undefined);
    assert.deepEqual([old.handle.pid, old.handle.pidStartTime, old.handle.data.conmonPid, old.handle.data.conmonStartTime], [handle.pid, handle.pidStartTime, handle.data.conmonPid, handle.data.conmonStartTime]);
    assert.equal((await second.reattach(old.handle)).state, 'running');
    await second.close();
    await h.executor.shutdown(handle, 'SIGKILL', 0);
    await h.executor.cleanup('listed');
    assert.deepEqual(leftovers(h, 'listed'), []);
  });

  test('oci executor: shutdown then cleanup leave no process, mount, bundle or cgroup', async (t) => {
    if (!gates(t)) return;
    const handle = await h.executor.launch(h.spec('stop', { args: ['-c', 'trap "" INT TERM; sleep 30 & sleep 31 & wait'] }));
    await waitFor(async () => (await h.cgroups.pids('stop')).length >= 3, { what: 'the children to start' });
    const exit = await h.executor.shutdown(handle, 'SIGINT', 200);
    assert.equal(exit.signal, 'SIGKILL');
    await h.executor.cleanup('stop');
    assert.deepEqual(leftovers(h, 'stop'), []);
  });

  test('oci executor: a launch starts the container through its exec FIFO (runc then says running) and a stop removes runc\'s state of it', async (t) => {
    if (!gates(t)) return;
    const runcDir = path.join(h.dataDir, 'oci', 'runc-root', 'fifo');
    const handle = await h.executor.launch(h.spec('fifo', { args: ['-c', 'exec sleep 30'] }));
    assert.equal(existsSync(path.join(runcDir, 'exec.fifo')), false, 'expected the exec FIFO read and removed');
    const state = JSON.parse(execFileSync('runc', [`--root=${path.dirname(runcDir)}`, 'state', 'fifo'], { encoding: 'utf8' })) as { status: string; pid: number };
    assert.deepEqual({ status: state.status, pid: state.pid }, { status: 'running', pid: handle.pid });
    assert.ok(isAlive(handle.pid));
    await h.executor.shutdown(handle, 'SIGKILL', 1000);
    assert.equal(existsSync(runcDir), false, "expected runc's state dir removed by the stop");
    await h.executor.cleanup('fifo');
    assert.deepEqual(leftovers(h, 'fifo'), []);
  });

  test('oci executor: a bad command fails the launch with runc message and leaves nothing', async (t) => {
    if (!gates(t)) return;
    await assert.rejects(h.executor.launch(h.spec('badcmd', { command: '/nonexistent' })), (err: unknown) => {
      assert.ok(isTendError(err, 'E_LAUNCH_FAILED'));
      assert.match((err as Error).message, /failed to launch task badcmd: .*"\/nonexistent": stat \/nonexistent: no such file or directory/);
      return true;
    });
    assert.deepEqual(leftovers(h, 'badcmd'), []);
  });

  test('oci executor: raw_exec runs in the host view inside its own cgroup', async (t) => {
    if (!gates(t)) return;
    const id = 'raw';
    const hostMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;
    const mountsBefore = hostMounts();
    const handle = await h.executor.launch(h.spec(id, { driver: 'raw_exec', isolation: undefined, cwd: h.dataDir, args: ['-c', 'pwd; test -d /work && echo host; cat /proc/self/cgroup | grep memory; exit 5'] }));
    const exit = await h.executor.wait(handle);
    assert.equal(exit.code, 5);
    const out = h.output(id);
    assert.match(out, new RegExp(`^${h.dataDir}\nhost\n\\d+:memory:/${h.parent}/${id}$`));
    assert.equal(hostMounts(), mountsBefore, 'expected the host mount table to be unchanged by a host-mode task');
    await h.executor.cleanup(id);
    assert.deepEqual(leftovers(h, id), []);
  });

  test('oci executor: gc removes bundles, containers and cgroups of unknown tasks, and only ids of its own records', async (t) => {
    if (!gates(t)) return;
    const keep = await h.executor.launch(h.spec('gc-keep', { args: ['-c', 'sleep 30'] }));
    await h.executor.launch(h.spec('gc-drop', { args: ['-c', 'sleep 30'] }));
    mkdirSync(path.join(h.dataDir, 'oci', 'gc-orphan'), { recursive: true });
    // A cgroup under the parent that this executor never recorded (another agent's, with a shared parent).
    const foreign = cgroupRoots().map((root) => path.join(root, h.parent, 'gc-foreign')).filter((d) => existsSync(path.dirname(d)));
    for (const d of foreign) mkdirSync(d);
    t.after(() => {
      for (const d of foreign) if (existsSync(d)) rmdirSync(d);
    });
    const removed = await h.restart().gc(new Set(['gc-keep']));
    assert.deepEqual(removed, ['gc-drop', 'gc-orphan']);
    assert.deepEqual(leftovers(h, 'gc-drop'), []);
    assert.ok(isAlive(keep.pid, keep.pidStartTime));
    for (const root of cgroupRoots()) assert.equal(existsSync(path.join(root, h.parent, 'gc-drop')), false);
    assert.ok(foreign.length > 0 && foreign.every((d) => existsSync(d)), 'gc left the cgroup it has no record of');
    await h.executor.shutdown(keep, 'SIGKILL', 0);
    await h.executor.cleanup('gc-keep');
  });

  test('oci executor: the host mount table is what it was before the suite (no mount leaked out of a task)', (t) => {
    if (!gates(t)) return;
    assert.equal(mountCount(), hostMounts);
  });
});
