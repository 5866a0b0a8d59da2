import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertPath, assertPrefix, checkItems, itemsSize, MAX_ITEMS_BYTES, pathProblem } from '../../../src/vars/path.js';
import { isTendError } from '../../../src/errors.js';

test('variable path: Nomad\'s characters and length are accepted', () => {
  for (const p of ['a', 'secret/creds', 'nomad/jobs', 'nomad/jobs/web/api/server', 'x-y_z~w', 'A9/b8', 'x'.repeat(128), 'nomad/job-templates/t']) {
    assert.equal(pathProblem(p), undefined, p);
  }
  // As Nomad's regex: the path is a key, so leading, trailing and doubled slashes are allowed.
  for (const p of ['/a', 'a/', 'a//b']) assert.equal(pathProblem(p), undefined, p);
});

test('variable path: dots, odd characters, length and emptiness are refused with the path named', () => {
  const bad = ['', 'a/../b', '..', '.', 'a.b', 'a b', 'a@default', 'a\0b', 'a\nb', 'é', 'a%2Fb', 'a\\b', 'x'.repeat(129), '*'];
  for (const p of bad) {
    const problem = pathProblem(p);
    assert.ok(problem, `${JSON.stringify(p)} accepted`);
  }
  assert.match(pathProblem('x'.repeat(129))!, /at most 128 bytes, got 129/);
  assert.match(pathProblem('a/../b')!, /invalid variable path "a\/\.\.\/b"/);
  assert.throws(() => assertPath('a b'), (err) => isTendError(err, 'E_VAR_INVALID') && /"a b"/.test(err.message));
  assert.throws(() => assertPath(42), (err) => isTendError(err, 'E_VAR_INVALID'));
});

test('variable path: the nomad/ tree is reserved as in Nomad', () => {
  assert.match(pathProblem('nomad')!, /"nomad" is a reserved top-level directory path/);
  assert.match(pathProblem('nomad/other')!, /only paths at "nomad\/jobs" or "nomad\/job-templates"/);
  assert.match(pathProblem('nomad/job-templates')!, /reserved directory path/);
  assert.match(pathProblem('nomad/job-templates/a/b')!, /reserved directory path/);
  assert.equal(pathProblem('nomads/x'), undefined);
  assert.equal(pathProblem('nomad/jobs/a/b/c/d/e'), undefined);
});

test('variable prefix: empty or path characters only', () => {
  assert.equal(assertPrefix(''), '');
  assert.equal(assertPrefix('nomad/jo'), 'nomad/jo');
  assert.throws(() => assertPrefix('a/..'), (err) => isTendError(err, 'E_VAR_INVALID'));
});

test('variable items: strings only, at least one, non-empty keys, 64 KiB of keys and values', () => {
  assert.deepEqual(checkItems({ a: '1', b: '' }, 'v'), { a: '1', b: '' });
  assert.throws(() => checkItems({}, 'v'), /empty variables are invalid/);
  assert.throws(() => checkItems({ a: 1 }, 'v'), /items\.a: expected a string, got number/);
  assert.throws(() => checkItems({ a: null }, 'v'), /items\.a: expected a string, got null/);
  assert.throws(() => checkItems({ '': 'x' }, 'v'), /non-empty keys/);
  assert.throws(() => checkItems(['a'], 'v'), /expected a map of strings, got a list/);
  assert.throws(() => checkItems('a', 'v'), /expected a map of strings, got string/);
  // Exactly the limit passes; one byte more fails (multi-byte characters count in bytes).
  const k = 'key';
  assert.ok(checkItems({ [k]: 'x'.repeat(MAX_ITEMS_BYTES - k.length) }, 'v'));
  assert.throws(() => checkItems({ [k]: 'x'.repeat(MAX_ITEMS_BYTES - k.length + 1) }, 'v'), /limited to 64KiB in total size: items take 65537 bytes/);
  assert.equal(itemsSize({ é: 'ü' }), 4);
  // A value never appears in a message.
  try {
    checkItems({ a: 'x'.repeat(MAX_ITEMS_BYTES) }, 'v');
    assert.fail('expected a size error');
  } catch (err) {
    assert.ok(!String((err as Error).message).includes('xxxx'));
  }
});

test('variable items: a "__proto__" key stays a key, never the prototype', () => {
  const parsed = JSON.parse('{"__proto__": "s3cret", "a": "1"}');
  const items = checkItems(parsed, 'v');
  assert.deepEqual(Object.keys(items).sort(), ['__proto__', 'a']);
  assert.equal(Object.getPrototypeOf(items), Object.prototype);
  assert.equal(({} as Record<string, unknown>).s3cret, undefined);
});
