import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { createVariableStore, type LocalVariableStore } from '../../../src/vars/variable-store.js';
import { VARIABLES_FILE } from '../../../src/vars/variables-file.js';
import { isTendError } from '../../../src/errors.js';
import type { VariableChange } from '../../../src/vars/vars.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-vars-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger whose lines are kept, to check that no value is ever logged. */
function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  return { logger, text: () => lines.join('') };
}

async function open(t: TestContext, dataDir: string, opts: { now?: () => number; logger?: pino.Logger } = {}): Promise<LocalVariableStore> {
  const s = createVariableStore({ dataDir, logger: opts.logger ?? pino({ level: 'silent' }), now: opts.now });
  await s.open();
  t.after(() => s.close());
  return s;
}

test('variable store: put, get, exists, list (sorted, metadata only), purge', async (t) => {
  const dir = await tempDir(t);
  let clock = 1_700_000_000_000;
  const s = await open(t, dir, { now: () => clock });
  const a = await s.put('nomad/jobs/web', { user: 'u', password: 'p' });
  assert.deepEqual(a, { path: 'nomad/jobs/web', items: { user: 'u', password: 'p' }, createIndex: 1, modifyIndex: 1, createTime: clock, modifyTime: clock });
  clock += 1000;
  await s.put('nomad/jobs/api', { k: 'v' });
  await s.put('other', { k: 'v' });
  clock += 1000;
  const b = await s.put('nomad/jobs/web', { password: 'q' });
  // A put replaces all items, keeps the create index and time.
  assert.deepEqual(b.items, { password: 'q' });
  assert.equal(b.createIndex, 1);
  assert.equal(b.modifyIndex, 4);
  assert.equal(b.createTime, 1_700_000_000_000);
  assert.equal(b.modifyTime, clock);
  assert.equal(s.exists('nomad/jobs/web'), true);
  assert.equal(s.exists('nomad/jobs/nope'), false);
  assert.equal(s.get('nomad/jobs/nope'), undefined);
  assert.deepEqual(s.list('nomad/jobs').map((m) => m.path), ['nomad/jobs/api', 'nomad/jobs/web']);
  assert.deepEqual(s.list().map((m) => m.path), ['nomad/jobs/api', 'nomad/jobs/web', 'other']);
  assert.ok(s.list().every((m) => !('items' in m)));
  // Reads hand out copies.
  s.get('nomad/jobs/web')!.items.password = 'tampered';
  assert.equal(s.get('nomad/jobs/web')!.items.password, 'q');
  await s.purge('nomad/jobs/web');
  assert.equal(s.get('nomad/jobs/web'), undefined);
  await s.purge('nomad/jobs/web'); // purging what is gone is no error
  await assert.rejects(s.put('a/../b', { k: 'v' }), (err) => isTendError(err, 'E_VAR_INVALID'));
  await assert.rejects(s.put('ok', {}), (err) => isTendError(err, 'E_VAR_INVALID'));
});

test('variable store: check-and-set as nomad var put -check-index and purge -check-index', async (t) => {
  const s = await open(t, await tempDir(t));
  const conflict = (index?: number) => (err: unknown) => isTendError(err, 'E_VAR_CONFLICT') && /Check-and-Set conflict/.test(err.message) && err.details.modifyIndex === index;
  // 0: only when it does not exist.
  const v1 = await s.put('db', { k: '1' }, { cas: 0 });
  await assert.rejects(s.put('db', { k: '2' }, { cas: 0 }), conflict(v1.modifyIndex));
  // N: only when the modify index is N.
  await assert.rejects(s.put('db', { k: '2' }, { cas: v1.modifyIndex + 7 }), conflict(v1.modifyIndex));
  const v2 = await s.put('db', { k: '2' }, { cas: v1.modifyIndex });
  await assert.rejects(s.put('db', { k: '3' }, { cas: v1.modifyIndex }), conflict(v2.modifyIndex));
  assert.equal(s.get('db')!.items.k, '2');
  await assert.rejects(s.put('missing', { k: '1' }, { cas: 5 }), conflict(undefined));
  await assert.rejects(s.purge('db', { cas: v1.modifyIndex }), conflict(v2.modifyIndex));
  await assert.rejects(s.purge('missing', { cas: 3 }), conflict(undefined));
  await s.purge('db', { cas: v2.modifyIndex });
  assert.equal(s.exists('db'), false);
});

test('variable store: concurrent check-and-set puts — exactly one wins', async (t) => {
  const s = await open(t, await tempDir(t));
  const v = await s.put('counter', { n: '0' });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.put('counter', { n: String(i + 1) }, { cas: v.modifyIndex })));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(results.filter((r) => r.status === 'rejected').every((r) => isTendError((r as PromiseRejectedResult).reason, 'E_VAR_CONFLICT')));
});

test('variable store: survives a reopen; the file is 0600 whatever the umask, and indexes keep growing', async (t) => {
  const dir = await tempDir(t);
  const old = process.umask(0o000);
  t.after(() => process.umask(old));
  const s1 = createVariableStore({ dataDir: dir, logger: pino({ level: 'silent' }) });
  await s1.open();
  await s1.put('nomad/jobs/web', { password: 'hunter2' });
  const last = await s1.put('two', { k: 'v' });
  await s1.close();
  const file = path.join(dir, VARIABLES_FILE);
  const st = await fs.stat(file);
  assert.equal(st.mode & 0o777, 0o600);
  assert.deepEqual((await fs.readdir(dir)).filter((n) => n.includes('.tmp-')), [], 'no temp file left');
  const s2 = await open(t, dir);
  assert.deepEqual(s2.get('nomad/jobs/web')!.items, { password: 'hunter2' });
  const next = await s2.put('three', { k: 'v' });
  assert.ok(next.modifyIndex > last.modifyIndex);
});

test('variable store: a document found with a loose mode is put back to 0600; a crash\'s temp file is removed', async (t) => {
  const dir = await tempDir(t);
  const s1 = createVariableStore({ dataDir: dir, logger: pino({ level: 'silent' }) });
  await s1.open();
  await s1.put('x', { k: 'v' });
  await s1.close();
  const file = path.join(dir, VARIABLES_FILE);
  await fs.chmod(file, 0o644);
  await fs.writeFile(path.join(dir, `${VARIABLES_FILE}.tmp-1-0`), 'half a doc');
  const { logger, text } = capture();
  const s2 = await open(t, dir, { logger });
  assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  assert.match(text(), /set back to 0600/);
  assert.deepEqual(s2.get('x')!.items, { k: 'v' });
  assert.deepEqual((await fs.readdir(dir)).filter((n) => n.includes('.tmp-')), []);
});

test('variable store: a garbage document is moved aside (still 0600) and the store starts empty, without logging its content', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, VARIABLES_FILE);
  await fs.writeFile(file, '{"version":1,"index":3,"variables":{"x":{"items":{"k":"SECRET-VALUE"', { mode: 0o600 });
  const { logger, text } = capture();
  const s = await open(t, dir, { logger });
  assert.deepEqual(s.list(), []);
  const moved = (await fs.readdir(dir)).filter((n) => n.startsWith(`${VARIABLES_FILE}.corrupt-`));
  assert.equal(moved.length, 1);
  assert.equal((await fs.stat(path.join(dir, moved[0]))).mode & 0o777, 0o600);
  assert.match(text(), /variables file unusable/);
  assert.ok(!text().includes('SECRET-VALUE'));
  // A valid document of another version is refused too.
  await fs.writeFile(file, JSON.stringify({ version: 99, index: 0, variables: {} }), { mode: 0o600 });
  const s2 = createVariableStore({ dataDir: dir, logger: pino({ level: 'silent' }) });
  assert.equal(await s2.open(), 'corrupt');
  await s2.close();
});

test('variable store: a write that fails changes nothing and tells no watcher', async (t) => {
  const dir = await tempDir(t);
  const data = path.join(dir, 'data');
  const s = await open(t, data);
  await s.put('x', { k: 'old' });
  const seen: VariableChange[] = [];
  s.watch({ prefix: '' }, (c) => seen.push(c));
  await fs.rm(data, { recursive: true }); // the data dir vanished: the temp file cannot be made
  await assert.rejects(s.put('x', { k: 'new' }), (err) => isTendError(err, 'E_STORE'));
  await assert.rejects(s.purge('x'), (err) => isTendError(err, 'E_STORE'));
  assert.equal(s.get('x')!.items.k, 'old');
  assert.deepEqual(seen, []);
  // It works again once the dir is back; the failed writes' indexes are skipped, never reused.
  await fs.mkdir(data);
  const v = await s.put('x', { k: 'new' });
  assert.equal(v.items.k, 'new');
  assert.deepEqual(seen, [{ path: 'x', modifyIndex: v.modifyIndex }]);
});

test('variable store: watchers hear committed changes of their path or prefix, once each, without values', async (t) => {
  const dir = await tempDir(t);
  const s = await open(t, dir);
  const byPath: VariableChange[] = [];
  const byPrefix: VariableChange[] = [];
  const offPath = s.watch({ path: 'nomad/jobs/web' }, (c) => {
    // Fired after the commit: a read inside the callback sees the new value, and it is on disk.
    byPath.push({ ...c, ...(s.get(c.path) ? {} : { gone: true }) } as VariableChange);
  });
  s.watch({ prefix: 'nomad/jobs/' }, (c) => byPrefix.push(c));
  s.watch({ prefix: '' }, () => {
    throw new Error('a failing watcher harms no one');
  });
  const w1 = await s.put('nomad/jobs/web', { k: '1' });
  assert.equal(JSON.parse(await fs.readFile(path.join(dir, VARIABLES_FILE), 'utf8')).variables['nomad/jobs/web'].items.k, '1');
  const w2 = await s.put('nomad/jobs/webber', { k: '1' });
  await s.put('elsewhere', { k: '1' });
  await s.purge('nomad/jobs/web');
  offPath();
  await s.put('nomad/jobs/web', { k: '2' });
  assert.deepEqual(byPath, [{ path: 'nomad/jobs/web', modifyIndex: w1.modifyIndex }, { path: 'nomad/jobs/web', modifyIndex: undefined, gone: true }]);
  assert.deepEqual(
    byPrefix.map((c) => c.path),
    ['nomad/jobs/web', 'nomad/jobs/webber', 'nomad/jobs/web', 'nomad/jobs/web'],
  );
  assert.equal(byPrefix[1].modifyIndex, w2.modifyIndex);
  assert.ok(byPrefix.every((c) => Object.keys(c).every((k) => k === 'path' || k === 'modifyIndex')));
  assert.throws(() => s.watch({ path: 'a/../b' }, () => {}), (err) => isTendError(err, 'E_VAR_INVALID'));
});

test('variable store: forTask reads through Nomad\'s implicit policy and the agent\'s policies', async (t) => {
  const s = await open(t, await tempDir(t));
  await s.put('nomad/jobs/a', { k: 'job' });
  await s.put('nomad/jobs/ab', { k: 'other job' });
  await s.put('nomad/jobs/a/g/t', { k: 'task' });
  await s.put('shared/db', { k: 'shared' });
  const r = s.forTask({ job: 'a', group: 'g', task: 't' }, [{ name: 'shared', paths: [{ pattern: 'shared/*', capabilities: ['read'] }] }]);
  assert.equal(r.get('nomad/jobs/a')!.items.k, 'job');
  assert.equal(r.get('nomad/jobs/a/g/t')!.items.k, 'task');
  assert.equal(r.get('shared/db')!.items.k, 'shared');
  assert.throws(() => r.get('nomad/jobs/ab'), /Permission denied reading variable nomad\/jobs\/ab for task a\/g\/t/);
  assert.deepEqual(r.list('').map((m) => m.path), ['nomad/jobs/a', 'nomad/jobs/a/g/t', 'shared/db']);
  const bare = s.forTask({ job: 'a', group: 'g', task: 't' });
  assert.throws(() => bare.get('shared/db'), (err) => isTendError(err, 'E_PERMISSION_DENIED'));
});

test('variable store: values never reach the log', async (t) => {
  const dir = await tempDir(t);
  const { logger, text } = capture();
  const s = await open(t, dir, { logger });
  await s.put('nomad/jobs/web', { password: 'VALUE-ONE' });
  await s.put('nomad/jobs/web', { password: 'VALUE-TWO' }, { cas: 1 });
  await s.put('nomad/jobs/web', { password: 'VALUE-THREE' }, { cas: 1 }).catch(() => undefined);
  await s.purge('nomad/jobs/web');
  assert.match(text(), /variable written/);
  for (const v of ['VALUE-ONE', 'VALUE-TWO', 'VALUE-THREE']) assert.ok(!text().includes(v), v);
});
