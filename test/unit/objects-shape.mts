// Run by objects.test.ts under `node --allow-natives-syntax --import tsx`: prints how many hidden
// classes 2,000 objects of each kind have (V8 intrinsics are not syntax tsx can parse: eval).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copied, merged } from '../../src/objects.js';
import { createStore } from '../../src/store/lowdb-store.js';

const sameMap = (a: unknown, b: unknown): boolean => (0, eval)('(a, b) => %HaveSameMap(a, b)')(a, b);
/** Distinct classes among `objs` (counted up to 50). */
function classes(objs: unknown[]): number {
  const reps: unknown[] = [];
  for (const o of objs) if (!reps.some((r) => sameMap(r, o)) && reps.push(o) > 50) break;
  return reps.length;
}
const base = (i: number) => ({ task: `t${i}`, job: 'j', type: 'Started' });
const spreadThenAdd = (o: object, i: number) => ({ ...o, seq: i });
const n = 2000;
const out: Record<string, number> = {
  spread: classes(Array.from({ length: n }, (_, i) => spreadThenAdd(base(i), i))),
  merged: classes(Array.from({ length: n }, (_, i) => merged(base(i), { seq: i }))),
  copied: classes(Array.from({ length: n }, (_, i) => Object.assign(copied(base(i)), { seq: i }))),
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-shapes-'));
try {
  const store = createStore({ dataDir: dir });
  await store.load();
  out.events = classes(Array.from({ length: n }, (_, i) => store.addEvent({ job: `j${i}`, type: 'Received', message: 'm', details: { i } })));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
