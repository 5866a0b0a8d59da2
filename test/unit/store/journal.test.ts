import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createStore, JOURNAL_FILE, readStoreDocument, STORE_FILE } from '../../../src/store/lowdb-store.js';
import type { TaskRecord } from '../../../src/store/store.js';
import { taskRecord } from './record.js';

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function rec(id: string, args = '1'): TaskRecord {
  return taskRecord(id, { hashes: { restart: 'r', resources: 's', policy: 'p', fields: { args: `h${args}` }, values: { args: [args] } } });
}

const lines = async (dir: string) => (await readFile(path.join(dir, JOURNAL_FILE), 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** A store in `dir` whose record 'a' was put, then updated to `restarts` (a snapshot, then a journal line), closed. */
async function journaled(dir: string, restarts: number): Promise<void> {
  const s = createStore({ dataDir: dir });
  await s.load();
  s.put(rec('a'));
  await s.flush();
  s.update('a', (r) => {
    r.restarts = restarts;
  });
  await s.flush();
  await s.close();
}

test('journal: after the snapshot, writes are lines of what changed; a reload replays them', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  await s.load();
  for (let i = 0; i < 50; i++) s.put(rec(`t${i}`, String(i)));
  await s.flush();
  const snapshot = await readFile(path.join(dir, STORE_FILE), 'utf8');
  s.update('t3', (r) => {
    r.state = 'running';
  });
  s.addEvent({ task: 't3', type: 'Started', message: 'Task started' });
  await s.flush();
  s.delete('t4');
  s.put(rec('t50', 'new'));
  await s.flush();
  assert.equal(await readFile(path.join(dir, STORE_FILE), 'utf8'), snapshot, 'the snapshot is not rewritten');
  // The load wrote the empty snapshot: the 50 records are the first line, then one line per flush.
  const written = await lines(dir);
  assert.equal(written.length, 3);
  assert.ok(written.slice(1).every((l) => l.length < 2000), 'each line holds what changed, not the document');
  await s.close();

  const doc = readStoreDocument(dir)!;
  assert.equal(doc.tasks.t3.state, 'running');
  assert.equal(doc.tasks.t3.events.at(-1)?.message, 'Task started');
  assert.equal(doc.events.at(-1)?.message, 'Task started');
  assert.equal(doc.tasks.t4, undefined);
  assert.deepEqual(doc.tasks.t50.hashes.values, { args: ['new'] }, 'a new spec comes with its line');
  assert.deepEqual(doc.tasks.t7.hashes.fields, { args: 'h7' });

  const again = createStore({ dataDir: dir });
  assert.equal((await again.load()).outcome, 'loaded');
  assert.equal(again.get('t3')?.state, 'running');
  assert.equal(again.get('t4'), undefined);
  assert.equal(again.all().length, 50);
  // The first write after a load is a snapshot, and the journal starts over.
  again.update('t5', (r) => {
    r.state = 'dead';
  });
  await again.flush();
  assert.deepEqual(await lines(dir), []);
  assert.equal(readStoreDocument(dir)!.tasks.t5.state, 'dead');
  await again.close();
});

test('journal: a torn last line (a crash mid-write) is left out; the lines before it count', async (t) => {
  const dir = await tmp(t);
  await journaled(dir, 1);
  await appendFile(path.join(dir, JOURNAL_FILE), '{"g":');
  const again = createStore({ dataDir: dir });
  assert.equal((await again.load()).outcome, 'loaded');
  assert.equal(again.get('a')?.restarts, 1);
});

test('journal: lines of another generation (a crash between a snapshot and the truncation) are not replayed', async (t) => {
  const dir = await tmp(t);
  await journaled(dir, 7);
  const stale = await readFile(path.join(dir, JOURNAL_FILE), 'utf8');
  // A later agent snapshots (the journal starts over), then dies before truncating: the old lines are back.
  const later = createStore({ dataDir: dir });
  await later.load();
  later.update('a', (r) => {
    r.restarts = 8;
  });
  await later.flush();
  await later.close();
  await writeFile(path.join(dir, JOURNAL_FILE), stale);
  assert.equal(readStoreDocument(dir)!.tasks.a.restarts, 8);
});

test('journal: once it outgrows the snapshot (and 1 MiB), the next write is a snapshot again', async (t) => {
  const dir = await tmp(t);
  const s = createStore({ dataDir: dir });
  await s.load();
  s.put(rec('a'));
  await s.flush();
  const big = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 20; i++) {
    s.update('a', (r) => {
      r.error = `${big}${i}`;
    });
    await s.flush();
  }
  const size = (await stat(path.join(dir, JOURNAL_FILE))).size;
  assert.ok(size < 1.2 * (1 << 20), `the journal was folded: ${size} bytes`);
  assert.equal(readStoreDocument(dir)!.tasks.a.error, `${big}19`);
  await s.close();
});
