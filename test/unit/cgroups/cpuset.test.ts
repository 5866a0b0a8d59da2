import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTendError } from '../../../src/errors.js';
import { CpusetPool, formatCpuList, parseCpuList } from '../../../src/cgroups/cpuset.js';

test('parseCpuList: ranges and singles, sorted and deduplicated', () => {
  assert.deepEqual(parseCpuList('0-3,6\n'), [0, 1, 2, 3, 6]);
  assert.deepEqual(parseCpuList('5,1-2,2'), [1, 2, 5]);
  assert.deepEqual(parseCpuList('\n'), []);
  assert.throws(() => parseCpuList('a-b'), /expected ranges like "0-3,6", got "a-b"/);
});

test('formatCpuList: prints what the kernel prints', () => {
  assert.equal(formatCpuList([3, 0, 1, 2, 6]), '0-3,6');
  assert.equal(formatCpuList([1]), '1');
  assert.equal(formatCpuList([]), '');
  assert.equal(formatCpuList([0, 2, 4, 5]), '0,2,4-5');
});

test('CpusetPool: reserved cores are never available', () => {
  const pool = new CpusetPool([0, 1, 2, 3], [0]);
  assert.deepEqual(pool.available, [1, 2, 3]);
  assert.deepEqual(pool.shared(), [1, 2, 3]);
});

test('CpusetPool: reservations are exclusive and leave the shared pool', () => {
  const pool = new CpusetPool([0, 1, 2, 3]);
  const a = pool.reserve('a', 2);
  const b = pool.reserve('b', 1);
  assert.deepEqual(a, [0, 1]);
  assert.deepEqual(b, [2]);
  assert.deepEqual(pool.shared(), [3]);
  assert.deepEqual(pool.assignments(), { a: [0, 1], b: [2] });
});

test('CpusetPool: reserve is idempotent for the same id and count', () => {
  const pool = new CpusetPool([0, 1, 2, 3]);
  const first = pool.reserve('a', 2);
  assert.deepEqual(pool.reserve('a', 2), first);
  assert.deepEqual(pool.shared(), [2, 3]);
});

test('CpusetPool: a new count for the same id keeps what it held first', () => {
  const pool = new CpusetPool([0, 1, 2, 3]);
  pool.reserve('x', 1); // 0
  pool.reserve('a', 1); // 1
  pool.release('x');
  assert.deepEqual(pool.reserve('a', 2), [0, 1]);
  assert.deepEqual(pool.reserve('a', 1), [1]);
});

test('CpusetPool: release returns the cores to the shared pool', () => {
  const pool = new CpusetPool([0, 1]);
  pool.reserve('a', 2);
  assert.deepEqual(pool.shared(), []);
  pool.release('a');
  assert.deepEqual(pool.shared(), [0, 1]);
  pool.release('never-held');
});

test('CpusetPool: not enough free cores is an error and changes nothing', () => {
  const pool = new CpusetPool([0, 1, 2], [2]);
  pool.reserve('a', 1);
  assert.throws(
    () => pool.reserve('b', 2),
    (err: unknown) => isTendError(err, 'E_CGROUP') && /failed to reserve 2 cpus for b: 1 free of 2/.test((err as Error).message),
  );
  assert.deepEqual(pool.assignments(), { a: [0] });
});

test('CpusetPool: a count that is not a positive integer is rejected', () => {
  const pool = new CpusetPool([0, 1]);
  assert.throws(() => pool.reserve('a', 0), /expected a positive integer count, got 0/);
  assert.throws(() => pool.reserve('a', 1.5), /got 1.5/);
});

test('CpusetPool: adopt records an existing assignment and refuses a clash', () => {
  const pool = new CpusetPool([0, 1, 2, 3]);
  pool.adopt('a', [3, 2]);
  assert.deepEqual(pool.assignments(), { a: [2, 3] });
  assert.deepEqual(pool.reserve('b', 2), [0, 1]);
  assert.throws(() => pool.adopt('c', [1]), /failed to adopt cpus 1 for c: cpu 1 is held by b/);
  pool.adopt('a', []);
  assert.deepEqual(pool.assignments(), { b: [0, 1] });
});

test('CpusetPool: assignments are copies', () => {
  const pool = new CpusetPool([0, 1]);
  pool.reserve('a', 1);
  pool.assignments().a.push(1);
  assert.deepEqual(pool.assignments(), { a: [0] });
});
