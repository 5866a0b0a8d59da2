import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ndjsonLines } from '../../../src/api/ndjson.js';

test('ndjson: a line longer than the limit is an error, shorter ones pass', async () => {
  async function* chunks(...c: string[]) {
    yield* c;
  }
  const got: unknown[] = [];
  const more: unknown[] = [];
  for await (const v of ndjsonLines(chunks('{"a":1}\n{"b"', ':2}\n'), 10)) got.push(v);
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }]);
  await assert.rejects(async () => {
    for await (const v of ndjsonLines(chunks('{"a":"', 'x'.repeat(20)), 10)) more.push(v);
  }, /expected lines of at most 10 characters/);
});
