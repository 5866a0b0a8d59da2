import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseRevisionFile, readGitRevision, readJobsRevision } from '../../../src/source/revision.js';
import { requireGit } from '../../helpers/gates.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-revision-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

const SHA = '3f2a9c1e0d5b8a7f6e4c3b2a1908f7e6d5c4b3a2';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();
}

test('revision: REVISION file: the first line is the commit, applied_at the time, other keys and comments ignored', () => {
  assert.deepEqual(parseRevisionFile(`${SHA}\napplied_at=2026-11-30T12:00:00Z\nbranch=main\n`), { commit: SHA, appliedAt: '2026-11-30T12:00:00.000Z' });
  assert.deepEqual(parseRevisionFile(`# written by tend-git-sync\n\n${SHA.toUpperCase()}\r\napplied_at: 2026-11-30T13:00:00+01:00\n`), { commit: SHA, appliedAt: '2026-11-30T12:00:00.000Z' });
  assert.deepEqual(parseRevisionFile('3f2a9c1\n'), { commit: '3f2a9c1' });
});

test('revision: a REVISION file that is not one says what is wrong, without quoting it', () => {
  assert.throws(() => parseRevisionFile(''), /REVISION: expected a commit id on its first line, got an empty file/);
  assert.throws(() => parseRevisionFile('root:x:0:0:root:/root:/bin/bash\n'), (err: Error) => {
    assert.match(err.message, /^REVISION:1: expected a commit id \(4 to 64 hex digits\)/);
    assert.doesNotMatch(err.message, /root:x/);
    return true;
  });
  assert.throws(() => parseRevisionFile(`${SHA}\napplied_at=yesterday\n`), /REVISION:2: applied_at: expected an ISO 8601 time/);
});

test('revision: readJobsRevision prefers REVISION, refuses a link or a FIFO there, and is null for a plain dir', async (t) => {
  const dir = await tempDir(t);
  assert.deepEqual(await readJobsRevision(dir), { revision: null });
  await fs.writeFile(path.join(dir, 'REVISION'), `${SHA}\napplied_at=2026-11-30T12:00:00Z\n`);
  assert.deepEqual(await readJobsRevision(dir), { revision: { commit: SHA, source: 'REVISION', appliedAt: '2026-11-30T12:00:00.000Z' } });
  await fs.rm(path.join(dir, 'REVISION'));
  await fs.writeFile(path.join(dir, 'secret'), `${SHA}\n`);
  await fs.symlink('secret', path.join(dir, 'REVISION'));
  const linked = await readJobsRevision(dir);
  assert.equal(linked.revision, null);
  assert.match(linked.problem ?? '', /REVISION is a symbolic link; not followed/);
  await fs.rm(path.join(dir, 'REVISION'));
  execFileSync('mkfifo', [path.join(dir, 'REVISION')]);
  const fifo = await readJobsRevision(dir);
  assert.equal(fifo.revision, null);
  assert.match(fifo.problem ?? '', /REVISION is not a regular file/);
  await fs.rm(path.join(dir, 'REVISION'));
  await fs.writeFile(path.join(dir, 'REVISION'), 'x'.repeat(5000));
  assert.match((await readJobsRevision(dir)).problem ?? '', /larger than 4096 bytes/);
});

test('revision: a Git checkout: a branch (loose, then packed), a detached HEAD, an unborn branch, a worktree', async (t) => {
  if (!requireGit(t)) return;
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  await fs.mkdir(repo);
  git(repo, 'init', '-q');
  // Unborn: no commit yet.
  assert.equal(await readGitRevision(repo), null);
  await fs.writeFile(path.join(repo, 'a.hcl'), 'job a\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  const one = git(repo, 'rev-parse', 'HEAD');
  const loose = await readGitRevision(repo);
  assert.equal(loose?.commit, one);
  assert.equal(loose?.source, 'git');
  const refMtime = new Date((await fs.stat(path.join(repo, '.git', 'refs', 'heads', 'main'))).mtimeMs).toISOString();
  assert.equal(loose?.appliedAt, refMtime, "a loose ref: applied when the ref file was written");
  // Packed (git gc, git pack-refs): read from packed-refs, no time.
  git(repo, 'pack-refs', '--all');
  await fs.access(path.join(repo, '.git', 'refs', 'heads', 'main')).then(() => assert.fail('the ref should be packed'), () => undefined);
  assert.deepEqual(await readGitRevision(repo), { commit: one, source: 'git' });
  // A second commit: a loose ref again, ahead of the packed one.
  await fs.writeFile(path.join(repo, 'b.hcl'), 'job b\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'two');
  const two = git(repo, 'rev-parse', 'HEAD');
  assert.equal((await readGitRevision(repo))?.commit, two);
  assert.deepEqual(await readJobsRevision(repo), { revision: await readGitRevision(repo) });
  // Detached at the first commit.
  git(repo, 'checkout', '-q', '--detach', one);
  assert.equal((await readGitRevision(repo))?.commit, one);
  // A linked worktree: .git is a file pointing at the worktree's git dir; refs live in the common dir.
  git(repo, 'checkout', '-q', 'main');
  const wt = path.join(dir, 'wt');
  git(repo, 'worktree', 'add', '-q', '--detach', wt, one);
  assert.ok((await fs.lstat(path.join(wt, '.git'))).isFile());
  assert.equal((await readGitRevision(wt))?.commit, one);
  git(wt, 'checkout', '-q', '-b', 'other', two);
  assert.equal((await readGitRevision(wt))?.commit, two);
});

test('revision: a damaged HEAD or a ref name leaving refs/ is a problem, not a crash', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, '.git'));
  await fs.writeFile(path.join(dir, '.git', 'HEAD'), 'ref: ../../etc/passwd\n');
  const bad = await readJobsRevision(dir);
  assert.equal(bad.revision, null);
  assert.match(bad.problem ?? '', /expected a ref under refs\//);
  await fs.writeFile(path.join(dir, '.git', 'HEAD'), 'not a commit\n');
  assert.match((await readJobsRevision(dir)).problem ?? '', /HEAD: expected a commit id/);
  await fs.writeFile(path.join(dir, '.git', 'HEAD'), `${SHA}\n`);
  assert.equal((await readJobsRevision(dir)).revision?.commit, SHA);
});

test('revision: the source reads it at every relist; a new revision alone is a new set, a symlink swap carries the new one', async (t) => {
  const { createJobSource } = await import('../../../src/source/watcher.js');
  const { FakeLoader, fakeIsJobFile } = await import('./fake-loader.js');
  const { waitFor } = await import('../../helpers/wait.js');
  const root = await tempDir(t);
  const revA = path.join(root, 'rev-a');
  const revB = path.join(root, 'rev-b');
  for (const [dir, sha] of [[revA, 'aaaaaaa'], [revB, 'bbbbbbb']]) {
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'web.hcl'), 'job web\n');
    await fs.writeFile(path.join(dir, 'REVISION'), `${sha}\n`);
  }
  const link = path.join(root, 'jobs');
  await fs.symlink(revA, link);
  const loader = new FakeLoader();
  const source = createJobSource({ dir: link, node: { name: 'n', id: 'i', class: '', datacenter: 'dc1', attributes: {}, meta: {} }, debounceMs: 20, dirPollMs: 50, load: loader.load, isJobFile: fakeIsJobFile });
  t.after(() => source.stop());
  const sets: { generation: number; commit?: string; reason: string }[] = [];
  source.onChange((s) => sets.push({ generation: s.generation, commit: s.revision?.commit, reason: s.reason }));
  const first = await source.start();
  assert.deepEqual(first.revision, { commit: 'aaaaaaa', source: 'REVISION' });
  // The same job files behind a swapped link: the revision alone makes the new set.
  await fs.symlink(revB, path.join(root, 'jobs.tmp'));
  await fs.rename(path.join(root, 'jobs.tmp'), link);
  await waitFor(() => source.current().revision?.commit === 'bbbbbbb', { what: 'the swapped revision' });
  assert.deepEqual(sets.at(-1), { generation: 2, commit: 'bbbbbbb', reason: 'symlink-swap' });
  assert.deepEqual([...source.current().jobs.keys()], ['web']);
  // REVISION rewritten in place (an in-place sync): seen by the watch.
  await fs.writeFile(path.join(revB, 'REVISION'), 'ccccccc\napplied_at=2026-11-30T12:00:00Z\n');
  await waitFor(() => source.current().revision?.commit === 'ccccccc', { what: 'the rewritten revision' });
  assert.equal(source.current().revision?.appliedAt, '2026-11-30T12:00:00.000Z');
  // Unchanged: a resync emits nothing new.
  const n = sets.length;
  await source.resync();
  assert.equal(sets.length, n);
});
