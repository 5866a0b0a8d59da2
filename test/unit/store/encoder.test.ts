import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentEncoder, encodingDifference } from '../../../src/store/encoder.js';
import { decodeDocument, encodeDocument } from '../../../src/store/lowdb-store.js';
import type { StoreDocument, TaskEvent, TaskRecord } from '../../../src/store/store.js';
import { taskRecord } from './record.js';

function rec(id: string, fields: Record<string, string>, values?: Record<string, unknown>): TaskRecord {
  return taskRecord(id, { hashes: { restart: 'r', resources: 's', policy: 'p', fields, ...(values ? { values } : {}) } });
}

function doc(): StoreDocument {
  const fields = { args: 'h1', 'env.A': 'h2' };
  const values = { args: ['1'], 'env.A': 'x' };
  const d: StoreDocument = { version: 1, nodeId: 'n', seq: 0, tasks: {}, events: [] };
  for (let i = 0; i < 5; i++) d.tasks[`t${i}`] = rec(`t${i}`, fields, values);
  d.tasks.other = rec('other', { args: 'h9' });
  d.rollouts = { j: { job: 'j' } as never };
  return d;
}

/** What a reader of the file gets: the document with its specs inlined. */
const read = (text: string) => decodeDocument(JSON.parse(text));

test('encoder: the text reads back as the document, with specs shared by the instances that share them', () => {
  const d = doc();
  const text = new DocumentEncoder().encode(d);
  assert.deepEqual(read(text), JSON.parse(JSON.stringify(d)));
  const raw = JSON.parse(text);
  assert.equal(Object.keys(raw.specs).length, 2, 'one spec for the five instances, one for the other task');
  assert.equal(Object.keys(raw.specValues).length, 1);
  assert.deepEqual(read(encodeDocument(d)), read(text), 'the same document as the full encode');
});

test('encoder: what changed and was touched is written again; events are appended to their record', () => {
  const d = doc();
  const enc = new DocumentEncoder();
  enc.encode(d);
  const ev: TaskEvent = { seq: 1, time: '2026-11-30T00:00:00.000Z', type: 'Started', message: 'Task started', task: 't1', job: 'j' } as TaskEvent;
  d.seq = 1;
  d.events.push(ev);
  d.tasks.t1.events.push(ev);
  d.tasks.t1.state = 'running';
  enc.touch('tasks', 't1');
  delete d.tasks.t2;
  enc.touch('tasks', 't2');
  delete d.tasks.other;
  enc.touch('tasks', 'other');
  d.rollouts!.k = { job: 'k' } as never;
  enc.touch('rollouts', 'k');
  d.periodic = { p: { job: 'p' } as never };
  enc.touch('periodic', 'p');
  const text = enc.encode(d);
  assert.deepEqual(encodingDifference(d, text), []);
  assert.equal(Object.keys(JSON.parse(text).specs).length, 1, 'the spec no record uses any more is not written');
  assert.equal((read(text) as StoreDocument).tasks.t1.events[0].message, 'Task started');
});

test('encoder: a change the store is not told of is not written, and the check names where', (t) => {
  // The check would end this process (the test runner sets it for every test).
  const check = process.env.TEND_STORE_CHECK;
  delete process.env.TEND_STORE_CHECK;
  t.after(() => {
    if (check !== undefined) process.env.TEND_STORE_CHECK = check;
  });
  const d = doc();
  const enc = new DocumentEncoder();
  enc.encode(d);
  d.tasks.t3.state = 'running'; // no touch
  const text = enc.encode(d);
  assert.equal((read(text) as StoreDocument).tasks.t3.state, 'pending', 'the cached text is used');
  assert.deepEqual(encodingDifference(d, text), ['tasks.t3']);
});

test('encoder: a new document (a load) is encoded whole', () => {
  const enc = new DocumentEncoder();
  enc.encode(doc());
  const d = doc();
  d.tasks.t0.state = 'dead';
  assert.deepEqual(encodingDifference(d, enc.encode(d)), []);
});

test('encoder: the node-wide ring is appended to, and written whole again after a trim', () => {
  const d = doc();
  const enc = new DocumentEncoder();
  const ev = (seq: number) => ({ seq, time: '2026-11-30T00:00:00.000Z', type: 'Started', message: `e${seq}` }) as TaskEvent;
  for (let seq = 1; seq <= 5; seq++) {
    d.events.push(ev(seq));
    d.seq = seq;
    assert.deepEqual(encodingDifference(d, enc.encode(d)), [], `after event ${seq}`);
  }
  d.events.splice(0, 3);
  d.events.push(ev(6));
  assert.deepEqual(encodingDifference(d, enc.encode(d)), [], 'after a trim');
  d.events.length = 0;
  assert.deepEqual(encodingDifference(d, enc.encode(d)), [], 'empty');
  d.events.push(ev(7));
  assert.deepEqual(encodingDifference(d, enc.encode(d)), [], 'one again');
});
