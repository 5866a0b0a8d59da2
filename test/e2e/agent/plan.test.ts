/** `tendctl plan` against a real agent, and without one. Run alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';
import { createHarness, job, running } from './harness.js';

const TENDCTL = fileURLToPath(new URL('../../../bin/tendctl.js', import.meta.url));

function tendctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TENDCTL, ...args], { timeout: 30_000 }, (err, out, errOut) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errOut });
    });
  });
}

test('tendctl plan: names restarts, updates, starts and stops against the running agent, and plans offline', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob('web.hcl', job('web'));
  await h.writeJob('db.hcl', job('db'));
  await h.writeJob('old.hcl', job('old'));
  await waitFor(() => ['web', 'db', 'old'].every((j) => running(h, `${j}/g[0]/t`)), { timeoutMs: 20_000, what: 'three running' });
  const sock = path.join(h.stateDir, 'tend.sock');

  const same = await tendctl(['plan', '-address', sock]);
  assert.equal(same.code, 0, same.err);
  assert.match(same.out, /No changes: 3 tasks up to date/);

  const next = path.join(h.root, 'next');
  await mkdir(next);
  await writeFile(path.join(next, 'web.hcl'), job('web', { args: 'exec sleep 2000' }));
  await writeFile(path.join(next, 'db.hcl'), job('db', { memory: 256, count: 2 }));
  const p = await tendctl(['plan', '-address', sock, next]);
  assert.equal(p.code, 1, p.err);
  assert.match(p.out, /-\/\+ restart web\/g\[0\]\/t \(forces restart: args\)/);
  assert.match(p.out, /~\s+update\s+db\/g\[0\]\/t \(in place: resources.memory\)/);
  assert.match(p.out, /\+\s+start\s+db\/g\[1\]\/t/);
  assert.match(p.out, /-\s+stop\s+old\/g\[0\]\/t/);
  assert.ok(running(h, 'web/g[0]/t'), 'plan changes nothing');

  await h.term();
  const off = await tendctl(['plan', '-address', sock, next]);
  assert.equal(off.code, 1, off.err);
  assert.match(off.out, /Agent not running/);
  assert.match(off.out, /Plan: 3 to start/);
});
