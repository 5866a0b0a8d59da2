import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileRotator, listLogIndexes } from '../../../src/executor/logs/rotator.js';

function dir(t: { after(fn: () => void): void }) {
  const d = mkdtempSync(path.join(tmpdir(), 'rot-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('file rotator: splits at the size limit and keeps at most maxFiles', (t) => {
  const d = dir(t);
  const r = new FileRotator({ logDir: d, task: 'web', stream: 'stdout', maxFiles: 3, maxFileSizeBytes: 10 });
  const data = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'); // 46 bytes → files 0..4
  r.write(data.subarray(0, 7));
  r.write(data.subarray(7));
  r.close();
  assert.deepEqual(listLogIndexes(d, 'web', 'stdout'), [2, 3, 4]);
  const kept = [2, 3, 4].map((n) => readFileSync(path.join(d, `web.stdout.${n}`), 'utf8')).join('');
  assert.equal(kept, data.subarray(20).toString(), 'the newest bytes survive, in order');
  assert.equal(readFileSync(path.join(d, 'web.stdout.2'), 'utf8').length, 10);
});

test('file rotator: resumes after the highest existing index', (t) => {
  const d = dir(t);
  writeFileSync(path.join(d, 'web.stderr.0'), 'old0');
  writeFileSync(path.join(d, 'web.stderr.5'), '12345');
  writeFileSync(path.join(d, 'web.stderr.x'), 'not ours');
  const r = new FileRotator({ logDir: d, task: 'web', stream: 'stderr', maxFiles: 2, maxFileSizeBytes: 8 });
  assert.equal(r.index, 5);
  r.write(Buffer.from('6789'));
  r.close();
  assert.equal(readFileSync(path.join(d, 'web.stderr.5'), 'utf8'), '12345678');
  assert.equal(readFileSync(path.join(d, 'web.stderr.6'), 'utf8'), '9');
  assert.deepEqual(readdirSync(d).sort(), ['.web.stderr.5.times', '.web.stderr.6.times', 'web.stderr.5', 'web.stderr.6', 'web.stderr.x']);
});
