/** `tendctl plan` against a real agent, and without one. Run alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';
import { startCli } from '../../helpers/cli.js';
import { createHarness, job, running } from './harness.js';

async function tendctl(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await startCli(args).done;
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** A job whose task has a secret-looking env value. */
function withEnv(name: string, token: string, args = 'exec sleep 1000'): string {
  return job(name, { args }).replace('      kill_timeout', `      env {\n        TOKEN = "${token}"\n      }\n      kill_timeout`);
}

test('tendctl plan: old → new per field and why, against the running agent (also after it restarts) and offline; exit 0/1/255 as nomad job plan', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob('web.hcl', withEnv('web', 'tok-1'));
  await h.writeJob('db.hcl', job('db'));
  await h.writeJob('old.hcl', job('old'));
  await waitFor(() => ['web', 'db', 'old'].every((j) => running(h, `${j}/g[0]/t`)), { timeoutMs: 20_000, what: 'three running' });
  const sock = h.socket;

  const same = await tendctl(['plan', '-address', sock]);
  assert.equal(same.code, 0, same.err);
  assert.equal(same.out, 'No changes: 3 tasks up to date.\n');

  const next = path.join(h.root, 'next');
  await mkdir(next);
  await writeFile(path.join(next, 'web.hcl'), withEnv('web', 'tok-2', 'exec sleep 2000'));
  await writeFile(path.join(next, 'db.hcl'), job('db', { memory: 96, count: 2 }));
  const expected = [
    '~   Job: "db"',
    '~   Task Group: "g" (1 start, 1 in-place update)',
    '  ~   Task: "t" [0] (in place)',
    '      +/- resources.memory: 64 → 96 (in place)',
    '  +   Task: "t" [1] (start)',
    '',
    '-   Job: "old"',
    '-   Task Group: "g" (1 stop)',
    '  -   Task: "t" [0] (stop: no longer in the job files)',
    '',
    '+/- Job: "web"',
    '+/- Task Group: "g" (1 restart)',
    '  +/- Task: "t" [0] (forces restart)',
    '      +/- args: ["-c","exec sleep 1000"] → ["-c","exec sleep 2000"] (forces restart)',
    '      +/- env.TOKEN: (changed, forces restart)',
    '',
    'Env and artifact values are not shown; -verbose shows them.',
    '',
    'Plan: 1 to start, 1 to restart, 1 to update in place, 1 to stop, 0 unchanged.',
    '',
  ].join('\n');
  const p = await tendctl(['plan', '-address', sock, next]);
  assert.equal(p.code, 1, p.err);
  assert.equal(p.out, expected);
  assert.ok(running(h, 'web/g[0]/t'), 'plan changes nothing');

  const v = await tendctl(['plan', '-verbose', '-address', sock, next]);
  assert.equal(v.code, 1, v.err);
  assert.match(v.out, /\+\/- env\.TOKEN: "tok-1" → "tok-2" \(forces restart\)/);

  const j = await tendctl(['plan', '-json', '-address', sock, next]);
  assert.equal(j.code, 1, j.err);
  const web = JSON.parse(j.out).actions.find((a: { task: string }) => a.task === 'web/g[0]/t');
  assert.deepEqual(web.changes, [
    { field: 'args', change: 'changed', effect: 'restart', old: ['-c', 'exec sleep 1000'], new: ['-c', 'exec sleep 2000'] },
    { field: 'env.TOKEN', change: 'changed', effect: 'restart', hidden: 'secret' },
  ]);
  assert.doesNotMatch(j.out, /tok-/, 'env values stay out of the JSON too unless -verbose');

  // The values of what runs are kept with the record: an agent restart (tasks adopted) still shows old → new.
  await h.term();
  await h.start();
  await waitFor(() => running(h, 'web/g[0]/t') !== undefined, { timeoutMs: 20_000, what: 'web adopted' });
  const again = await tendctl(['plan', '-address', sock, next]);
  assert.equal(again.code, 1, again.err);
  assert.equal(again.out, expected);

  // A file that does not load is an error (255), shown with its position; the rest is still planned.
  const broken = path.join(h.root, 'broken');
  await mkdir(broken);
  await writeFile(path.join(broken, 'web.hcl'), withEnv('web', 'tok-1'));
  await writeFile(path.join(broken, 'bad.hcl'), 'job "bad" {\n  group "g" {\n    count = \n  }\n}\n');
  const b = await tendctl(['plan', '-address', sock, broken]);
  assert.equal(b.code, 255, b.out + b.err);
  assert.match(b.out, /^! .*bad\.hcl:3:/m);

  const usage = await tendctl(['plan', '-nope', '-address', sock]);
  assert.equal(usage.code, 255, 'a usage error is 255 too');
  assert.match(usage.err, /unknown flag/);

  await h.term();
  const off = await tendctl(['plan', '-address', sock, next]);
  assert.equal(off.code, 1, off.err);
  assert.match(off.out, /^Agent not running: planned against no running tasks\.\n\n\+   Job: "db"\n\+   Task Group: "g" \(2 start\)\n {2}\+   Task: "t" \[0-1\] \(start\)\n/);
  assert.match(off.out, /Plan: 3 to start, 0 to restart, 0 to update in place, 0 to stop, 0 unchanged\./);
  const unreachable = await tendctl(['plan', '-address', sock]);
  assert.equal(unreachable.code, 255, 'no agent and no DIR: an error');
  assert.match(unreachable.err, /cannot reach the tend agent/);
});
