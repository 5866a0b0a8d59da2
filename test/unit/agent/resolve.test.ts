import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveQuery, suggestTasks } from '../../../src/agent/resolve.js';
import { ambiguousMessage, notFoundMessage } from '../../../src/api/task-errors.js';

const ids = ['web/frontend[0]/server', 'web/frontend[1]/server', 'hello/hello[0]/hello', 'crashfail/app[0]/app'];

test('resolve: prefixes, and alloc id prefixes of at least 4 hex digits (every task of that allocation)', () => {
  const allocs = new Map([
    ['web/frontend[0]/server', '9d8c1b1e-9d75-f536-0652-ca9f64c3336e'],
    ['web/frontend[1]/server', '1a2b3c4d-0000-0000-0000-000000000000'],
  ]);
  assert.deepEqual(resolveQuery('web/server', ids, allocs), ['web/frontend[0]/server', 'web/frontend[1]/server']);
  assert.deepEqual(resolveQuery('9d8c1b1e', ids, allocs), ['web/frontend[0]/server']);
  assert.deepEqual(resolveQuery('9d8c', ids, allocs), ['web/frontend[0]/server']);
  assert.deepEqual(resolveQuery('9d8', ids, allocs), [], 'too short to be an alloc id');
  assert.deepEqual(resolveQuery('9d8c1b1e', ids), [], 'no alloc ids known');
});

test('resolve: a query that matches nothing gets "did you mean": job[i] → its instances at i; a mistyped job → the corrected query; else the nearest id', () => {
  assert.deepEqual(suggestTasks('web[0]', ids), ['web/frontend[0]/server']);
  assert.deepEqual(suggestTasks('frontend[1]', ids), ['web/frontend[1]/server']);
  assert.deepEqual(suggestTasks('helo', ids), ['hello/hello[0]/hello'], 'one instance: its id');
  assert.deepEqual(suggestTasks('wbe/frontend', ids), ['web/frontend'], 'several: the corrected query');
  assert.deepEqual(suggestTasks('web/frontend[0]/sever', ids), ['web/frontend[0]/server']);
  assert.deepEqual(suggestTasks('zzzz', ids), []);
});

test('task errors: not found names the candidates or where to look; ambiguous lists the instances to name one', () => {
  assert.equal(notFoundMessage('web[0]', ['web/frontend[0]/server']), 'task "web[0]" not found; did you mean "web/frontend[0]/server"?');
  assert.equal(notFoundMessage('x', ['a', 'b']), 'task "x" not found; did you mean one of "a", "b"?');
  assert.equal(notFoundMessage('zzzz', []), 'task "zzzz" not found (tendctl status lists the tasks)');
  assert.equal(ambiguousMessage('web', ids.slice(0, 2)), 'task "web" matches 2 instances; name one:\n  web/frontend[0]/server\n  web/frontend[1]/server');
});
