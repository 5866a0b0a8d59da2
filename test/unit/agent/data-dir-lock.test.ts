import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lockDataDir, LOCK_FILE } from '../../../src/agent/data-dir-lock.js';
import { isTendError, TendError } from '../../../src/errors.js';
import { requireFlock } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';

const LOCK_MODULE = fileURLToPath(new URL('../../../src/agent/data-dir-lock.ts', import.meta.url));

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-lock-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function refusal(p: Promise<unknown>): Promise<TendError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isTendError(err, 'E_DATA_DIR_LOCKED'), `expected E_DATA_DIR_LOCKED, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the lock to be refused');
}

test('lockDataDir: a second lock is refused with the holder pid; release lets the next one in', async (t) => {
  if (!requireFlock(t)) return;
  const dir = path.join(await tempDir(t), 'state');
  const first = await lockDataDir(dir, { pid: 4242 });
  t.after(() => first.release());
  assert.equal(first.file, path.join(dir, LOCK_FILE));
  assert.equal(readFileSync(first.file, 'utf8'), '4242\n');
  const err = await refusal(lockDataDir(dir));
  assert.equal(err.details.pid, 4242);
  assert.match(err.message, /^failed to lock data dir .*: another tend agent \(pid 4242\) holds .*agent\.lock/);
  first.release();
  first.release(); // idempotent
  const second = await lockDataDir(dir);
  second.release();
  assert.equal(readFileSync(first.file, 'utf8'), `${process.pid}\n`, 'the new holder overwrote the pid');
});

test('lockDataDir: a holder killed with SIGKILL leaves no lock behind', async (t) => {
  if (!requireFlock(t)) return;
  const dir = await tempDir(t);
  const script = `const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)}); await lockDataDir(${JSON.stringify(dir)}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await waitFor(() => out.includes('locked') || child.exitCode !== null, { what: 'child to lock', timeoutMs: 20_000 });
  assert.equal(out, 'locked\n');
  const err = await refusal(lockDataDir(dir));
  assert.equal(err.details.pid, child.pid);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  // The stale pid is still in the file; the kernel dropped the lock with the process.
  assert.equal(readFileSync(path.join(dir, LOCK_FILE), 'utf8'), `${child.pid}\n`);
  (await lockDataDir(dir)).release();
});

test('lockDataDir: processes the holder starts do not inherit the lock', async (t) => {
  if (!requireFlock(t)) return;
  const dir = await tempDir(t);
  const lock = await lockDataDir(dir);
  // As the log monitor and conmon do: a detached child that outlives the lock holder's fd.
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => child.pid !== undefined, { what: 'sleep to start' });
  const fds = await fs.readdir(`/proc/${child.pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => fs.readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => '')));
  assert.ok(!targets.includes(lock.file), `child holds ${lock.file}: ${targets.join(', ')}`);
  lock.release();
  (await lockDataDir(dir)).release();
});

test('lockDataDir: a lock file that is a symlink is refused, and nothing is written through it', async (t) => {
  if (!requireFlock(t)) return;
  const dir = await tempDir(t);
  const target = path.join(dir, 'elsewhere');
  await fs.writeFile(target, 'keep\n');
  await fs.mkdir(path.join(dir, 'state'));
  await fs.symlink(target, path.join(dir, 'state', LOCK_FILE));
  await assert.rejects(lockDataDir(path.join(dir, 'state')), (err: unknown) => isTendError(err, 'E_INTERNAL') && /cannot open/.test(err.message));
  assert.equal(readFileSync(target, 'utf8'), 'keep\n');
});
