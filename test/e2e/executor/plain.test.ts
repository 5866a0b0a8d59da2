import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { POLL_MS } from '../../../src/executor/plain-exit.js';
import { findMarked } from '../../../src/executor/plain-procs.js';
import { createPlainExecutor } from '../../../src/executor/plain.js';
import { isAlive, readStat } from '../../../src/executor/proc.js';
import { requireLinux, requireRoot } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { harness } from './plain-harness.js';
import { text } from 'node:stream/consumers';

const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

test('plain executor: fingerprint offers raw_exec only', async (t) => {
  const h = harness(t);
  const fp = await h.executor.fingerprint();
  assert.equal(fp.raw_exec.ok, true);
  assert.deepEqual(fp.exec, { ok: false, reason: 'needs the oci executor (root, runc and conmon)' });
});

test('plain executor: stdout and stderr land in the rotated log files', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('web', 'sh', ['-c', 'echo hi; echo err >&2; exec sleep 30']);
  const handle = await h.launch(spec);
  assert.ok(isAlive(handle.pid, handle.pidStartTime), 'the handle pid runs with its start time');
  assert.equal(readStat(handle.pid)?.pgrp, handle.data.wrapperPid, 'the task runs in the wrapper’s process group');
  await waitFor(() => read(path.join(spec.logDir, 'web.stdout.0')) === 'hi\n', { what: 'hi in web.stdout.0' });
  await waitFor(() => read(path.join(spec.logDir, 'web.stderr.0')) === 'err\n', { what: 'err in web.stderr.0' });
  const exit = await h.executor.shutdown(handle, 'SIGTERM', 5000);
  assert.equal(exit.signal, 'SIGTERM');
  assert.equal(exit.known, true);
  assert.equal(isAlive(handle.pid, handle.pidStartTime), false);
});

test('plain executor: the exit code is recorded and wait resolves for every waiter', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const handle = await h.launch(h.spec('batch', 'sh', ['-c', 'exit 7']));
  const [a, b] = await Promise.all([h.executor.wait(handle), h.executor.wait(handle)]);
  assert.equal(a.code, 7);
  assert.equal(a.known, true);
  assert.deepEqual(b, a);
  assert.equal(readFileSync(String(handle.data.exitFile), 'utf8'), '7\n');
});

test('plain executor: env is the spec env plus the task marker, cwd is the task dir', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('envy', '/usr/bin/env', []);
  const handle = await h.launch(spec);
  await h.executor.wait(handle);
  await waitFor(() => read(path.join(spec.logDir, 'envy.stdout.0')).includes('TEND_TASK_ID'), { what: 'env output' });
  const lines = read(path.join(spec.logDir, 'envy.stdout.0')).trim().split('\n').sort();
  // dash adds PWD for its children; everything else is exactly the spec's env.
  assert.deepEqual(lines, [`NOMAD_TASK_NAME=envy`, `PATH=${spec.env.PATH}`, `PWD=${spec.cwd}`, `TEND_TASK_ID=${spec.id}`].sort());
});

test('plain executor: shutdown kills a double-forked setsid descendant', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('forky', 'sh', ['-c', 'setsid sh -c "sleep 300; true" & sleep 300']);
  const handle = await h.launch(spec);
  const marked = () => findMarked(new Set([spec.id])).get(spec.id) ?? [];
  const outside = () => marked().filter((pid) => readStat(pid)?.session !== readStat(handle.pid)?.session);
  await waitFor(() => outside().length > 0, { what: 'the setsid descendant to start' });
  const exit = await h.executor.shutdown(handle, 'SIGINT', 300);
  assert.equal(exit.known, true);
  assert.deepEqual(marked(), [], 'no process carrying the task id remains');
});

test('plain executor: shutdown escalates to SIGKILL after the grace period', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('stubborn', 'sh', ['-c', 'trap "" INT TERM; echo ready; while :; do sleep 1; done']);
  const handle = await h.launch(spec);
  await waitFor(() => read(path.join(spec.logDir, 'stubborn.stdout.0')) === 'ready\n', { what: 'the task to ignore SIGTERM' });
  const started = Date.now();
  const exit = await h.executor.shutdown(handle, 'SIGTERM', 200);
  assert.ok(Date.now() - started >= 200, 'waited for the grace period');
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(isAlive(handle.pid, handle.pidStartTime), false);
});

test('plain executor: reattach rejects a reused pid with another start time', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const handle = await h.launch(h.spec('sleepy', 'sleep', ['30']));
  assert.deepEqual(await h.executor.reattach(handle), { state: 'running', handle });
  // A live process (ourselves) posing as the task with a wrong start time.
  const me = readStat(process.pid)!;
  const fake = {
    ...handle,
    id: `${handle.id}-fake`,
    pid: process.pid,
    pidStartTime: me.startTime + 1,
    data: { ...handle.data, wrapperPid: process.pid, wrapperStartTime: me.startTime + 1, exitFile: '/nonexistent/exit', dir: '/nonexistent' },
  };
  const r = await h.executor.reattach(fake);
  assert.equal(r.state, 'exited');
  assert.equal(r.state === 'exited' && r.exit.known, false);
  assert.equal(r.state === 'exited' && r.exit.message, 'exit code not recorded');
});

test('plain executor: an exit while the agent is gone is collected by a new executor', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('later', 'sh', ['-c', 'while [ ! -e go ]; do sleep 0.02; done; exit 3']);
  const handle = await h.launch(spec);
  // "The agent goes away": a fresh executor over the same data dir, from the persisted handle only.
  const persisted = JSON.parse(JSON.stringify(handle));
  const again = createPlainExecutor({ dataDir: h.dataDir, logs: h.logs });
  assert.equal((await again.reattach(persisted)).state, 'running');
  writeFileSync(path.join(spec.cwd, 'go'), '');
  await waitFor(() => !isAlive(handle.pid, handle.pidStartTime) && !isAlive(Number(handle.data.wrapperPid)), { what: 'the task and its wrapper to end' });
  const r = await again.reattach(persisted);
  assert.equal(r.state, 'exited');
  assert.equal(r.state === 'exited' && r.exit.code, 3);
  assert.equal(r.state === 'exited' && r.exit.known, true);
  assert.equal((await again.wait(persisted)).code, 3);
});

test('plain executor: a wrapper killed before it records the exit is noticed without waiting for the poll', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const handle = await h.launch(h.spec('orphaned', 'sleep', ['300']));
  const wrapperPid = Number(handle.data.wrapperPid);
  const exited = h.executor.wait(handle);
  // Stop the wrapper so that it cannot record the task's death, kill the task, then the wrapper.
  process.kill(wrapperPid, 'SIGSTOP');
  process.kill(handle.pid, 'SIGKILL');
  await waitFor(() => !isAlive(handle.pid, handle.pidStartTime), { what: 'the task to die' });
  process.kill(wrapperPid, 'SIGKILL');
  // The wrapper is this process's child: its exit triggers the check (the shared poll is POLL_MS).
  const timer = sleep(POLL_MS / 2, 'poll');
  const exit = await Promise.race([exited, timer]);
  assert.notEqual(exit, 'poll', `the exit was not noticed within ${POLL_MS / 2} ms`);
  assert.equal(typeof exit === 'object' && exit.known, false);
  assert.equal(existsSync(String(handle.data.exitFile)), false);
});

test('plain executor: once the launcher that reported exits is gone, an exit nothing reports is found by the poll at its full rate', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const handle = await h.launch(h.spec('unreported', 'sleep', ['300']));
  const wrapperPid = Number(handle.data.wrapperPid);
  const launcherPid = readStat(wrapperPid)!.ppid;
  assert.notEqual(launcherPid, process.pid, 'the wrapper is the launcher\'s child');
  const exited = h.executor.wait(handle);
  // The launcher dies (its children's exits go unreported), then the task and its wrapper die
  // without an exit file: only the fallback poll can notice. Reported wrappers are polled every
  // 30 s; the launcher's loss puts them back on the 5 s poll.
  process.kill(launcherPid, 'SIGKILL');
  await waitFor(() => !isAlive(launcherPid), { what: 'the launcher to die' });
  process.kill(wrapperPid, 'SIGSTOP');
  process.kill(handle.pid, 'SIGKILL');
  await waitFor(() => !isAlive(handle.pid, handle.pidStartTime), { what: 'the task to die' });
  process.kill(wrapperPid, 'SIGKILL');
  const timer = sleep(2 * POLL_MS + 1000, 'late');
  const exit = await Promise.race([exited, timer]);
  assert.notEqual(exit, 'late', `the exit was not noticed within two polls (${2 * POLL_MS} ms)`);
  assert.equal(typeof exit === 'object' && exit.known, false);
});

test('plain executor: signal reaches the task and not the wrapper', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('sig', 'sh', ['-c', 'trap "echo usr1" USR1; echo ready; while :; do sleep 0.05; done']);
  const handle = await h.launch(spec);
  const out = path.join(spec.logDir, 'sig.stdout.0');
  await waitFor(() => read(out).includes('ready'), { what: 'the task to install its trap' });
  await h.executor.signal(handle, 'USR1');
  await waitFor(() => read(out).includes('usr1'), { what: 'the trap output' });
  await h.executor.signal(handle, 'SIGTERM');
  const exit = await h.executor.wait(handle);
  assert.equal(exit.signal, 'SIGTERM', 'the wrapper survived to record the signal');
});

test('plain executor: stats sum the task processes', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const handle = await h.launch(h.spec('busy', 'sh', ['-c', 'sleep 30 & while :; do :; done']));
  await waitFor(async () => (await h.executor.stats(handle)).pids === 2, { what: 'both task processes in stats' });
  const first = await h.executor.stats(handle);
  assert.ok(first.memoryBytes > 1024, `expected the RSS of two processes, got ${first.memoryBytes}`);
  await waitFor(async () => (await h.executor.stats(handle)).cpuPercent > 20, { what: 'a busy loop to show cpu', intervalMs: 100 });
});

test('plain executor: exec runs in the task dir with its env', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('ex', 'sleep', ['30']);
  const handle = await h.launch(spec);
  const s = await h.executor.exec(handle, ['sh', '-c', 'echo "$NOMAD_TASK_NAME $(pwd)"; exit 4']);
  let out = '';
  s.stdout.on('data', (d) => (out += d));
  assert.equal(await s.exit, 4);
  assert.equal(out, `ex ${spec.cwd}\n`);
  // A command that cannot be run: a session that says so on stderr and exits as a shell would.
  const missing = await h.executor.exec(handle, ['/nonexistent/cmd']);
  assert.equal(await missing.exit, 127);
  assert.equal(await text(missing.stderr), 'tendctl exec: command "/nonexistent/cmd" not found in the task (No such file or directory)\n');
});

test('plain executor: launch fails on a missing command', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  await assert.rejects(h.executor.launch(h.spec('nope', 'no-such-command-xyz', [])), (err: Error & { code?: string }) => err.code === 'E_LAUNCH_FAILED');
});

test('plain executor: gc kills and removes tasks that are not known', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const keep = await h.launch(h.spec('keep', 'sleep', ['30']));
  const drop = await h.launch(h.spec('drop', 'sh', ['-c', 'setsid sleep 300 & sleep 300']));
  await waitFor(() => (findMarked(new Set([drop.id])).get(drop.id) ?? []).length >= 3, { what: 'drop’s processes' });
  const removed = await h.executor.gc(new Set([keep.id]));
  assert.deepEqual(removed, [drop.id]);
  assert.equal(findMarked(new Set([drop.id])).size, 0);
  assert.equal(existsSync(String(drop.data.dir)), false);
  assert.equal(isAlive(keep.pid, keep.pidStartTime), true);
});

test('plain executor: as root, the task runs as its user while the wrapper records the exit', async (t) => {
  if (!requireLinux(t) || !requireRoot(t)) return;
  const h = harness(t);
  const spec = h.spec('nobody', 'sh', ['-c', 'id -u; id -g; id -G; exec sleep 30'], {
    user: { uid: 65534, gid: 65534, name: 'nobody', groups: [65534, 100] },
  });
  const handle = await h.launch(spec);
  // The handle's pid goes through setpriv, which drops to the user and execs the command (same pid).
  await waitFor(() => /^Uid:\s+65534\s+65534\s+65534\s+65534$/m.test(readFileSync(`/proc/${handle.pid}/status`, 'utf8')), { what: 'the task to run as nobody' });
  const status = readFileSync(`/proc/${handle.pid}/status`, 'utf8');
  assert.match(status, /^Groups:\s+100 65534\s*$/m);
  await waitFor(() => read(path.join(spec.logDir, 'nobody.stdout.0')).split('\n').length >= 4, { what: 'id output' });
  assert.deepEqual(read(path.join(spec.logDir, 'nobody.stdout.0')).trim().split('\n'), ['65534', '65534', '65534 100']);
  const exit = await h.executor.shutdown(handle, 'SIGTERM', 2000);
  assert.equal(exit.signal, 'SIGTERM', 'the root wrapper wrote the exit file');
});

test('plain executor: list() returns the identity, driver, notes and handle a launch kept; an older handle file gives its identity from the env', async (t) => {
  if (!requireLinux(t)) return;
  const h = harness(t);
  const spec = h.spec('listed', 'sh', ['-c', 'exec sleep 30']);
  const { job, group, index, task, allocId } = spec.identity;
  spec.env = { ...spec.env, NOMAD_JOB_ID: job, NOMAD_GROUP_NAME: group, NOMAD_ALLOC_INDEX: String(index), NOMAD_TASK_NAME: task, NOMAD_ALLOC_ID: allocId };
  spec.notes = { v: 1, hashes: { restart: 'r1' } };
  const handle = await h.launch(spec);
  const listed = (await h.executor.list()).find((x) => x.id === spec.id);
  assert.deepEqual(listed, { id: spec.id, identity: spec.identity, driver: 'raw_exec', notes: spec.notes, handle });
  // A handle file written before identities were kept: the NOMAD_* variables name the task.
  const file = path.join(h.dataDir, 'plain', spec.id, 'handle.json');
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete saved.identity;
  delete saved.driver;
  delete saved.notes;
  writeFileSync(file, JSON.stringify(saved));
  const old = (await h.executor.list()).find((x) => x.id === spec.id);
  assert.deepEqual(old, { id: spec.id, identity: spec.identity, driver: 'raw_exec', handle });
  assert.equal((await h.executor.reattach(old!.handle)).state, 'running');
});
