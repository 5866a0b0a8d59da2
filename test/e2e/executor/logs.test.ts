import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createLogMonitorClient } from '../../../src/executor/logs/client.js';
import { logPaths, type LogTarget } from '../../../src/executor/logs/logs.js';
import { readLogs } from '../../../src/executor/logs/reader.js';
import { listLogIndexes } from '../../../src/executor/logs/rotator.js';
import { isAlive } from '../../../src/executor/proc.js';
import { requireLinux } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { harness } from './plain-harness.js';

const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts).toString();
}

let sharedMonitor: { dataDir: string; logs: ReturnType<typeof createLogMonitorClient>; logDir: string } | undefined;

after(async () => {
  if (!sharedMonitor) return;
  await sharedMonitor.logs.stop();
  rmSync(sharedMonitor.dataDir, { recursive: true, force: true });
});

/** A data dir with its own monitor, shared by this file's tests and stopped after them. */
function monitorDir() {
  if (sharedMonitor) return sharedMonitor;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tl-'));
  const logs = createLogMonitorClient({ dataDir });
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  sharedMonitor = { dataDir, logs, logDir };
  return sharedMonitor;
}

function mkfifo(file: string) {
  const r = spawnSync('mkfifo', [file]);
  assert.equal(r.status, 0);
}

test('log monitor: output written while the monitor is down lands once it is back', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('chatty', 'sh', [
    '-c',
    'i=0; while [ $i -lt 300 ]; do echo "line $i"; echo "$i" > progress; i=$((i+1)); [ $i = 100 ] && while [ ! -e resume ]; do sleep 0.01; done; done; exec sleep 30',
  ]);
  const handle = await h.launch(spec);
  const out = path.join(spec.logDir, 'chatty.stdout.0');
  await waitFor(() => read(out).includes('line 99\n'), { what: 'the first 100 lines' });
  const pid = (await h.logs.pid())!;
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !isAlive(pid), { what: 'the monitor to die' });
  // The task writes 200 more lines (≈ 2 KiB, well under the 64 KiB a FIFO holds) with nobody reading.
  writeFileSync(path.join(spec.cwd, 'resume'), '');
  await waitFor(() => read(path.join(spec.cwd, 'progress')).trim() === '299', { what: 'the task to write everything' });
  assert.ok(!read(out).includes('line 100\n'), 'nothing was collected while the monitor was down');
  await h.logs.ensure();
  assert.notEqual(await h.logs.pid(), pid);
  const want = Array.from({ length: 300 }, (_, i) => `line ${i}\n`).join('');
  await waitFor(() => read(out) === want, { what: 'all 300 lines, once each and in order' });
  await h.executor.shutdown(handle, 'SIGTERM', 1000);
});

test('log monitor: rotation keeps maxFiles and readLogs returns what is kept, in order', async (t) => {
  if (!requireLinux(t)) return;
  const { logs, logDir } = monitorDir();
  await logs.ensure();
  const task = 'rot';
  const fifos = logPaths(logDir, task);
  mkfifo(fifos.stdoutFifo);
  mkfifo(fifos.stderrFifo);
  const target: LogTarget = { id: 'rot-1', logDir, task, maxFiles: 3, maxFileSizeBytes: 100 };
  await logs.add({ kind: 'fifo', stdoutFifo: fifos.stdoutFifo, stderrFifo: fifos.stderrFifo }, target);
  await logs.add({ kind: 'fifo', stdoutFifo: fifos.stdoutFifo, stderrFifo: fifos.stderrFifo }, target); // idempotent
  const fd = openSync(fifos.stdoutFifo, constants.O_RDWR);
  t.after(() => closeSync(fd));
  const ac = new AbortController();
  let followed = '';
  const following = (async () => {
    for await (const b of readLogs({ logDir, task, stream: 'stdout', follow: true, signal: ac.signal, pollMs: 20 })) followed += b.toString();
  })();
  let all = '';
  for (let i = 0; i < 60; i++) {
    const line = `record ${String(i).padStart(3, '0')}\n`; // 11 bytes
    writeSync(fd, line);
    all += line;
    await waitFor(() => followed === all, { what: `the follower to see record ${i}` });
  }
  ac.abort();
  await following;
  await logs.remove('rot-1');
  const idx = listLogIndexes(logDir, task, 'stdout');
  assert.deepEqual(idx, [4, 5, 6], '660 bytes in 100-byte files: 0..6, the last 3 kept');
  const kept = await collect(readLogs({ logDir, task, stream: 'stdout' }));
  assert.equal(kept, all.slice(400), 'the kept files hold the newest bytes, in order');
  assert.equal(followed, all, 'a follower saw every byte once, across rotations');
});

test('log monitor: a conmon k8s-file log is demultiplexed and rotated through the ctl fifo', async (t) => {
  if (!requireLinux(t)) return;
  const { logs, logDir } = monitorDir();
  await logs.ensure();
  const task = 'oci';
  const conmonLog = logPaths(logDir, task).conmonLog;
  const ctl = path.join(logDir, 'ctl');
  mkfifo(ctl);
  // Play conmon: hold the ctl fifo open for reading and reopen the log on "2 0 0".
  const ctlFd = openSync(ctl, constants.O_RDWR | constants.O_NONBLOCK);
  t.after(() => closeSync(ctlFd));
  // Like conmon, write through one fd until told to reopen.
  let logFd = openSync(conmonLog, 'a');
  t.after(() => closeSync(logFd));
  const ts = () => new Date().toISOString();
  let wantOut = '';
  let wantErr = '';
  const record = (stream: 'stdout' | 'stderr', flag: 'F' | 'P', text: string) => {
    writeSync(logFd, `${ts()} ${stream} ${flag} ${text}\n`);
    const data = flag === 'F' ? `${text}\n` : text;
    if (stream === 'stdout') wantOut += data;
    else wantErr += data;
  };
  await logs.add({ kind: 'k8s-file', path: conmonLog, ctlFifo: ctl }, { id: 'oci-1', logDir, task, maxFiles: 100, maxFileSizeBytes: 4096 });
  record('stdout', 'P', 'hel');
  record('stdout', 'F', 'lo');
  record('stderr', 'F', 'warn');
  await waitFor(() => read(path.join(logDir, 'oci.stdout.0')) === 'hello\n' && read(path.join(logDir, 'oci.stderr.0')) === 'warn\n', {
    what: 'the first records demultiplexed',
  });
  // Past 4 KiB of conmon log the monitor renames it and asks for a reopen.
  for (let i = 0; i < 80; i++) record(i % 2 ? 'stderr' : 'stdout', 'F', `message number ${i} ${'x'.repeat(20)}`);
  const buf = Buffer.alloc(64);
  let ctlMsg = '';
  await waitFor(
    () => {
      try {
        const n = readSync(ctlFd, buf, 0, buf.length, null);
        ctlMsg += buf.subarray(0, n).toString();
      } catch {
        /* EAGAIN: nothing yet */
      }
      return ctlMsg.includes('\n');
    },
    { what: 'a reopen request on the ctl fifo' },
  );
  assert.equal(ctlMsg, '2 0 0\n');
  assert.equal(existsSync(`${conmonLog}.1`), true, 'the old log was renamed');
  record('stderr', 'F', 'still to the old file before the reopen');
  // conmon's reopen: close, open a fresh .tmp, rename it over the path.
  closeSync(logFd);
  logFd = openSync(`${conmonLog}.tmp`, 'w');
  renameSync(`${conmonLog}.tmp`, conmonLog);
  record('stdout', 'F', 'after reopen');
  const all = (s: string) => listLogIndexes(logDir, task, s as 'stdout').map((n) => read(path.join(logDir, `${task}.${s}.${n}`))).join('');
  await waitFor(() => all('stdout') === wantOut && all('stderr') === wantErr, { what: 'every record in its stream, in order' });
  await waitFor(() => !existsSync(`${conmonLog}.1`), { what: 'the renamed log to be deleted' });
  await logs.remove('oci-1');
  assert.ok(!readdirSync(logDir).some((n) => n.endsWith('.tmp')));
});

test('log monitor: concurrent ensure() calls start a single monitor', async (t) => {
  if (!requireLinux(t)) return;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'te-'));
  const a = createLogMonitorClient({ dataDir });
  const b = createLogMonitorClient({ dataDir });
  t.after(async () => {
    await a.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await Promise.all([a.ensure(), b.ensure(), a.ensure()]);
  const pid = await a.pid();
  assert.ok(pid && isAlive(pid));
  assert.equal(await b.pid(), pid);
  const monitors = spawnSync('pgrep', ['-f', `logmon -data-dir ${dataDir}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.deepEqual(monitors.map(Number), [pid]);
});

test('log monitor: a restarted monitor resumes a conmon log at its checkpoint', async (t) => {
  if (!requireLinux(t)) return;
  const { logs, logDir } = monitorDir();
  await logs.ensure();
  const task = 'resume';
  const conmonLog = logPaths(logDir, task).conmonLog;
  const fd = openSync(conmonLog, 'a');
  t.after(() => closeSync(fd));
  const rec = (i: number) => writeSync(fd, `${new Date().toISOString()} stdout F r${i}\n`);
  const out = path.join(logDir, `${task}.stdout.0`);
  const want = (n: number) => Array.from({ length: n }, (_, i) => `r${i}\n`).join('');
  await logs.add({ kind: 'k8s-file', path: conmonLog, ctlFifo: path.join(logDir, 'no-ctl') }, { id: 'resume-1', logDir, task, maxFiles: 2, maxFileSizeBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) rec(i);
  await waitFor(() => read(out) === want(5), { what: 'the first records' });
  await logs.stop(); // graceful: the offset is checkpointed
  for (let i = 5; i < 10; i++) rec(i);
  await logs.ensure();
  await waitFor(() => read(out) === want(10), { what: 'the records written while stopped, once each' });
  await logs.remove('resume-1');
});

test('log monitor: sync keeps exactly the given tasks, in the state file too', async (t) => {
  if (!requireLinux(t)) return;
  const { dataDir, logs, logDir } = monitorDir();
  await logs.ensure();
  const entry = (task: string) => {
    const f = logPaths(logDir, task);
    mkfifo(f.stdoutFifo);
    mkfifo(f.stderrFifo);
    return { source: { kind: 'fifo' as const, stdoutFifo: f.stdoutFifo, stderrFifo: f.stderrFifo }, target: { id: `${task}-1`, logDir, task, maxFiles: 2, maxFileSizeBytes: 1024 } };
  };
  const a = entry('sa');
  const b = entry('sb');
  const state = () => Object.keys(JSON.parse(read(path.join(dataDir, 'logmon.json')) || '{"tasks":{}}').tasks);
  await logs.add(a.source, a.target);
  // Answered only once durable: a monitor killed right after an add still knows the task when it comes back.
  assert.ok(state().includes('sa-1'), `expected sa-1 in the state file as soon as add resolves, got ${state().join()}`);
  await logs.sync([b]);
  assert.deepEqual(state(), ['sb-1']);
  const fd = openSync(b.source.stdoutFifo, constants.O_RDWR);
  t.after(() => closeSync(fd));
  writeSync(fd, 'to b\n');
  await waitFor(() => read(path.join(logDir, 'sb.stdout.0')) === 'to b\n', { what: 'b collected after sync' });
  await waitFor(() => state().join() === 'sb-1', { what: 'the state file to list only b' });
  await assert.rejects(logs.add({ kind: 'fifo', stdoutFifo: '/nonexistent/x', stderrFifo: '/nonexistent/y' }, { ...a.target, id: 'bad' }), /failed to add log collection/);
  await logs.sync([]);
  await waitFor(() => state().length === 0, { what: 'an empty state file' });

  // A removal is not waited for: it is written with the next add (a task's restart is one write,
  // the add not held back by the removal's), or on its own a moment later.
  await logs.add(a.source, a.target);
  assert.deepEqual(state(), ['sa-1']);
  await logs.remove(a.target.id);
  assert.deepEqual(state(), ['sa-1'], 'a removal alone is not written at once');
  await logs.add(b.source, b.target);
  assert.deepEqual(state(), ['sb-1'], 'the add wrote the removal with it');
  await logs.remove(b.target.id);
  await waitFor(() => state().length === 0, { what: 'a lone removal written within a second or so', timeoutMs: 5000 });
});
