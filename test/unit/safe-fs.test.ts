import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { DirFd, assertSegment, pathUnder, segmentOf } from '../../src/safe-fs.js';
import { ensureTaskDirs, removeAllocDir, taskDirs } from '../../src/drivers/alloc-dir.js';

function tmp(t: TestContext, name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tend-safefs-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A host dir and file standing in for /etc: what an attacker aims at. */
function victim(t: TestContext): { dir: string; file: string; mode: number } {
  const dir = tmp(t, 'victim');
  const file = path.join(dir, 'shadow');
  writeFileSync(file, 'secret\n', { mode: 0o640 });
  return { dir, file, mode: statSync(dir).mode };
}

test('safe-fs: a name is one path component or an error', () => {
  for (const bad of ['', '.', '..', 'a/b', '../x', 'a\0b']) assert.throws(() => assertSegment(bad), /unsafe path segment/);
  assert.equal(assertSegment('web.1'), 'web.1');
  assert.throws(() => pathUnder('/data', 'alloc', '..'), /unsafe path segment/);
  assert.equal(pathUnder('/data', 'alloc', 'x'), '/data/alloc/x');
});

test('safe-fs: segmentOf keeps plain names and makes every other name a distinct safe segment', () => {
  assert.equal(segmentOf('server'), 'server');
  assert.equal(segmentOf('my_task-2.v1'), 'my_task-2.v1');
  const hostile = ['../../../../etc', '..', '.', 'a/b', 'a b', 'a_b\n', '.hidden/..', 'x'.repeat(300), 'ä'];
  const segs = hostile.map(segmentOf);
  for (const s of segs) {
    assert.doesNotThrow(() => assertSegment(s));
    assert.match(s, /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
    assert.ok(s.length <= 64, s);
  }
  assert.equal(new Set(segs).size, segs.length, 'distinct names, distinct segments');
  assert.notEqual(segmentOf('a b'), segmentOf('a_b'));
});

test('safe-fs: ensureDir replaces a planted symlink instead of chmodding its target', async (t) => {
  const v = victim(t);
  const root = tmp(t, 'root');
  symlinkSync(v.dir, path.join(root, 'tmp'));
  const dir = await DirFd.openTrusted(root);
  const replaced: string[] = [];
  const sub = await dir.ensureDir('tmp', { mode: 0o1777, onReplaced: (n, kind) => replaced.push(`${n}:${kind}`) });
  await sub.close();
  await dir.close();
  assert.deepEqual(replaced, ['tmp:a symbolic link']);
  assert.equal(statSync(v.dir).mode, v.mode, 'the victim dir keeps its mode');
  assert.equal(lstatSync(path.join(root, 'tmp')).isDirectory(), true);
  assert.equal(statSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777);
});

test('safe-fs: a closed dir is closed once and never acts through its old fd number (which the process may have reused)', async (t) => {
  const root = tmp(t, 'closed');
  const other = tmp(t, 'other');
  const dir = await DirFd.openTrusted(root);
  const fd = dir.fd;
  await dir.close();
  await dir.close(); // idempotent: a second close must not close whatever took the number meanwhile
  // The kernel hands out the lowest free fd: most often this one takes the number back.
  const reuse = await DirFd.openTrusted(other);
  t.diagnostic(`fd ${fd} ${reuse.fd === fd ? 'reused' : `not reused (${reuse.fd})`}`);
  await assert.rejects(dir.ensureDir('x', { mode: 0o755 }), /closed/);
  await assert.rejects(dir.lstat('x'), /closed/);
  assert.throws(() => dir.at('x'), /closed/);
  assert.equal(existsSync(path.join(other, 'x')), false, 'nothing made in the dir that took the number');
  assert.ok((await reuse.stat()).isDirectory(), 'the reused fd is still open');
  await reuse.close();
});

test('safe-fs: openFile never writes through a link', async (t) => {
  const v = victim(t);
  const root = tmp(t, 'root');
  symlinkSync(v.file, path.join(root, 'out.log'));
  const dir = await DirFd.openTrusted(root);
  t.after(() => dir.close());
  await assert.rejects(dir.openFile('out.log', 0o2101 /* O_WRONLY|O_APPEND|O_CREAT */), /ELOOP/);
  assert.equal(readFileSync(v.file, 'utf8'), 'secret\n');
});

test('safe-fs: removeTree deletes links, never what they point at, and survives deep trees', async (t) => {
  const v = victim(t);
  const root = tmp(t, 'root');
  const tree = path.join(root, 'alloc');
  mkdirSync(path.join(tree, 'a', 'b'), { recursive: true });
  symlinkSync(v.dir, path.join(tree, 'a', 'to-dir'));
  symlinkSync(v.file, path.join(tree, 'a', 'b', 'to-file'));
  // deeper than the walk holds fds for: it is moved up and removed from there
  let deep = path.join(tree, 'deep');
  for (let i = 0; i < 100; i++) deep = path.join(deep, 'd');
  mkdirSync(deep, { recursive: true });
  writeFileSync(path.join(deep, 'f'), 'x');
  const dir = await DirFd.openTrusted(root);
  t.after(() => dir.close());
  assert.deepEqual(await dir.removeTree('alloc'), []);
  assert.equal(existsSync(tree), false);
  assert.deepEqual(await dir.list(), [], 'nothing spilled is left');
  assert.equal(readFileSync(v.file, 'utf8'), 'secret\n');
  assert.ok(existsSync(v.dir));
});

test('safe-fs: removeTree empties a big dir (listed through the thread pool)', async (t) => {
  const root = tmp(t, 'root');
  const tree = path.join(root, 'alloc');
  // Past what is listed at once (st_size of a dir grows with its entries).
  mkdirSync(path.join(tree, 'big', 'sub'), { recursive: true });
  for (let i = 0; i < 3000; i++) writeFileSync(path.join(tree, 'big', `a-rather-long-file-name-to-grow-the-directory-${i}`), '');
  writeFileSync(path.join(tree, 'big', 'sub', 'f'), 'x');
  assert.ok(statSync(path.join(tree, 'big')).size > 16384, 'the dir is big enough');
  const dir = await DirFd.openTrusted(root);
  t.after(() => dir.close());
  assert.deepEqual(await dir.removeTree('alloc'), []);
  assert.equal(existsSync(tree), false);
});

test('alloc dir: hostile task names never leave the data dir; links planted at every dir are replaced', async (t) => {
  const data = tmp(t, 'data');
  const v = victim(t);
  for (const name of ['../../../../etc', '..', 'a/b']) {
    const d = await ensureTaskDirs(data, 'A1', name);
    for (const p of [d.taskDir, d.localDir, d.secretsDir, d.tmpDir, d.logDir]) assert.ok(p.startsWith(`${data}/`), p);
    assert.equal(path.dirname(d.taskDir), path.join(data, 'alloc', 'A1'));
  }
  const d = taskDirs(data, 'A1', 'web');
  await ensureTaskDirs(data, 'A1', 'web');
  for (const p of [path.join(d.allocDir, 'tmp'), path.join(d.allocDir, 'data'), d.tmpDir, d.localDir, d.secretsDir, d.allocLogsDir]) {
    rmSync(p, { recursive: true });
    symlinkSync(v.dir, p);
  }
  const replaced: string[] = [];
  await ensureTaskDirs(data, 'A1', 'web', { onReplaced: (p) => replaced.push(p) });
  assert.equal(replaced.length, 6);
  assert.equal(statSync(v.dir).mode, v.mode);
  // the plain executor's view: alloc/logs is a link to the agent-only dir
  await ensureTaskDirs(data, 'A1', 'web', { logsView: 'link' });
  assert.equal(readlinkSync(d.allocLogsDir), d.logDir);
  symlinkSync(v.file, path.join(d.tmpDir, 'planted'));
  assert.deepEqual(await removeAllocDir(data, 'A1'), []);
  assert.equal(existsSync(d.root), false);
  assert.equal(existsSync(d.logDir), false);
  assert.equal(readFileSync(v.file, 'utf8'), 'secret\n');
});
