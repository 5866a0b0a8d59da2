import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssembleCache, assembleSet } from '../../../src/source/assemble.js';
import type { CachedFile } from '../../../src/source/file-cache.js';
import type { Job, LoadResult } from '../../../src/jobspec/model.js';

const job = (id: string, file: string) => ({ id, name: id, file, groups: [] }) as unknown as Job;
function entry(file: string, jobs: string[]): CachedFile {
  const result: LoadResult = { file, jobs: jobs.map((id) => job(id, file)), diagnostics: [], ok: true, excluded: [] };
  return { path: file, statKey: '', mtimeMs: 0, readAtMs: 0, contentHash: `h-${file}`, result };
}
const shuffled = <T>(xs: T[]) => xs.map((x, i) => [((i * 7919) % 101) + Math.random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);

test('assembleSet with a cache: the same sets as without, file states shared while unchanged, order kept through adds and removes', () => {
  const cache = new AssembleCache();
  let entries = Array.from({ length: 100 }, (_, i) => entry(`/jobs/f${String(i).padStart(3, '0')}.hcl`, [`j${i}`]));
  const plain = (es: CachedFile[]) => assembleSet(es, 1, 'x');
  const check = (es: CachedFile[]) => {
    const a = assembleSet(shuffled(es), 1, 'x', cache);
    assert.deepEqual(a, plain(es));
    return a;
  };
  const first = check(entries);
  // A second assembly of the same files hands out the same state objects.
  const second = check(entries);
  second.files.forEach((f, i) => assert.equal(f, first.files[i]));
  // One file changed, three new (one sorts first, one last), two gone: the rest shared, the order right.
  const changed = entry('/jobs/f010.hcl', ['j10']);
  entries = [...entries.filter((e) => e.path !== '/jobs/f020.hcl' && e.path !== '/jobs/f099.hcl' && e.path !== '/jobs/f010.hcl'), changed, entry('/jobs/a.hcl', ['ja']), entry('/jobs/z.hcl', ['jz']), entry('/jobs/f050b.hcl', ['jb'])];
  const third = check(entries);
  assert.notEqual(third.files.find((f) => f.path === '/jobs/f010.hcl'), first.files.find((f) => f.path === '/jobs/f010.hcl'));
  assert.equal(third.files.find((f) => f.path === '/jobs/f011.hcl'), first.files.find((f) => f.path === '/jobs/f011.hcl'));
  // Many new files at once (a converge): sorted again as a whole.
  entries = [...entries, ...Array.from({ length: 200 }, (_, i) => entry(`/jobs/m${i}.hcl`, [`m${i}`]))];
  check(entries);
});

test('assembleSet with a cache: a job defined twice is a conflict in the later file without changing the cached state of either', () => {
  const cache = new AssembleCache();
  const a = entry('/jobs/a.hcl', ['x']);
  const b = entry('/jobs/b.hcl', ['x', 'y']);
  const alone = assembleSet([b], 1, 'x', cache);
  const cachedB = alone.files[0];
  assert.deepEqual(cachedB.jobs.map((j) => j.id), ['x', 'y']);
  const both = assembleSet([b, a], 2, 'x', cache);
  assert.deepEqual(both.conflicts, [{ job: 'x', winner: '/jobs/a.hcl', losers: ['/jobs/b.hcl'] }]);
  const loser = both.files.find((f) => f.path === '/jobs/b.hcl')!;
  assert.equal(loser.ok, false);
  assert.deepEqual(loser.jobs.map((j) => j.id), ['y']);
  assert.match(loser.diagnostics[0].message, /already defined in \/jobs\/a\.hcl/);
  // The cached state (and the set that holds it) is as it was; a is gone again: b is whole again.
  assert.equal(cachedB.ok, true);
  assert.deepEqual(cachedB.diagnostics, []);
  const again = assembleSet([b], 3, 'x', cache);
  assert.equal(again.files[0].ok, true);
  assert.deepEqual([...again.jobs.keys()], ['x', 'y']);
});
