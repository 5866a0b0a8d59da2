import assert from 'node:assert/strict';
import { test } from 'node:test';
import { K8sFileParser, parseRecord } from '../../../src/executor/logs/k8s-file.js';

const TS = '2024-05-01T10:00:00.123456789+00:00';

test('k8s-file parser: full and partial records become the original streams', () => {
  const p = new K8sFileParser();
  const text = [`${TS} stdout P hel`, `${TS} stdout F lo`, `${TS} stderr F oops`, `${TS} stdout F `, `${TS} stdout F with spaces  inside`].join('\n') + '\n';
  const out = p.push(Buffer.from(text));
  assert.deepEqual(
    out.map((c) => [c.stream, c.data.toString()]),
    [
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
      ['stdout', '\nwith spaces  inside\n'],
    ],
  );
});

test('k8s-file parser: a record split across chunks is kept until its newline', () => {
  const p = new K8sFileParser();
  const line = Buffer.from(`${TS} stderr F split here\n`);
  assert.deepEqual(p.push(line.subarray(0, 20)), []);
  assert.equal(p.pendingBytes, 20);
  const out = p.push(line.subarray(20));
  assert.equal(out.length, 1);
  assert.equal(out[0].stream, 'stderr');
  assert.equal(out[0].data.toString(), 'split here\n');
  assert.equal(p.pendingBytes, 0);
});

test('k8s-file parser: malformed lines are skipped, flagless records are full lines', () => {
  assert.equal(parseRecord(Buffer.from('garbage')), undefined);
  assert.equal(parseRecord(Buffer.from(`${TS} stdin F x`)), undefined);
  assert.equal(parseRecord(Buffer.from(`${TS} stdout F`))?.data.toString(), '\n');
  assert.equal(parseRecord(Buffer.from(`${TS} stdout old style`))?.data.toString(), 'old style\n');
});
