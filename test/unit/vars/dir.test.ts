import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { createVariableStore, type LocalVariableStore } from '../../../src/vars/variable-store.js';
import { isTendError } from '../../../src/errors.js';
import type { VariableChange } from '../../../src/vars/vars.js';
import { waitFor } from '../../helpers/wait.js';
import { requireRoot } from '../../helpers/gates.js';

interface Setup {
  root: string;
  dir: string;
  data: string;
  store: LocalVariableStore;
  log: () => string;
}

/** A data dir and a variables dir (0700), files written 0600 unless said otherwise. */
async function setup(t: TestContext, files: Record<string, string> = {}, opts: { open?: boolean } = {}): Promise<Setup> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-vardir-'));
  const dir = path.join(root, 'vars');
  await fs.mkdir(dir, { mode: 0o700 });
  await fs.chmod(dir, 0o700);
  for (const [name, text] of Object.entries(files)) await put(dir, name, text);
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const store = createVariableStore({ dataDir: path.join(root, 'data'), dir, logger, resyncMs: 300, debounceMs: 20 });
  t.after(async () => {
    await store.close();
    await fs.rm(root, { recursive: true, force: true });
  });
  if (opts.open !== false) await store.open();
  return { root, dir, data: path.join(root, 'data'), store, log: () => lines.join('') };
}

async function put(dir: string, name: string, text: string, mode = 0o600): Promise<void> {
  const file = path.join(dir, name);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(`${file}.tmp`, text, { mode });
  await fs.chmod(`${file}.tmp`, mode);
  await fs.rename(`${file}.tmp`, file);
}

test('variables dir: JSON and HCL specs, paths from the spec or the file name, hidden and other files ignored', async (t) => {
  const s = await setup(t, {
    'nomad/jobs/web.json': JSON.stringify({ items: { password: 'p1' } }),
    'db.nv.hcl': 'path = "shared/db"\nitems {\n  user = "u"\n  pass = "p2"\n}\n',
    'exported.json': JSON.stringify({ Namespace: 'default', Path: 'nomad/jobs/api', CreateIndex: 5, ModifyIndex: 9, Items: { k: 'v' } }),
    'map-form.hcl': 'items = { a = "1" }\n',
    '.hidden.json': JSON.stringify({ items: { k: 'hidden' } }),
    'README.md': '# not a variable',
    'notes.txt': 'x',
  });
  assert.deepEqual(
    s.store.list().map((m) => m.path),
    ['map-form', 'nomad/jobs/api', 'nomad/jobs/web', 'shared/db'],
  );
  const web = s.store.get('nomad/jobs/web')!;
  assert.deepEqual(web.items, { password: 'p1' });
  assert.equal(web.file, path.join(await fs.realpath(s.dir), 'nomad/jobs/web.json'));
  assert.deepEqual(s.store.get('shared/db')!.items, { user: 'u', pass: 'p2' });
  assert.deepEqual(s.store.get('map-form')!.items, { a: '1' });
  assert.ok(!s.log().includes('p1') && !s.log().includes('p2'));
});

test('variables dir: a link planted to /etc/shadow (or any file) is never read', async (t) => {
  const s = await setup(t, { 'ok.json': JSON.stringify({ items: { k: 'v' } }) }, { open: false });
  const victim = path.join(s.root, 'victim.json');
  await fs.writeFile(victim, JSON.stringify({ path: 'stolen', items: { k: 'VICTIM-CONTENT' } }), { mode: 0o600 });
  await fs.symlink('/etc/shadow', path.join(s.dir, 'shadow.json'));
  await fs.symlink(victim, path.join(s.dir, 'victim.json'));
  await fs.mkdir(path.join(s.root, 'elsewhere'), { mode: 0o700 });
  await put(path.join(s.root, 'elsewhere'), 'x.json', JSON.stringify({ path: 'via-dir-link', items: { k: 'v' } }));
  await fs.symlink(path.join(s.root, 'elsewhere'), path.join(s.dir, 'linked-dir'));
  await s.store.open();
  assert.deepEqual(s.store.list().map((m) => m.path), ['ok']);
  assert.match(s.log(), /shadow\.json.*a symbolic link: links are never followed/);
  assert.match(s.log(), /linked-dir.*a symbolic link/);
  assert.ok(!s.log().includes('VICTIM-CONTENT') && !s.log().includes('root:'));
});

test('variables dir: world-readable, group-writable and hard-linked files, and writable dirs, are refused with a warning', async (t) => {
  const s = await setup(t, { 'good.json': JSON.stringify({ items: { k: 'v' } }) }, { open: false });
  await put(s.dir, 'world.json', JSON.stringify({ items: { k: 'v' } }), 0o644);
  await put(s.dir, 'groupw.json', JSON.stringify({ items: { k: 'v' } }), 0o620);
  await put(s.dir, 'groupr.json', JSON.stringify({ items: { k: 'v' } }), 0o640);
  await fs.writeFile(path.join(s.root, 'outside.json'), JSON.stringify({ path: 'hardlinked', items: { k: 'v' } }), { mode: 0o600 });
  await fs.link(path.join(s.root, 'outside.json'), path.join(s.dir, 'hard.json'));
  await fs.mkdir(path.join(s.dir, 'open'), { mode: 0o777 });
  await fs.chmod(path.join(s.dir, 'open'), 0o777);
  await put(path.join(s.dir, 'open'), 'x.json', JSON.stringify({ items: { k: 'v' } }));
  await s.store.open();
  assert.deepEqual(s.store.list().map((m) => m.path), ['good', 'groupr']);
  const log = s.log();
  assert.match(log, /world\.json.*readable by everyone \(mode 644\)/);
  assert.match(log, /groupw\.json.*writable by its group \(mode 620\)/);
  assert.match(log, /hard\.json.*2 hard links/);
  assert.match(log, /open.*a dir writable by everyone/);
});

test('variables dir: a dir writable by others is refused as a whole', async (t) => {
  const s = await setup(t, { 'a.json': JSON.stringify({ items: { k: 'v' } }) }, { open: false });
  await fs.chmod(s.dir, 0o777);
  await s.store.open();
  assert.deepEqual(s.store.list(), []);
  assert.match(s.log(), /variables dir refused/);
});

test('variables dir: files owned by another user are refused (root only)', async (t) => {
  if (!requireRoot(t)) return;
  const s = await setup(t, { 'mine.json': JSON.stringify({ items: { k: 'v' } }), 'theirs.json': JSON.stringify({ items: { k: 'v' } }) }, { open: false });
  await fs.chown(path.join(s.dir, 'theirs.json'), 54321, 54321);
  await s.store.open();
  assert.deepEqual(s.store.list().map((m) => m.path), ['mine']);
  assert.match(s.log(), /theirs\.json.*owned by uid 54321/);
});

test('variables dir: a FIFO with a variable\'s name is never opened for reading (no hang)', async (t) => {
  const s = await setup(t, { 'a.json': JSON.stringify({ items: { k: 'v' } }) }, { open: false });
  execFileSync('mkfifo', ['-m', '0600', path.join(s.dir, 'fifo.json')]);
  await s.store.open();
  assert.deepEqual(s.store.list().map((m) => m.path), ['a']);
  assert.match(s.log(), /fifo\.json.*not a regular file/);
});

test('variables dir: bad files are reported by name and line without values; a later bad version keeps the last good one', async (t) => {
  const s = await setup(t, {
    'broken.json': '{"items": {"k": "SECRET-IN-BROKEN" ',
    'badhcl.hcl': 'items {\n  k = "SECRET-IN-HCL"\n  = oops\n}\n',
    'number.json': JSON.stringify({ items: { k: 1 } }),
    'unknown.json': JSON.stringify({ paht: 'x', items: { k: 'v' } }),
    'ns.json': JSON.stringify({ namespace: 'prod', items: { k: 'v' } }),
    'bad.name.json': JSON.stringify({ items: { k: 'v' } }),
    'nomad.json': JSON.stringify({ items: { k: 'v' } }),
    'keep.json': JSON.stringify({ items: { k: 'GOOD' } }),
  });
  assert.deepEqual(s.store.list().map((m) => m.path), ['keep']);
  const log = s.log();
  assert.match(log, /broken\.json.*invalid JSON/);
  assert.match(log, /badhcl\.hcl:3/);
  assert.match(log, /number\.json.*items\.k: expected a string, got number/);
  assert.match(log, /unknown\.json.*unknown key \\"paht\\".*did you mean \\"path\\"/);
  assert.match(log, /ns\.json.*tend has no namespaces/);
  assert.match(log, /bad\.name\.json.*set path in the file/);
  assert.match(log, /nomad\.json.*reserved top-level/);
  assert.ok(!log.includes('SECRET-IN-BROKEN') && !log.includes('SECRET-IN-HCL'), 'no value in the log');
  const before = s.store.get('keep')!;
  await put(s.dir, 'keep.json', '{"items": ');
  await waitFor(() => /keep\.json.*last good version stays in force/.test(s.log()), { what: 'the bad version reported' });
  assert.deepEqual(s.store.get('keep'), before);
});

test('variables dir: edits, new files and removals reach watchers with new indexes; a dir file is read-only to put and purge', async (t) => {
  const s = await setup(t, { 'nomad/jobs/web.json': JSON.stringify({ items: { v: '1' } }) });
  const seen: VariableChange[] = [];
  s.store.watch({ prefix: 'nomad/jobs/' }, (c) => seen.push(c));
  const v1 = s.store.get('nomad/jobs/web')!;
  await assert.rejects(s.store.put('nomad/jobs/web', { v: 'x' }), (err) => isTendError(err, 'E_VAR_READ_ONLY') && err.message.includes('web.json') && !err.message.includes('"x"'));
  await assert.rejects(s.store.purge('nomad/jobs/web'), (err) => isTendError(err, 'E_VAR_READ_ONLY'));
  await put(s.dir, 'nomad/jobs/web.json', JSON.stringify({ items: { v: '2' } }));
  await waitFor(() => s.store.get('nomad/jobs/web')?.items.v === '2', { what: 'the edit loaded' });
  const v2 = s.store.get('nomad/jobs/web')!;
  assert.ok(v2.modifyIndex > v1.modifyIndex);
  assert.equal(v2.createIndex, v1.createIndex);
  assert.deepEqual(seen.at(-1), { path: 'nomad/jobs/web', modifyIndex: v2.modifyIndex });
  await put(s.dir, 'nomad/jobs/api.json', JSON.stringify({ items: { v: '1' } }));
  await waitFor(() => s.store.exists('nomad/jobs/api'), { what: 'a new file loaded' });
  await fs.rm(path.join(s.dir, 'nomad/jobs/web.json'));
  await waitFor(() => !s.store.exists('nomad/jobs/web'), { what: 'a removed file unloaded' });
  assert.deepEqual(seen.at(-1), { path: 'nomad/jobs/web', modifyIndex: undefined });
  // Once the file is gone the path is writable again.
  const w = await s.store.put('nomad/jobs/web', { v: 'stored' });
  assert.ok(w.modifyIndex > v2.modifyIndex);
});

test('variables dir: a file shadows a stored variable of the same path, which shows again when the file goes', async (t) => {
  const s = await setup(t);
  const stored = await s.store.put('shared/x', { v: 'stored' });
  await put(s.dir, 'shared/x.json', JSON.stringify({ items: { v: 'from-dir' } }));
  await waitFor(() => s.store.get('shared/x')?.items.v === 'from-dir', { what: 'the file loaded' });
  assert.match(s.log(), /shadows a variable written with tendctl var put/);
  assert.equal(s.store.list('shared/').length, 1);
  await fs.rm(path.join(s.dir, 'shared/x.json'));
  await waitFor(() => s.store.get('shared/x')?.items.v === 'stored', { what: 'the stored one back' });
  assert.equal(s.store.get('shared/x')!.modifyIndex, stored.modifyIndex);
});

test('variables dir: two files claiming one path — the first by path wins, the other is reported', async (t) => {
  const s = await setup(t, {
    'a.json': JSON.stringify({ path: 'same', items: { from: 'a' } }),
    'b.json': JSON.stringify({ path: 'same', items: { from: 'b' } }),
  });
  assert.equal(s.store.get('same')!.items.from, 'a');
  assert.match(s.log(), /b\.json.*variable same is already defined by .*a\.json/);
});

test('variables dir: a dir that appears after the start is loaded by the resync; one that vanishes keeps what was loaded', async (t) => {
  const s = await setup(t, {}, { open: false });
  const dir = s.dir;
  await fs.rm(dir, { recursive: true });
  await s.store.open();
  assert.deepEqual(s.store.list(), []);
  assert.match(s.log(), /variables dir not readable/);
  await fs.mkdir(dir, { mode: 0o700 });
  await put(dir, 'late.json', JSON.stringify({ items: { k: 'v' } }));
  await waitFor(() => s.store.exists('late'), { what: 'the late dir loaded', timeoutMs: 5000 });
  await fs.rename(dir, `${dir}-gone`);
  const before = (s.log().match(/variables dir not readable/g) ?? []).length;
  await waitFor(() => (s.log().match(/variables dir not readable/g) ?? []).length > before, { what: 'the vanished dir noticed' });
  assert.ok(s.store.exists('late'));
});
