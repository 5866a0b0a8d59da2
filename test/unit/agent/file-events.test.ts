import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { FileEvents } from '../../../src/agent/file-events.js';
import { noopMetrics } from '../../../src/agent/metrics.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import { TASK_EVENT } from '../../../src/store/store.js';
import type { DesiredSet, JobsRevision } from '../../../src/source/source.js';

function set(revision: JobsRevision | null | undefined): DesiredSet {
  return { generation: 1, files: [], jobs: new Map(), conflicts: [], reason: 'watch', revision };
}

const A = '1b2c3d4e5f60718293a4b5c6d7e8f90123456789';
const B = '3f2a9c1e0d5b8a7f6e4c3b2a1908f7e6d5c4b3a2';

test('file events: a new jobs revision is a "Jobs Revision" event naming both commits, once; a restarted agent does not repeat it', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-file-events-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const store = createStore({ dataDir: dir });
  await store.load();
  const log = pino({ level: 'silent' });
  const revisions = () => store.events().filter((e) => e.type === TASK_EVENT.JobsRevision);
  const ev = new FileEvents(store, log, noopMetrics);
  ev.seen(set(undefined)); // a set that was not read for a revision says nothing
  ev.seen(set(null));
  assert.equal(revisions().length, 0);
  ev.seen(set({ commit: A, source: 'git', appliedAt: '2026-11-30T12:00:00.000Z' }));
  ev.seen(set({ commit: A, source: 'git', appliedAt: '2026-11-30T12:00:00.000Z' }));
  ev.seen(set({ commit: B, source: 'REVISION' }));
  assert.deepEqual(revisions().map((e) => e.message), ['now at 1b2c3d4, from the Git checkout', 'now at 3f2a9c1 (was 1b2c3d4)']);
  assert.deepEqual(revisions()[1].details, { commit: B, previous: A, source: 'REVISION' });
  assert.equal(revisions()[1].task, undefined, 'a node-level event');
  await store.close();
  // The next agent on this data dir: the same revision is not news, a new one is.
  const again = createStore({ dataDir: dir });
  await again.load();
  const ev2 = new FileEvents(again, log, noopMetrics);
  ev2.seen(set({ commit: B, source: 'REVISION' }));
  assert.equal(again.events().filter((e) => e.type === TASK_EVENT.JobsRevision).length, 2);
  ev2.seen(set(null));
  assert.equal(again.events().at(-1)?.message, 'the jobs dir no longer names a revision (was 3f2a9c1)');
  await again.close();
});
