import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Launcher, LaunchFailed, launchSynced } from '../../../src/executor/launcher.js';
import { waitFor } from '../../helpers/wait.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-launcher-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);

test('Launcher: starts a detached process that reports on fd 3, from the launcher process (not this one), with its env, cwd and output file', async (t) => {
  const dir = tempDir(t);
  const l = new Launcher();
  t.after(() => l.close());
  const out = path.join(dir, 'out');
  let exited = false;
  const r = await l.spawnSynced(
    { file: '/bin/sh', args: ['-c', 'echo "$X $(pwd)"; echo ready >&3; exec sleep 30'], cwd: dir, env: { X: 'hello', PATH: '/usr/bin:/bin' }, stdout: { path: out }, timeoutMs: 10_000 },
    () => (exited = true),
  );
  t.after(() => killGroup(r.pid));
  assert.equal(r.line, 'ready');
  assert.equal(ppidOf(r.pid), l.pid, 'a child of the launcher');
  assert.notEqual(l.pid, process.pid);
  await waitFor(() => readFileSync(out, 'utf8') === `hello ${dir}\n`, { what: 'its output in the file' });
  process.kill(-r.pid, 'SIGKILL');
  await waitFor(() => exited, { what: 'its exit, heard through the launcher' });
});

test('Launcher: run gives the exit code and output of a program; a program that cannot run is LaunchFailed', async (t) => {
  const l = new Launcher();
  t.after(() => l.close());
  assert.deepEqual(await l.run('/bin/sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'in\n', timeoutMs: 10_000, maxBuffer: 1 << 20 }), { code: 3, stdout: 'in\n', stderr: 'err\n' });
  await assert.rejects(l.run('/nonexistent/prog', [], { timeoutMs: 10_000, maxBuffer: 1 << 20 }), LaunchFailed);
  assert.equal(l.started, 1, 'one launcher for all requests');
});

test('Launcher: a launcher that died is replaced by the next request; a closed one makes launchSynced spawn here', async (t) => {
  const l = new Launcher();
  t.after(() => l.close());
  await l.run('/bin/true', [], { timeoutMs: 10_000, maxBuffer: 1024 });
  const first = l.pid!;
  process.kill(first, 'SIGKILL');
  await waitFor(() => !alive(first), { what: 'the launcher to die' });
  await waitFor(() => l.pid === undefined, { what: 'the launcher to be noticed gone' });
  assert.equal((await l.run('/bin/sh', ['-c', 'exit 7'], { timeoutMs: 10_000, maxBuffer: 1024 })).code, 7);
  assert.equal(l.started, 2);
  l.close();
  const r = await launchSynced(l, { file: '/bin/sh', args: ['-c', 'echo $$ >&3'], env: {}, timeoutMs: 10_000 });
  assert.equal(Number(r.line), r.pid);
});

test('Launcher: idle, it keeps no process alive; it ends when its parent does', async (t) => {
  const mod = path.resolve('src/executor/launcher.ts');
  const script = `import { Launcher } from ${JSON.stringify(mod)}; const l = new Launcher(); await l.run('/bin/true', [], { timeoutMs: 10000, maxBuffer: 1024 }); console.log(l.pid);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const launcher = Number(r.stdout.trim());
  assert.ok(launcher > 0, r.stdout);
  await waitFor(() => !alive(launcher), { what: 'the launcher to end with its parent' });
});
