import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createStore, JOURNAL_FILE, NODE_ID_FILE, readStoreDocument, STORE_FILE } from '../../../src/store/lowdb-store.js';
import { requireLinux, requireRoot } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { NODE_EVENT_LIMIT, TASK_EVENT_LIMIT, type TaskRecord } from '../../../src/store/store.js';
import { taskRecord } from './record.js';

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What is on disk, raw: the snapshot with each journal line's records and specs laid over it (refs not inlined). */
async function rawOnDisk(dir: string): Promise<{ tasks: Record<string, TaskRecord>; specs: Record<string, unknown>; specValues: Record<string, unknown> }> {
  const snap = JSON.parse(await readFile(path.join(dir, STORE_FILE), 'utf8'));
  const out = { tasks: { ...snap.tasks }, specs: { ...snap.specs }, specValues: { ...snap.specValues } };
  const journal = await readFile(path.join(dir, JOURNAL_FILE), 'utf8').catch(() => '');
  for (const text of journal.split('\n').filter(Boolean)) {
    const line = JSON.parse(text);
    Object.assign(out.tasks, line.set?.tasks ?? {});
    Object.assign(out.specs, line.specs ?? {});
    Object.assign(out.specValues, line.specValues ?? {});
  }
  return out;
}

function rec(id: string): TaskRecord {
  return taskRecord(id, { allocId: 'a', execId: `a-${id}` });
}

test('store: a missing store starts empty and is written; records survive a reload', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  assert.deepEqual(await s.load(), { outcome: 'missing', nodeId: 'new' });
  s.put(rec('x'));
  s.update('x', (r) => {
    r.handle = { version: 1, executor: 'plain', id: 'a-x', pid: 42, pidStartTime: 7, startedAt: '2026-01-01T00:00:00.000Z', data: {} };
  });
  const y = rec('y');
  y.hashes = { ...y.hashes, fields: { args: 'a1', 'env.FOO': 'f1' } };
  s.put(y);
  const z = rec('z');
  z.hashes = y.hashes;
  s.put(z);
  await s.flush();
  const onDisk = await rawOnDisk(dir);
  assert.equal(Object.keys(onDisk.specs).length, 2, 'instances of one spec share their field hashes on disk');
  assert.equal(onDisk.tasks.z.hashes.fields, undefined);
  const again = createStore({ dataDir: dir });
  assert.equal((await again.load()).outcome, 'loaded');
  assert.equal(again.get('x')?.handle?.pid, 42);
  assert.deepEqual(again.get('z')?.hashes, { restart: 'r', resources: 's', policy: 'p', fields: { args: 'a1', 'env.FOO': 'f1' } });
  assert.equal(again.nodeId, s.nodeId);
});

test('store: the field values of a spec are written once for its instances and come back with the hashes (plan shows old → new from them)', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  await s.load();
  const hashes = { restart: 'r', resources: 's', policy: 'p', fields: { args: 'a1', 'env.FOO': 'f1' }, values: { args: ['3600'], 'env.FOO': 'x' } };
  for (const id of ['a', 'b', 'c']) s.put({ ...rec(id), hashes });
  s.put(rec('old')); // written before values were kept: none
  await s.flush();
  const onDisk = await rawOnDisk(dir);
  assert.equal(Object.keys(onDisk.specValues).length, 1, 'one values map for the three instances');
  assert.equal(onDisk.tasks.a.hashes.values, undefined);
  const again = createStore({ dataDir: dir });
  await again.load();
  assert.deepEqual(again.get('b')?.hashes, hashes);
  assert.equal(again.get('a')?.hashes.values, again.get('c')?.hashes.values, 'shared in memory again');
  assert.equal(again.get('old')?.hashes.values, undefined);
});

test('store: many updates in one tick become one consistent write, with no temp file left', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  await s.load();
  for (let i = 0; i < 500; i++) s.put(rec(`t${i}`));
  await s.flush();
  const doc = await rawOnDisk(dir);
  assert.equal(Object.keys(doc.tasks).length, 500);
  assert.deepEqual((await readdir(dir)).sort(), [JOURNAL_FILE, NODE_ID_FILE, STORE_FILE].sort());
});

test('store: the reason for a corrupt file is one printable line, whatever bytes the file holds', async (t) => {
  const dir = await tmp(t);
  await writeFile(path.join(dir, STORE_FILE), Buffer.from('/\r\n\x1b[2J\u2028\x7f\x9b garbage', 'utf8'));
  const r = await createStore({ dataDir: dir }).load();
  assert.equal(r.outcome, 'corrupt');
  assert.match(r.reason!, /^invalid JSON: /);
  assert.doesNotMatch(r.reason!, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u, r.reason);
  assert.match(r.reason!, /\\u000d/, 'the carriage return is shown escaped');
});

test('store: a corrupt file is moved aside and the store starts empty, keeping the node id when readable', async (t) => {
  const dir = await tmp(t);
  await writeFile(path.join(dir, STORE_FILE), '{"version": 1, "nodeId": "n1", "tasks": {');
  const s = createStore({ dataDir: dir });
  const r = await s.load();
  assert.equal(r.outcome, 'corrupt');
  assert.match(r.reason!, /invalid JSON/);
  assert.ok(r.movedTo && (await readFile(r.movedTo, 'utf8')).startsWith('{"version": 1'));
  assert.equal(s.all().length, 0);
  await writeFile(path.join(dir, STORE_FILE), JSON.stringify({ version: 99, nodeId: 'n2', seq: 0, tasks: {}, events: [] }));
  const s2 = createStore({ dataDir: dir });
  const r2 = await s2.load();
  assert.equal(r2.outcome, 'corrupt');
  assert.match(r2.reason!, /expected schema version 1, got 99/);
  assert.equal(r2.nodeId, 'file');
  assert.equal(s2.nodeId, s.nodeId, 'the node-id file written at the first load wins over the damaged document');
  // Without the file, the damaged document's node id is kept when it names one.
  await rm(path.join(dir, NODE_ID_FILE));
  await writeFile(path.join(dir, STORE_FILE), JSON.stringify({ version: 99, nodeId: 'n2', seq: 0, tasks: {}, events: [] }));
  const s3 = createStore({ dataDir: dir });
  assert.equal((await s3.load()).nodeId, 'store');
  assert.equal(s3.nodeId, 'n2');
  assert.equal((await readFile(path.join(dir, NODE_ID_FILE), 'utf8')).trim(), 'n2');
});

test('store: the node id outlives a deleted, truncated or garbage store through the node-id file', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  await s.load();
  const id = s.nodeId;
  assert.equal((await readFile(path.join(dir, NODE_ID_FILE), 'utf8')).trim(), id);
  const damage: [string, () => Promise<void>][] = [
    ['deleted', () => rm(path.join(dir, STORE_FILE))],
    ['truncated', () => writeFile(path.join(dir, STORE_FILE), '')],
    ['garbage', () => writeFile(path.join(dir, STORE_FILE), Buffer.from([0xff, 0x00, 0x7b, 0x13]))],
    ['wrong schema', () => writeFile(path.join(dir, STORE_FILE), JSON.stringify({ version: 2, nodeId: 'other', seq: 0, tasks: {}, events: [] }))],
  ];
  for (const [what, fn] of damage) {
    await fn();
    const again = createStore({ dataDir: dir });
    const r = await again.load();
    assert.equal(r.outcome, what === 'deleted' ? 'missing' : 'corrupt', what);
    assert.equal(r.nodeId, 'file', what);
    assert.equal(again.nodeId, id, what);
  }
  // A store that loads is the authority: a node-id file that disagrees is rewritten.
  await writeFile(path.join(dir, NODE_ID_FILE), 'someone-else\n');
  const loaded = createStore({ dataDir: dir });
  assert.deepEqual(await loaded.load(), { outcome: 'loaded', nodeId: 'store' });
  assert.equal(loaded.nodeId, id);
  assert.equal((await readFile(path.join(dir, NODE_ID_FILE), 'utf8')).trim(), id);
});

test('store: events get increasing seq numbers, bounded per task and node-wide, and reach subscribers', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  await s.load();
  s.put(rec('x'));
  const seen: number[] = [];
  const off = s.subscribe((e) => seen.push(e.seq));
  for (let i = 0; i < NODE_EVENT_LIMIT + 200; i++) s.addEvent({ task: i % 2 ? 'x' : undefined, type: 'Signaled', message: `e${i}` });
  off();
  s.addEvent({ type: 'Updated', message: 'not seen' });
  assert.equal(seen.length, NODE_EVENT_LIMIT + 200);
  assert.ok(seen.every((v, i) => i === 0 || v === seen[i - 1] + 1));
  assert.equal(s.get('x')!.events.length, TASK_EVENT_LIMIT);
  const all = s.events();
  assert.ok(all.length <= NODE_EVENT_LIMIT);
  assert.equal(all[all.length - 1].type, 'Updated');
  const after = s.events({ after: all[all.length - 3].seq });
  assert.equal(after.length, 2);
  assert.equal(s.events({ task: 'x', limit: 3 }).length, 3);
});

test('store: the document is the agent\'s only (0600), and one an earlier tend left 0644 is made so at load', async () => {
  const { chmod, stat } = await import('node:fs/promises');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-store-mode-'));
  try {
    const s = createStore({ dataDir: dir });
    await s.load();
    await s.flush();
    assert.equal((await stat(path.join(dir, STORE_FILE))).mode & 0o777, 0o600);
    await s.close();
    await chmod(path.join(dir, STORE_FILE), 0o644);
    const again = createStore({ dataDir: dir });
    await again.load();
    assert.equal((await stat(path.join(dir, STORE_FILE))).mode & 0o777, 0o600);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('store: a full disk fails writes without tearing the journal; what is in memory is written once there is room, with no further change', async (t) => {
  // mounts a tmpfs: skips with the reason on a laptop, fails under CI=true
  if (!requireLinux(t) || !requireRoot(t)) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-store-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir]);
  t.after(async () => {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });
  const s = createStore({ dataDir: dir });
  await s.load();
  for (let i = 0; i < 20; i++) s.put(rec(`t${i}`));
  await s.flush();
  // Fill the filesystem to the last byte.
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 120);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  try {
    for (;;) writeSync(fd, chunk, 0, 1);
  } catch {
    /* full to the byte */
  }
  closeSync(fd);
  // Lines of growing size: the first fit in the journal's last page (tmpfs), then a line is
  // written in part (a short write) and every one after fails; none leaves a torn line behind.
  let onDisk = 20;
  let failed = 0;
  for (let i = 20; i < 60; i++) {
    s.put({ ...rec(`t${i}`), file: `/${'x'.repeat(i * 37)}.hcl` });
    const ok = await s.flush().then(
      () => true,
      (err: Error) => {
        assert.match(err.message, /ENOSPC|no space/i);
        return false;
      },
    );
    if (ok) onDisk = i + 1;
    else failed++;
    const journal = await readFile(path.join(dir, JOURNAL_FILE), 'utf8');
    assert.ok(journal === '' || journal.endsWith('\n'), 'no torn line in the journal');
    assert.equal(Object.keys(readStoreDocument(dir)!.tasks).length, onDisk, 'the disk holds the last write that succeeded');
  }
  assert.ok(failed >= 30, `writes failed on the full disk (${failed} of 40)`);
  assert.equal(s.all().length, 60, 'memory has every record');
  // Room again: the retry writes it all, though nothing changes any more.
  rmSync(filler);
  await waitFor(() => Object.keys(readStoreDocument(dir)?.tasks ?? {}).length === 60, { what: 'the store written after the disk has room', timeoutMs: 5000 });
  await s.close();
  const again = createStore({ dataDir: dir });
  assert.equal((await again.load()).outcome, 'loaded');
  assert.equal(again.all().length, 60);
  await again.close();
});
