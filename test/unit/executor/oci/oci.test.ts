import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isTendError } from '../../../../src/errors.js';
import type { LaunchSpec } from '../../../../src/executor/executor.js';
import { buildSpec, MASKED_PATHS, nofileLimit, ociResources } from '../../../../src/executor/oci/bundle.js';
import { cleanRuntimeMessage, launchReason, parseSyncMessage } from '../../../../src/executor/oci/conmon.js';
import { execArgv, execEnv, splitEnv, type ExecTarget } from '../../../../src/executor/oci/exec-session.js';
import { cgroupLimits, exitFromStatus } from '../../../../src/executor/oci/executor.js';
import { ExitWatcher, readExitFile } from '../../../../src/executor/oci/exit-watch.js';
import { waitFor } from '../../../helpers/wait.js';
import { mountsUnder } from '../../../../src/executor/oci/mounts.js';
import { runtimeMessage } from '../../../../src/executor/oci/runtime.js';

function spec(over: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    id: 'a1-web',
    identity: { job: 'j', group: 'g', index: 0, task: 'web', allocId: 'a1' },
    driver: 'exec',
    command: '/bin/app',
    args: ['-v'],
    env: { A: '1' },
    allocDir: '/data/alloc/a1/alloc',
    taskDir: '/data/alloc/a1/web',
    cwd: '/local',
    logDir: '/data/logs/a1',
    logs: { maxFiles: 2, maxFileSizeBytes: 1 },
    resources: { cpuShares: 250, memoryBytes: 100, memoryMaxBytes: 200, cores: [1, 3], pidsLimit: 50 },
    user: { uid: 1000, gid: 1000, name: 'app', groups: [1000, 10] },
    isolation: { chrootEnv: ['/usr', '/etc'], pidMode: 'private', ipcMode: 'host', noPivotRoot: false, capabilities: ['CAP_KILL'], mounts: [{ source: '/srv', destination: '/data', readOnly: true }] },
    ...over,
  };
}

test('bundle: an exec spec isolates mount, pid and (per mode) ipc, with a read-only root', () => {
  const s = buildSpec(spec(), '/b/rootfs', { cgroupsPath: '/tend/a1-web', pidsLimit: 4096 });
  assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }, { type: 'pid' }]);
  assert.deepEqual(s.root, { path: '/b/rootfs', readonly: true });
  assert.equal(s.process.noNewPrivileges, true);
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [10] });
  assert.deepEqual(s.process.args, ['/bin/app', '-v']);
  assert.equal(s.process.cwd, '/local');
  assert.ok(s.process.env.includes('A=1') && s.process.env.some((e) => e.startsWith('PATH=')));
  assert.deepEqual(s.linux.maskedPaths, MASKED_PATHS);
  assert.equal(s.linux.cgroupsPath, '/tend/a1-web');
  assert.deepEqual(s.linux.resources?.devices, [{ allow: false, access: 'rwm' }]);
  const byDest = new Map(s.mounts.map((m) => [m.destination, m]));
  assert.deepEqual(byDest.get('/usr')?.options?.slice(0, 2), ['rbind', 'ro']);
  assert.equal(byDest.get('/alloc')?.source, '/data/alloc/a1/alloc');
  // the logs: from the agent-only dir, read-only, mounted after /alloc so they cover alloc/logs
  assert.deepEqual(byDest.get('/alloc/logs'), { destination: '/alloc/logs', type: 'bind', source: '/data/logs/a1', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  assert.ok(s.mounts.findIndex((m) => m.destination === '/alloc/logs') > s.mounts.findIndex((m) => m.destination === '/alloc'));
  assert.equal(byDest.get('/local')?.source, '/data/alloc/a1/web/local');
  assert.equal(byDest.get('/secrets')?.source, '/data/alloc/a1/web/secrets');
  assert.equal(byDest.get('/tmp')?.source, '/data/alloc/a1/web/tmp');
  assert.deepEqual(byDest.get('/data')?.options?.slice(0, 2), ['rbind', 'ro']);
  assert.equal(byDest.has('/dev/mqueue'), false, 'no mqueue mount with the host ipc namespace');
  assert.equal(byDest.get('/sys')?.options?.includes('ro'), true);
  assert.equal('hostname' in s, false);
});

test('bundle: a raw_exec spec is host mode: the host entries bound into a root of its own, only a mount namespace, no hostname', () => {
  const hostEntries = [
    { name: 'bin', kind: 'symlink' as const, target: 'usr/bin' },
    { name: 'etc', kind: 'dir' as const },
    { name: 'info.json', kind: 'file' as const },
  ];
  const s = buildSpec(spec({ driver: 'raw_exec', isolation: undefined, user: undefined, cwd: '/data/alloc/a1/web' }), '/b/rootfs', { cgroupsPath: '/tend/a1-web', pidsLimit: 4096, hostEntries });
  assert.deepEqual(s.root, { path: '/b/rootfs', readonly: false });
  assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }]);
  assert.deepEqual(s.mounts, [
    { destination: '/etc', type: 'bind', source: '/etc', options: ['rbind', 'rw'] },
    { destination: '/info.json', type: 'bind', source: '/info.json', options: ['rbind', 'rw'] },
    // the agent-only log dir, read-only where the task looks for it
    { destination: '/data/alloc/a1/alloc/logs', type: 'bind', source: '/data/logs/a1', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
  ]);
  assert.equal(s.process.cwd, '/data/alloc/a1/web');
  assert.equal(s.process.noNewPrivileges, false);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal('hostname' in s, false);
});

test('bundle: resources map to cpu shares, memory, pids and exclusive cpus', () => {
  assert.deepEqual(ociResources(spec().resources, 4096), { cpu: { shares: 250, cpus: '1,3' }, memory: { limit: 200, reservation: 100 }, pids: { limit: 50 } });
  assert.deepEqual(ociResources({ cpuShares: 1, memoryBytes: 0, memoryMaxBytes: 0 }, 4096), { cpu: { shares: 2 }, memory: {}, pids: { limit: 4096 } });
  assert.deepEqual(cgroupLimits({ cpuShares: 100, memoryBytes: 300, memoryMaxBytes: 200 }, 7), { cpuShares: 100, cpuset: undefined, memoryReservationBytes: 200, memoryMaxBytes: 200, pidsMax: 7 });
});

test('bundle: RLIMIT_NOFILE follows the agent\'s own limit', () => {
  assert.deepEqual(nofileLimit('Max open files            20000                40000                files\n'), { type: 'RLIMIT_NOFILE', hard: 40000, soft: 20000 });
  assert.deepEqual(nofileLimit(''), { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 });
});

test('conmon: the sync message gives the pid or the runtime\'s error', () => {
  assert.equal(parseSyncMessage('{"data": 4242}', 'x'), 4242);
  assert.throws(
    () => parseSyncMessage('{"data": -1, "message": "time=\\"2026\\" level=error msg=\\"runc create failed: exec: \\\\\\"/nope\\\\\\": stat /nope: no such file or directory\\""}', 'x'),
    (err: unknown) => isTendError(err, 'E_LAUNCH_FAILED') && /failed to launch task x: runc create failed: exec: "\/nope": stat \/nope/.test((err as Error).message),
  );
  assert.throws(
    () => parseSyncMessage('{"data": -1, "message": "runc create failed: unable to start container process: exec: \\"/bin/nope\\": stat /bin/nope: no such file or directory"}', 'x'),
    (err: unknown) => isTendError(err, 'E_LAUNCH_FAILED') && err.details.reason === 'command "/bin/nope" not found in the task\'s root',
  );
  assert.throws(() => parseSyncMessage('garbage', 'x'), /expected a JSON sync message from conmon/);
  assert.equal(cleanRuntimeMessage('cannot toggle freezer\nrunc create failed: boom'), 'runc create failed: boom');
});

test('runtime: runc error lines become the message', () => {
  assert.equal(runtimeMessage('time="x" level=error msg="container \\"a\\" does not exist"\n'), 'container "a" does not exist');
  assert.equal(runtimeMessage('plain text\n'), 'plain text');
});

test('exit: codes, signals (128+N) and OOM kills', () => {
  const at = new Date(0);
  assert.deepEqual(exitFromStatus(7, at, false), { code: 7, signal: null, oomKilled: false, at: at.toISOString(), known: true });
  const killed = exitFromStatus(137, at, true);
  assert.equal(killed.code, null);
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(killed.message, 'OOM killed');
  assert.equal(exitFromStatus(143, at, false).signal, 'SIGTERM');
});

test('exit watch: a waiter resolves when the exit file lands, and with nothing when the monitor is gone', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exits-'));
  const w = new ExitWatcher(dir, 50);
  try {
    const a = w.wait('t1', () => false);
    const b = w.wait('t1', () => false);
    writeFileSync(path.join(dir, 't1'), '7');
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra?.status, 7);
    assert.equal(rb?.status, 7);
    assert.equal(await w.wait('t2', () => true), undefined);
    assert.equal(await readExitFile(path.join(dir, 'missing')), undefined);
  } finally {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit watch: the poll notices a monitor that dies without writing a file, and reads a file a dead monitor left', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exits-'));
  const w = new ExitWatcher(dir, 20);
  try {
    let gone = false;
    let settled = false;
    let asked = 0;
    const lost = w.wait('t3', () => (asked++, gone)).then((r) => {
      settled = true;
      return r;
    });
    await waitFor(() => asked >= 3, { what: 'three polls' });
    assert.equal(settled, false, 'expected no result while the monitor lives');
    gone = true;
    assert.equal(await lost, undefined);
    // A file written while nobody watched (as after an agent restart), its monitor gone since.
    writeFileSync(path.join(dir, 't4'), '137');
    assert.equal((await w.wait('t4', () => true))?.status, 137);
  } finally {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit watch: the monitor\'s FIFO hanging up ends the wait, with no poll while it lives', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exits-'));
  const fifo = path.join(dir, 'winsz');
  execFileSync('mkfifo', [fifo]);
  // The monitor's end: held for writing (O_RDWR opens a FIFO without waiting for a reader).
  const writer = openSync(fifo, fsConstants.O_RDWR);
  const w = new ExitWatcher(dir, 10);
  try {
    let gone = false;
    const lost = w.wait('t5', () => gone, fifo);
    assert.equal(w.polled, 0, 'expected no poll for a waiter with a FIFO');
    gone = true;
    closeSync(writer);
    assert.equal(await lost, undefined);
    // A hang-up with the exit file written: the file is the answer.
    const writer2 = openSync(fifo, fsConstants.O_RDWR);
    const exited = w.wait('t6', () => false, fifo);
    writeFileSync(path.join(dir, 't6'), '3');
    closeSync(writer2);
    assert.equal((await exited)?.status, 3);
    // No FIFO (missing): the waiter is polled.
    const polled = w.wait('t7', () => true, path.join(dir, 'missing'));
    assert.equal(await polled, undefined);
  } finally {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit watch: a FIFO that hangs up on a live monitor turns to the poll', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exits-'));
  const fifo = path.join(dir, 'winsz');
  execFileSync('mkfifo', [fifo]);
  const writer = openSync(fifo, fsConstants.O_RDWR);
  const w = new ExitWatcher(dir, 10);
  try {
    let gone = false;
    const lost = w.wait('t8', () => gone, fifo);
    closeSync(writer); // hung up, yet the monitor lives (isGone false)
    await waitFor(() => w.polled === 1, { what: 'the waiter polled' });
    gone = true;
    assert.equal(await lost, undefined);
    assert.equal(w.polled, 0);
  } finally {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mounts: those under a bundle are found deepest first, with escapes decoded', () => {
  const info = [
    '22 1 0:21 / / rw - ext4 /dev/vda rw',
    '30 22 0:30 / /data/oci/a\\040b/rootfs rw - tmpfs tmpfs rw',
    '31 30 0:31 / /data/oci/a\\040b/rootfs/proc rw - proc proc rw',
    '32 22 0:32 / /data/oci/a\\040bc rw - tmpfs tmpfs rw',
  ].join('\n');
  assert.deepEqual(mountsUnder(info, '/data/oci/a b'), ['/data/oci/a b/rootfs/proc', '/data/oci/a b/rootfs']);
});

test('exec: enters the task\'s cgroups, namespaces and root, then drops to its user, groups and caps', () => {
  const base = buildSpec(spec(), '/r', { pidsLimit: 1 });
  const t: ExecTarget = { id: 'x', pid: 42, spec: base, cgroupDirs: ['/cg/memory/tend/x', '/cg/pids/tend/x'], setpriv: '/usr/bin/setpriv', nsenter: '/usr/bin/nsenter' };
  const argv = execArgv(t, ['/bin/sh', '-c', 'x'], { env: { A: '2', LD_PRELOAD: '/alloc/evil.so' }, cwd: '/tmp' });
  const sep = argv.indexOf('--');
  assert.deepEqual(argv.slice(4, sep), ['/cg/memory/tend/x', '/cg/pids/tend/x']);
  assert.equal(argv[sep + 1], '/usr/bin/nsenter', 'nsenter by absolute path: the chain runs with the task\'s PATH');
  assert.ok(argv.includes('--target=42') && argv.includes('--mount') && argv.includes('--root') && argv.includes('--wd=/proc/42/root/tmp'));
  const priv = argv.slice(argv.indexOf('/usr/bin/setpriv'));
  assert.ok(priv.includes(`--reuid=${base.process.user.uid}`) && priv.includes('--no-new-privs'));
  assert.ok(priv.some((a) => a.startsWith('--bounding-set=-all')));
  // The loader variable is set only inside the root, right before the command.
  assert.deepEqual(priv.slice(-5), ['/usr/bin/env', 'LD_PRELOAD=/alloc/evil.so', '/bin/sh', '-c', 'x']);
  const env = splitEnv(execEnv(base.process, { env: { A: '2', LD_PRELOAD: '/alloc/evil.so' } }));
  assert.equal(env.host.A, '2');
  assert.equal(env.host.LD_PRELOAD, undefined);
});

test('conmon: runc\'s create errors in the task\'s terms (the command or working dir its root lacks); others have none', () => {
  const runc = (tail: string) => `runc create failed: unable to start container process: ${tail}`;
  assert.equal(launchReason(runc('exec: "/bin/no-such-binary": stat /bin/no-such-binary: no such file or directory')), 'command "/bin/no-such-binary" not found in the task\'s root');
  assert.equal(launchReason(runc('exec: "server": executable file not found in $PATH')), 'command "server" not found in the task\'s PATH');
  assert.equal(launchReason(runc('exec: "/local/run.sh": permission denied')), 'command "/local/run.sh" cannot be run by the task\'s user (permission denied)');
  assert.equal(launchReason(runc('chdir to `/srv/app`: no such file or directory')), 'working directory "/srv/app" not found in the task\'s root');
  assert.equal(launchReason(runc('error during container init: cgroup oops')), undefined);
});
