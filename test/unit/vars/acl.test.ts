import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskAcl, taskReader } from '../../../src/vars/acl.js';
import { isTendError } from '../../../src/errors.js';
import type { Variable, VariableChange, VariableMetadata, VariablePolicy, VariableReader, WatchTarget } from '../../../src/vars/vars.js';

const id = { job: 'a', group: 'g', task: 't' };

/** A reader over fixed variables that records what reached it. */
function fakeReader(paths: string[]) {
  const vars = new Map(paths.map((p, i) => [p, { path: p, items: { k: `v${i}` }, createIndex: i + 1, modifyIndex: i + 1, createTime: 0, modifyTime: 0 } as Variable]));
  const watchers: { target: WatchTarget; fn: (c: VariableChange) => void }[] = [];
  const asked: string[] = [];
  const reader: VariableReader = {
    get: (p) => (asked.push(p), vars.get(p)),
    exists: (p) => (asked.push(p), vars.has(p)),
    list: (prefix = '') => [...vars.values()].filter((v) => v.path.startsWith(prefix)).map(({ items: _i, ...m }) => m as VariableMetadata),
    watch(target, fn) {
      const w = { target, fn };
      watchers.push(w);
      return () => watchers.splice(watchers.indexOf(w), 1);
    },
  };
  const emit = (c: VariableChange) => {
    for (const w of watchers) if ('path' in w.target ? w.target.path === c.path : c.path.startsWith(w.target.prefix)) w.fn(c);
  };
  return { reader, asked, emit };
}

test('acl: a task reads exactly its implicit workload paths, read and list', () => {
  const acl = new TaskAcl(id);
  for (const p of ['nomad/jobs', 'nomad/jobs/a', 'nomad/jobs/a/g', 'nomad/jobs/a/g/t']) {
    assert.ok(acl.allows(p, 'read'), p);
    assert.ok(acl.allows(p, 'list'), p);
  }
});

test('acl: the attacker — other jobs, prefixes, sub-paths and look-alikes are denied', () => {
  const acl = new TaskAcl(id);
  const denied = [
    'nomad/jobs/ab', // job "a" is a prefix of job "ab"
    'nomad/jobs/a/../b',
    'nomad/jobs/b',
    'nomad/jobs/a/h', // another group of the same job
    'nomad/jobs/a/g/u', // a sibling task
    'nomad/jobs/a/g/t/x', // below the task's own path: Nomad compares whole paths
    'nomad/jobs/a/g/tt',
    'nomad/jobs/a/',
    'nomad/jobs/a//g',
    '/nomad/jobs/a',
    'nomad/jobs/',
    'nomad',
    'shared/x',
    'NOMAD/jobs/a',
  ];
  for (const p of denied) assert.equal(acl.allows(p, 'read'), false, p);
});

test('acl: a task whose identity holds "/" is refused (a periodic child reads as its parent)', () => {
  assert.throws(() => new TaskAcl({ job: 'web/periodic-1', group: 'g', task: 't' }), /expected a job name without "\/"/);
  assert.throws(() => new TaskAcl({ job: 'a', group: '', task: 't' }), /expected a group name/);
});

test('acl: policies grant by glob, for the jobs, groups and tasks they name', () => {
  const policies: VariablePolicy[] = [
    { name: 'shared', paths: [{ pattern: 'shared/*', capabilities: ['read'] }] },
    { name: 'only-b', job: 'b', paths: [{ pattern: 'b-only/*', capabilities: ['read'] }] },
    { name: 'only-a-g-t', job: 'a', group: 'g', task: 't', paths: [{ pattern: 'exact/path', capabilities: ['read'] }] },
    { name: 'only-a-h', job: 'a', group: 'h', paths: [{ pattern: 'h/*', capabilities: ['read'] }] },
    { name: 'list-only', paths: [{ pattern: 'listed/*', capabilities: ['list'] }] },
  ];
  const acl = new TaskAcl(id, policies);
  assert.ok(acl.allows('shared/db', 'read'));
  assert.ok(acl.allows('shared/a/b/c', 'read'), '* crosses "/" as Nomad\'s glob');
  assert.equal(acl.allows('shared', 'read'), false, '"shared/*" does not match "shared"');
  assert.equal(acl.allows('b-only/x', 'read'), false);
  assert.ok(acl.allows('exact/path', 'read'));
  assert.equal(acl.allows('exact/path/x', 'read'), false);
  assert.equal(acl.allows('h/x', 'read'), false);
  assert.ok(acl.allows('listed/x', 'list'));
  assert.equal(acl.allows('listed/x', 'read'), false);
});

test('acl: Nomad\'s precedence — exact beats implicit, implicit beats globs, the closest glob wins, deny wins on its pattern', () => {
  const acl = new TaskAcl(id, [
    { name: 'p1', paths: [{ pattern: 'nomad/jobs/*', capabilities: ['deny'] }, { pattern: 'nomad/jobs', capabilities: ['list'] }] },
    { name: 'p2', paths: [{ pattern: 'nomad/jobs/a/g/secret', capabilities: ['deny'] }] },
    { name: 'p3', paths: [{ pattern: 'app/*', capabilities: ['read'] }, { pattern: 'app/private/*', capabilities: ['deny'] }] },
    { name: 'p4', paths: [{ pattern: 'mixed/*', capabilities: ['read'] }] },
    { name: 'p5', paths: [{ pattern: 'mixed/*', capabilities: ['deny'] }] },
  ]);
  // The implicit paths stay readable: a wildcard deny does not override them (more specific).
  assert.ok(acl.allows('nomad/jobs/a', 'read'));
  assert.ok(acl.allows('nomad/jobs/a/g/t', 'read'));
  // An exact policy path beats the implicit one: only list on nomad/jobs now.
  assert.ok(acl.allows('nomad/jobs', 'list'));
  assert.equal(acl.allows('nomad/jobs', 'read'), false);
  assert.equal(acl.allows('nomad/jobs/a/g/secret', 'read'), false);
  assert.equal(acl.allows('nomad/jobs/b', 'read'), false);
  // The closest glob decides.
  assert.ok(acl.allows('app/config', 'read'));
  assert.equal(acl.allows('app/private/key', 'read'), false);
  // Two policies on one pattern: deny wins.
  assert.equal(acl.allows('mixed/x', 'read'), false);
});

test('acl reader: denied reads throw a clear error; the store is never asked', () => {
  const { reader, asked } = fakeReader(['nomad/jobs/a', 'nomad/jobs/ab', 'nomad/jobs/b/g/t']);
  const r = taskReader(reader, id);
  assert.equal(r.get('nomad/jobs/a')?.items.k, 'v0');
  assert.equal(r.exists('nomad/jobs/a/g'), false);
  for (const p of ['nomad/jobs/ab', 'nomad/jobs/b/g/t', 'nomad/jobs/a/g/t/x']) {
    assert.throws(
      () => r.get(p),
      (err) => isTendError(err, 'E_PERMISSION_DENIED') && err.message === `Permission denied reading variable ${p} for task a/g/t`,
    );
    assert.throws(() => r.exists(p), (err) => isTendError(err, 'E_PERMISSION_DENIED'));
  }
  // Odd characters are invalid before they are a question of permission.
  assert.throws(() => r.get('nomad/jobs/a/../b'), (err) => isTendError(err, 'E_VAR_INVALID'));
  assert.throws(() => r.get('nomad/jobs/a\0'), (err) => isTendError(err, 'E_VAR_INVALID'));
  assert.deepEqual(asked, ['nomad/jobs/a', 'nomad/jobs/a/g']);
});

test('acl reader: list and prefix watches are filtered; a path watch on a denied path throws', () => {
  const { reader, emit } = fakeReader(['nomad/jobs', 'nomad/jobs/a', 'nomad/jobs/a/g', 'nomad/jobs/ab', 'nomad/jobs/a/g/t', 'nomad/jobs/a/g/t/deeper', 'nomad/jobs/b']);
  const r = taskReader(reader, id);
  assert.deepEqual(
    r.list('nomad/jobs').map((m) => m.path),
    ['nomad/jobs', 'nomad/jobs/a', 'nomad/jobs/a/g', 'nomad/jobs/a/g/t'],
  );
  assert.deepEqual(r.list('nomad/jobs/b'), []);
  const seen: string[] = [];
  const off = r.watch({ prefix: 'nomad/jobs/' }, (c) => seen.push(c.path));
  emit({ path: 'nomad/jobs/b', modifyIndex: 9 });
  emit({ path: 'nomad/jobs/a', modifyIndex: 10 });
  emit({ path: 'nomad/jobs/ab', modifyIndex: 11 });
  assert.deepEqual(seen, ['nomad/jobs/a']);
  off();
  assert.throws(() => r.watch({ path: 'nomad/jobs/b' }, () => {}), (err) => isTendError(err, 'E_PERMISSION_DENIED'));
  const mine: (number | undefined)[] = [];
  r.watch({ path: 'nomad/jobs/a/g/t' }, (c) => mine.push(c.modifyIndex));
  emit({ path: 'nomad/jobs/a/g/t', modifyIndex: 12 });
  assert.deepEqual(mine, [12]);
});
