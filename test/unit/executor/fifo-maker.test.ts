import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FifoMaker } from '../../../src/executor/fifo-maker.js';
import { waitFor } from '../../helpers/wait.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('FifoMaker: makes 0600 FIFOs through one helper for many requests, names with spaces included', async (t) => {
  const dir = tempDir(t);
  const m = new FifoMaker();
  t.after(() => m.close());
  const files = Array.from({ length: 20 }, (_, i) => path.join(dir, `task ${i}.stdout.fifo`));
  await m.make(files.slice(0, 2));
  await Promise.all([m.make(files.slice(2, 10)), m.make(files.slice(10))]);
  for (const f of files) {
    const st = lstatSync(f);
    assert.ok(st.isFIFO(), f);
    assert.equal(st.mode & 0o777, 0o600);
  }
  assert.equal(m.started, 1);
});

test('FifoMaker: a path that exists fails with mkfifo\'s message naming it; later requests still work', async (t) => {
  const dir = tempDir(t);
  const m = new FifoMaker();
  t.after(() => m.close());
  const taken = path.join(dir, 'taken');
  writeFileSync(taken, '');
  await assert.rejects(m.make([taken]), (err: Error) => err.message.startsWith(`mkfifo ${taken}: `) && /exists/i.test(err.message));
  await m.make([path.join(dir, 'ok')]);
  assert.ok(lstatSync(path.join(dir, 'ok')).isFIFO());
  await assert.rejects(m.make([path.join(dir, 'a\nb')]), /newline/);
});

test('FifoMaker: a helper that died is replaced on the next request', async (t) => {
  const dir = tempDir(t);
  const m = new FifoMaker();
  t.after(() => m.close());
  await m.make([path.join(dir, 'one')]);
  const pid = m.pid!;
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !alive(pid) || m.pid !== pid, { what: 'the helper to be gone' });
  await m.make([path.join(dir, 'two')]);
  assert.ok(lstatSync(path.join(dir, 'two')).isFIFO());
  assert.equal(m.started, 2);
});

test('FifoMaker: an idle helper keeps no process alive, and it ends with its process', async (t) => {
  const dir = tempDir(t);
  const mod = path.resolve('src/executor/fifo-maker.ts');
  const script = `import { FifoMaker } from ${JSON.stringify(mod)}; const m = new FifoMaker(); await m.make([${JSON.stringify(path.join(dir, 'f'))}]); console.log(m.pid);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const helper = Number(r.stdout.trim());
  assert.ok(helper > 0, r.stdout);
  assert.ok(lstatSync(path.join(dir, 'f')).isFIFO());
  await waitFor(() => !alive(helper), { what: 'the helper to end with its process (stdin at EOF)' });
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie is gone, only not yet reaped
  } catch {
    return false;
  }
}
