import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createJobSource, type WatcherOptions } from '../../../src/source/watcher.js';
import { FileCache } from '../../../src/source/file-cache.js';
import type { DesiredSet, JobSource } from '../../../src/source/source.js';
import type { NodeInfo } from '../../../src/jobspec/model.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeLoader, fakeIsJobFile } from './fake-loader.js';

const node: NodeInfo = { name: 'n1', id: 'id1', class: '', datacenter: 'dc1', attributes: {}, meta: {} };

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-source-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Harness {
  source: JobSource;
  loader: FakeLoader;
  sets: DesiredSet[];
  /** Wait until the latest emitted set satisfies `fn`. */
  until(fn: (set: DesiredSet) => boolean, what: string): Promise<DesiredSet>;
}

async function startSource(t: TestContext, dir: string, opts: Partial<WatcherOptions> = {}): Promise<Harness> {
  const loader = new FakeLoader();
  const sets: DesiredSet[] = [];
  const source = createJobSource({ dir, node, debounceMs: 50, load: loader.load, isJobFile: fakeIsJobFile, ...opts });
  t.after(() => source.stop());
  source.onChange((s) => sets.push(s));
  await source.start();
  return {
    source,
    loader,
    sets,
    async until(fn, what) {
      await waitFor(() => fn(source.current()), { what, timeoutMs: 5000 });
      return source.current();
    },
  };
}

const ids = (set: DesiredSet): string[] => [...set.jobs.keys()].sort();

test('watcher: initial set holds every job file, subdirectories included, sorted by path', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'team'));
  await fs.writeFile(path.join(dir, 'b.hcl'), 'job b\n');
  await fs.writeFile(path.join(dir, 'a.nomad'), 'job a\njob a2\n');
  await fs.writeFile(path.join(dir, 'team', 'c.json'), 'job c\n');
  const h = await startSource(t, dir);
  const set = h.source.current();
  assert.equal(set.generation, 1);
  assert.equal(set.reason, 'initial');
  assert.deepEqual(set.files.map((f) => path.relative(dir, f.path)), ['a.nomad', 'b.hcl', path.join('team', 'c.json')]);
  assert.deepEqual(ids(set), ['a', 'a2', 'b', 'c']);
  assert.ok(set.files.every((f) => f.ok && /^[0-9a-f]{64}$/.test(f.contentHash)));
  assert.equal(h.sets.length, 0, 'the initial set is returned by start, not sent to listeners');
});

test('watcher: hidden files and dirs, swap files, backups and *.tmp are ignored', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, '.git'));
  await fs.writeFile(path.join(dir, '.git', 'x.hcl'), 'job hidden-dir\n');
  await fs.writeFile(path.join(dir, '.x.hcl'), 'job hidden\n');
  await fs.writeFile(path.join(dir, '.web.hcl.swp'), 'job swap\n');
  await fs.writeFile(path.join(dir, 'web.hcl~'), 'job backup\n');
  await fs.writeFile(path.join(dir, '4913'), 'job vimtest\n');
  await fs.writeFile(path.join(dir, 'web.hcl.tmp'), 'job tmp\n');
  await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
  const h = await startSource(t, dir);
  assert.deepEqual(ids(h.source.current()), ['web']);
  assert.deepEqual([...h.loader.loads.keys()], [path.join(dir, 'web.hcl')]);
  // Editing ignored files never loads them, never emits.
  await fs.writeFile(path.join(dir, '.x.hcl'), 'job hidden2\n');
  await fs.writeFile(path.join(dir, 'web.hcl.tmp'), 'job tmp2\n');
  await h.source.resync();
  assert.equal(h.sets.length, 0);
  assert.equal(h.loader.total, 1);
});

test('watcher: create, change and delete converge', async (t) => {
  const dir = await tempDir(t);
  const h = await startSource(t, dir);
  assert.deepEqual(ids(h.source.current()), []);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, 'job web\n');
  let set = await h.until((s) => s.jobs.has('web'), 'web to appear');
  assert.equal(set.reason, 'watch');
  await fs.writeFile(file, 'job web\njob api\n');
  set = await h.until((s) => s.jobs.has('api'), 'api to appear');
  assert.deepEqual(ids(set), ['api', 'web']);
  await fs.rm(file);
  set = await h.until((s) => s.jobs.size === 0, 'jobs to go');
  assert.deepEqual(set.files, []);
  assert.ok(h.sets.every((s, i) => s.generation === i + 2), 'generation +1 per emission');
});

test('watcher: rename is unlink plus add, and converges to the new path', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'a.hcl'), 'job web\n');
  const h = await startSource(t, dir);
  await fs.rename(path.join(dir, 'a.hcl'), path.join(dir, 'b.hcl'));
  const set = await h.until((s) => s.files.length === 1 && s.files[0].path.endsWith('b.hcl'), 'rename to show');
  assert.equal(set.jobs.get('web')?.file, path.join(dir, 'b.hcl'));
  // Renamed out of the job file namespace: gone.
  await fs.rename(path.join(dir, 'b.hcl'), path.join(dir, 'b.hcl.bak'));
  await h.until((s) => s.files.length === 0, 'file to leave the set');
});

test('watcher: a file dropped into an idle dir is acted on at once, not after the debounce', async (t) => {
  const dir = await tempDir(t);
  const h = await startSource(t, dir, { debounceMs: 60_000, maxWaitMs: 60_000 });
  await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
  const set = await h.until((s) => s.jobs.has('web'), 'web, well before the 60 s debounce');
  assert.equal(set.reason, 'watch');
});

test('watcher: a file written in chunks converges to the final content; no emission drops a job on the way', async (t) => {
  const dir = await tempDir(t);
  const h = await startSource(t, dir, { debounceMs: 400 });
  const file = path.join(dir, 'web.hcl');
  const fh = await fs.open(file, 'w');
  const chunks = ['job web\n', 'job api\n', 'job db\n', 'job cache\n'];
  for (const c of chunks) {
    await fh.write(c);
    await fh.sync();
    await sleep(40); // pacing a slow writer (not synchronisation): each chunk lands as its own fs event
  }
  await fh.close();
  const set = await h.until((s) => s.jobs.size === 4, 'all four jobs');
  assert.deepEqual(ids(set), ['api', 'cache', 'db', 'web']);
  const emitted = h.sets.length;
  await h.source.resync(); // nothing changed since: no new emission
  assert.equal(h.sets.length, emitted);
  // An idle dir's event is acted on at once: one emission per write at most, and one for the empty file the open created.
  assert.ok(emitted <= chunks.length + 1, `at most one emission per chunk and the creation (${emitted})`);
  for (let i = 1; i < h.sets.length; i++) for (const id of h.sets[i - 1].jobs.keys()) assert.ok(h.sets[i].jobs.has(id), `emission ${i} dropped ${id}`);
});

test('watcher: a file rewritten in place by a slow writer keeps its jobs while the new bytes drop some', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, 'job web\njob api\n');
  await fs.utimes(file, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
  const h = await startSource(t, dir, { debounceMs: 300 });
  const fh = await fs.open(file, 'w'); // truncates: the first fs event of the burst
  await fh.write('job web\n');
  await fh.sync();
  await sleep(100); // pacing a slow writer (not synchronisation)
  await fh.write('job api\njob db\n');
  await fh.close();
  const set = await h.until((s) => s.jobs.has('db'), 'the final content');
  assert.deepEqual(ids(set), ['api', 'db', 'web']);
  for (const s of h.sets) assert.ok(s.jobs.has('api'), `an emission without api (${[...s.jobs.keys()]}): a partial write stopped a job`);
});

test('watcher: a file that settles with fewer jobs drops them once settled', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, 'job web\njob api\n');
  const h = await startSource(t, dir, { debounceMs: 50 });
  await fs.writeFile(file, 'job web\n');
  const set = await h.until((s) => !s.jobs.has('api'), 'api to leave once the file settled');
  assert.deepEqual(ids(set), ['web']);
});

test('watcher: write-to-temp-then-rename converges once and never loads the temp file', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, 'job web\n');
  const h = await startSource(t, dir, { debounceMs: 300 });
  const tmp = path.join(dir, 'web.hcl.tmp');
  await fs.writeFile(tmp, 'job web\n');
  await fs.appendFile(tmp, 'job api\n');
  await fs.rename(tmp, file);
  const set = await h.until((s) => s.jobs.has('api'), 'api from the renamed file');
  assert.deepEqual(ids(set), ['api', 'web']);
  await h.source.resync();
  assert.equal(h.sets.length, 1);
  assert.equal(h.loader.loadsOf(file), 2, 'initial + final content');
  assert.equal(h.loader.loadsOf(tmp), 0);
});

test('watcher: a broken edit keeps the last good jobs and exposes the diagnostics', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  const never = path.join(dir, 'never.hcl');
  await fs.writeFile(file, 'job web\n');
  await fs.writeFile(never, 'job ghost\nerror unexpected brace\n');
  const h = await startSource(t, dir);
  let set = h.source.current();
  assert.deepEqual(ids(set), ['web'], 'a file never good contributes nothing');
  const neverState = set.files.find((f) => f.path === never)!;
  assert.equal(neverState.ok, false);
  assert.equal(neverState.lastGoodAt, undefined);
  assert.deepEqual(neverState.jobs, []);

  await fs.writeFile(file, 'job web2\nerror bad thing\n');
  set = await h.until((s) => s.files.find((f) => f.path === file)?.ok === false, 'web.hcl to turn invalid');
  const web = set.files.find((f) => f.path === file)!;
  assert.deepEqual(ids(set), ['web'], 'last good version stays in force');
  assert.deepEqual(web.jobs.map((j) => j.id), ['web']);
  assert.ok(web.lastGoodAt && !Number.isNaN(Date.parse(web.lastGoodAt)));
  assert.equal(web.diagnostics[0].message, 'bad thing');
  assert.equal(web.diagnostics[0].line, 2);

  await fs.writeFile(file, 'job web2\n');
  set = await h.until((s) => s.jobs.has('web2'), 'fixed file to load');
  assert.deepEqual(ids(set), ['web2']);
  assert.equal(set.files.find((f) => f.path === file)!.lastGoodAt, undefined);
  await fs.rm(file);
  set = await h.until((s) => !s.jobs.has('web2'), 'removing the file to drop its jobs');
  assert.deepEqual(ids(set), []);
});

test('watcher: two files defining one job: first path wins, the loser is told, nothing dropped', async (t) => {
  const dir = await tempDir(t);
  const a = path.join(dir, 'a.hcl');
  const b = path.join(dir, 'b.hcl');
  await fs.writeFile(a, 'job web\n');
  await fs.writeFile(b, 'job web\njob api\n');
  const h = await startSource(t, dir);
  let set = h.source.current();
  assert.deepEqual(set.conflicts, [{ job: 'web', winner: a, losers: [b] }]);
  assert.equal(set.jobs.get('web')?.file, a);
  assert.equal(set.jobs.get('api')?.file, b, 'the loser keeps its other jobs');
  const loser = set.files.find((f) => f.path === b)!;
  assert.equal(loser.ok, false);
  assert.deepEqual(loser.jobs.map((j) => j.id), ['api']);
  assert.equal(loser.diagnostics[0].kind, 'schema');
  assert.equal(loser.diagnostics[0].message, `job "web" is already defined in ${a}`);
  assert.equal(set.files.find((f) => f.path === a)!.ok, true);

  await fs.rm(a);
  set = await h.until((s) => s.conflicts.length === 0 && s.jobs.get('web')?.file === b, 'b to take over web');
  assert.equal(set.files[0].ok, true);
});

test('watcher: a swapped jobs dir symlink converges to the new tree', async (t) => {
  const root = await tempDir(t);
  const revA = path.join(root, '.sync', 'rev-a');
  const revB = path.join(root, '.sync', 'rev-b');
  await fs.mkdir(revA, { recursive: true });
  await fs.mkdir(revB, { recursive: true });
  await fs.writeFile(path.join(revA, 'web.hcl'), 'job web\n');
  await fs.writeFile(path.join(revA, 'old.hcl'), 'job old\n');
  await fs.writeFile(path.join(revB, 'web.hcl'), 'job web\njob web-v2\n');
  await fs.writeFile(path.join(revB, 'new.hcl'), 'job new\n');
  const dir = path.join(root, 'jobs');
  await fs.symlink(revA, dir);
  const h = await startSource(t, dir, { dirPollMs: 50, debounceMs: 30 });
  assert.deepEqual(ids(h.source.current()), ['old', 'web']);

  const tmpLink = path.join(root, 'jobs.tmp-link');
  await fs.symlink(revB, tmpLink);
  await fs.rename(tmpLink, dir); // atomic swap, as git-sync does
  const set = await h.until((s) => s.jobs.has('new') && !s.jobs.has('old'), 'the new tree');
  assert.deepEqual(ids(set), ['new', 'web', 'web-v2']);
  assert.ok(set.files.every((f) => f.path.startsWith(dir + path.sep)), 'paths stay under the dir as given');
  assert.ok(h.sets.some((s) => s.reason === 'symlink-swap'));

  // The new target is watched: an edit there converges too.
  await fs.writeFile(path.join(revB, 'new.hcl'), 'job newer\n');
  await h.until((s) => s.jobs.has('newer'), 'edit in the new tree');
});

test('watcher: a jobs dir that does not exist yet gives an empty set, then is picked up', async (t) => {
  const root = await tempDir(t);
  const dir = path.join(root, 'jobs');
  const h = await startSource(t, dir, { dirPollMs: 50 });
  const first = h.source.current();
  assert.equal(first.generation, 1);
  assert.deepEqual(first.files, []);
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
  await h.until((s) => s.jobs.has('web'), 'the late dir');
  await fs.writeFile(path.join(dir, 'api.hcl'), 'job api\n');
  await h.until((s) => s.jobs.has('api'), 'the late dir to be watched');
});

test('file cache: a verified refresh (the resync) re-reads and finds a same-size, same-mtime change', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, 'job aaa\n');
  const old = new Date(Date.now() - 10_000); // old enough for its stat to be trusted
  await fs.utimes(file, old, old);
  const loader = new FakeLoader();
  const cache = new FileCache(loader.load);
  assert.equal(await cache.refresh(file, false), 'changed');
  await fs.writeFile(file, 'job bbb\n'); // same size…
  await fs.utimes(file, old, old); // …and the same mtime
  assert.equal(await cache.refresh(file, true), 'changed');
  assert.deepEqual(cache.get(file)?.result.jobs.map((j) => j.id), ['bbb']);
});

test('watcher: relisting unchanged files emits nothing and loads nothing', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 20; i++) await fs.writeFile(path.join(dir, `j${i}.hcl`), `job j${i}\n`);
  const h = await startSource(t, dir);
  const gen = h.source.current().generation;
  await h.source.resync();
  await h.source.resync('manual');
  assert.equal(h.source.current().generation, gen);
  assert.equal(h.sets.length, 0);
  assert.equal(h.loader.total, 20);
});

test('watcher: stop closes the watch; later writes are not seen', async (t) => {
  const dir = await tempDir(t);
  const h = await startSource(t, dir);
  await h.source.stop();
  await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
  await assert.rejects(waitFor(() => h.sets.length > 0, { what: 'an emission after stop', timeoutMs: 300 }));
});

test('watcher: a constant stream of writes still converges within the max wait', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  const h = await startSource(t, dir, { debounceMs: 100, maxWaitMs: 250 });
  let streaming = true;
  const writer = (async () => {
    for (let n = 0; streaming; n++) {
      await fs.writeFile(file, `job web\njob v${n}\n`);
      await sleep(20); // pacing the writer: never quiet for 100 ms
    }
  })();
  try {
    await h.until((s) => s.jobs.has('web'), 'a set while the stream still runs');
    assert.equal(h.source.current().reason, 'watch');
  } finally {
    streaming = false;
    await writer;
  }
  await fs.writeFile(file, 'job web\njob final\n');
  await h.until((s) => s.jobs.has('final'), 'the final content after the stream');
});

test('watcher: excluded paths (the agent config in the jobs dir) are never loaded', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'agent.hcl'), 'job not-a-job\n');
  await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
  const h = await startSource(t, dir, { exclude: [path.join(dir, 'agent.hcl')] });
  assert.deepEqual(ids(h.source.current()), ['web']);
  assert.equal(h.loader.loadsOf(path.join(dir, 'agent.hcl')), 0);
});

test('watcher: a missing dir is a warning; a dir that vanishes keeps the set; a re-created dir is rewatched', async (t) => {
  const root = await tempDir(t);
  const dir = path.join(root, 'jobs');
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const h = await startSource(t, dir, { dirPollMs: 30, logger });
  assert.ok(lines.some((l) => l.msg === 'jobs dir not readable; waiting for it'));
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
  await h.until((s) => s.jobs.has('web'), 'the dir to appear');
  const gen = h.source.current().generation;

  await fs.rm(dir, { recursive: true });
  await waitFor(() => lines.filter((l) => l.msg === 'jobs dir not readable; waiting for it').length === 2, { what: 'the vanish warning' });
  await h.source.resync();
  assert.deepEqual(ids(h.source.current()), ['web'], 'a vanished dir stops nothing');
  assert.equal(h.source.current().generation, gen);

  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'api.hcl'), 'job api\n');
  const set = await h.until((s) => s.jobs.has('api') && !s.jobs.has('web'), 'the re-created dir');
  assert.deepEqual(ids(set), ['api']);
  await fs.writeFile(path.join(dir, 'db.hcl'), 'job db\n');
  await h.until((s) => s.jobs.has('db'), 'the re-created dir to be watched');
});

test('watcher: the start logs "watching jobs dir" once, not a change of target; a symlink swap is one', async (t) => {
  const root = await tempDir(t);
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  await fs.mkdir(a);
  await fs.mkdir(b);
  const link = path.join(root, 'jobs');
  await fs.symlink(a, link);
  const lines: { msg: string; real?: string; from?: string; to?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const h = await startSource(t, link, { dirPollMs: 30, logger });
  await h.source.resync();
  assert.deepEqual(
    lines.filter((l) => /jobs dir/.test(l.msg)).map((l) => [l.msg, l.real]),
    [['watching jobs dir', a]],
  );
  await fs.symlink(b, `${link}.new`);
  await fs.rename(`${link}.new`, link);
  await waitFor(() => lines.some((l) => l.msg === 'jobs dir changed target; rewatching'), { what: 'the swap to be seen' });
  const swap = lines.find((l) => l.msg === 'jobs dir changed target; rewatching')!;
  assert.deepEqual([swap.from, swap.to], [a, b]);
});

test('watcher: a loader that throws is shown as a failed load; the last good version stays', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, 'job web\n');
  const fake = new FakeLoader();
  const load = async (f: string, text: string) => {
    if (text.includes('boom')) throw new Error('loader bug');
    return fake.load(f, text);
  };
  const h = await startSource(t, dir, { load });
  await fs.writeFile(file, 'job web\nboom\n');
  const set = await h.until((s) => s.files[0]?.ok === false, 'the failed load');
  assert.deepEqual(ids(set), ['web']);
  assert.equal(set.files[0].diagnostics[0].message, `failed to load ${file}: loader bug`);
  assert.ok(set.files[0].lastGoodAt);
});

test('watcher: an invalid file keeps winning a clash with its last good version', async (t) => {
  const dir = await tempDir(t);
  const a = path.join(dir, 'a.hcl');
  const b = path.join(dir, 'b.hcl');
  await fs.writeFile(a, 'job web\n');
  await fs.writeFile(b, 'job web\n');
  const h = await startSource(t, dir);
  await fs.writeFile(a, 'job web\nerror oops\n');
  const set = await h.until((s) => s.files[0]?.ok === false && s.files[0].diagnostics.length === 1, 'a.hcl to turn invalid');
  assert.equal(set.jobs.get('web')?.file, a, 'a broken edit must not hand the job to another file');
  assert.deepEqual(set.conflicts, [{ job: 'web', winner: a, losers: [b] }]);
});

test('watcher: a file added or changed at the top of the dir is refreshed alone; a removal relists the dir (issue 14)', async (t) => {
  const dir = await tempDir(t);
  // Written a minute ago: files read just after their write get one more look, which would count here.
  const past = new Date(Date.now() - 60_000);
  for (let i = 0; i < 30; i++) {
    await fs.writeFile(path.join(dir, `j${i}.hcl`), `job j${i}\n`);
    await fs.utimes(path.join(dir, `j${i}.hcl`), past, past);
  }
  const h = await startSource(t, dir, { debounceMs: 30 });
  const stats = () => (h.source as unknown as { counters: { stats: number } }).counters.stats;
  // Written aside and renamed in (as sync tools do); then edited in place the same way.
  const put = async (name: string, text: string) => {
    await fs.writeFile(path.join(dir, `.${name}.tmp`), text);
    await fs.rename(path.join(dir, `.${name}.tmp`), path.join(dir, name));
  };
  let before = stats();
  await put('new.hcl', 'job new\n');
  await h.until((s) => s.jobs.has('new'), 'the new file');
  // Renamed in: its mtime is that of the write, so it is read "fresh" and looked at once more (alone too).
  assert.ok(stats() - before <= 3, `stats for one new file among 31: ${stats() - before}`);

  before = stats();
  await put('j7.hcl', 'job j7b\n');
  await h.until((s) => s.jobs.has('j7b') && !s.jobs.has('j7'), 'the edit');
  assert.ok(stats() - before <= 3, `stats for one edited file among 31: ${stats() - before}`);

  before = stats();
  await fs.unlink(path.join(dir, 'j3.hcl'));
  await h.until((s) => !s.jobs.has('j3'), 'the removal');
  assert.ok(stats() - before >= 30, `a removal relists every file: ${stats() - before}`);
  assert.deepEqual(ids(h.source.current()).length, 30);
});

test('watcher: a file added inside a subdir, or a link added at the top, relists (its watch and listed path come from the listing)', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'team'));
  for (let i = 0; i < 10; i++) await fs.writeFile(path.join(dir, `j${i}.hcl`), `job j${i}\n`);
  const outside = path.join(await tempDir(t), 'linked.hcl');
  await fs.writeFile(outside, 'job linked\n');
  const h = await startSource(t, dir, { debounceMs: 30 });
  await fs.writeFile(path.join(dir, 'team', 'c.hcl'), 'job c\n');
  await h.until((s) => s.jobs.has('c'), 'the file in the subdir');
  await fs.symlink(outside, path.join(dir, 'linked.hcl'));
  await h.until((s) => s.jobs.has('linked'), 'the linked file');
  // The link's target is watched (the relist did it): an edit there converges.
  await fs.writeFile(outside, 'job linked2\n');
  await h.until((s) => s.jobs.has('linked2'), 'the edit of the link target');
});
