import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readLogs } from '../../../src/executor/logs/reader.js';
import { FileRotator } from '../../../src/executor/logs/rotator.js';
import { waitFor } from '../../helpers/wait.js';

function dir(t: { after(fn: () => void): void }) {
  const d = mkdtempSync(path.join(tmpdir(), 'rd-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts).toString();
}

test('readLogs: reads rotated files in index order', async (t) => {
  const d = dir(t);
  writeFileSync(path.join(d, 't.stdout.10'), 'c\n');
  writeFileSync(path.join(d, 't.stdout.9'), 'b\n');
  writeFileSync(path.join(d, 't.stdout.8'), 'a\n');
  writeFileSync(path.join(d, 't.stderr.8'), 'nope\n');
  assert.equal(await collect(readLogs({ logDir: d, task: 't', stream: 'stdout' })), 'a\nb\nc\n');
  assert.equal(await collect(readLogs({ logDir: d, task: 'missing', stream: 'stdout' })), '');
});

test('readLogs: tail counts lines back across files', async (t) => {
  const d = dir(t);
  writeFileSync(path.join(d, 't.stdout.0'), 'l1\nl2\nl');
  writeFileSync(path.join(d, 't.stdout.1'), '3\nl4\n');
  const tail = (n: number) => collect(readLogs({ logDir: d, task: 't', stream: 'stdout', tail: n }));
  assert.equal(await tail(1), 'l4\n');
  assert.equal(await tail(2), 'l3\nl4\n');
  assert.equal(await tail(4), 'l1\nl2\nl3\nl4\n');
  assert.equal(await tail(10), 'l1\nl2\nl3\nl4\n');
  assert.equal(await tail(0), '');
});

test('readLogs: follow keeps up across rotations and deleted files', async (t) => {
  const d = dir(t);
  const ac = new AbortController();
  const r = new FileRotator({ logDir: d, task: 't', stream: 'stdout', maxFiles: 2, maxFileSizeBytes: 16 });
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i}\n`);
  const want = lines.join('');
  let got = '';
  const reading = (async () => {
    for await (const b of readLogs({ logDir: d, task: 't', stream: 'stdout', follow: true, signal: ac.signal, pollMs: 20 })) {
      got += b.toString();
      if (got.length >= want.length) ac.abort();
    }
  })();
  // Each write rotates at least once; the reader must have it all before the next one (2 files are kept).
  let written = '';
  for (const l of lines) {
    r.write(Buffer.from(l));
    written += l;
    await waitFor(() => got === written, { what: `the reader to follow ${JSON.stringify(l)}` });
  }
  r.close();
  await reading;
  assert.equal(got, want);
});
