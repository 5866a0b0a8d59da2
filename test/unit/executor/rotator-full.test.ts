/**
 * FileRotator on a full filesystem: a real tmpfs of 1 MiB (root only), filled
 * with a file; the rotator drops and counts, then writes a marker and goes on
 * once the file is gone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FileRotator, dropMarker, isNoSpace } from '../../../src/executor/logs/rotator.js';
import { requireLinux, requireRoot } from '../../helpers/gates.js';

/** A 1 MiB tmpfs, unmounted and removed after the test. */
function smallFs(t: TestContext): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rot-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d]);
  t.after(() => {
    execFileSync('umount', [d]);
    rmdirSync(d);
  });
  return d;
}

/** Fill the filesystem: write until ENOSPC. */
function fill(file: string): void {
  try {
    writeFileSync(file, Buffer.alloc(8 * 1024 * 1024));
  } catch (err) {
    assert.ok(isNoSpace(err), `expected ENOSPC filling ${file}, got ${String(err)}`);
    return;
  }
  assert.fail(`${file}: expected the filesystem to fill up`);
}

test('file rotator: a full filesystem drops and counts, then a marker precedes the next line', (t) => {
  if (!requireLinux(t) || !requireRoot(t)) return;
  const d = smallFs(t);
  let now = 1000;
  const r = new FileRotator({ logDir: d, task: 'web', stream: 'stdout', maxFiles: 2, maxFileSizeBytes: 64 * 1024, retryAfterMs: 500, now: () => now });
  r.write(Buffer.from('before\n'));
  fill(path.join(d, 'filler'));
  r.write(Buffer.from('lost-one\n'.repeat(1000)));
  const first = r.dropped;
  assert.ok(first.pendingBytes > 0, 'something was dropped');
  assert.equal(first.error, 'ENOSPC');
  assert.equal(first.droppedBytes, first.pendingBytes);
  // Within the retry pause: dropped without a try.
  r.write(Buffer.from('lost-two\n'));
  assert.equal(r.dropped.pendingBytes, first.pendingBytes + 9);
  rmSync(path.join(d, 'filler'));
  now += 499;
  r.write(Buffer.from('lost-three\n'));
  assert.equal(r.dropped.pendingBytes, first.pendingBytes + 9 + 11, 'still within the pause');
  now += 1;
  r.write(Buffer.from('after\n'));
  r.close();
  const dropped = first.pendingBytes + 9 + 11;
  assert.deepEqual(r.dropped, { droppedBytes: dropped, pendingBytes: 0 });
  const text = readFileSync(path.join(d, 'web.stdout.0'), 'utf8');
  assert.ok(text.startsWith('before\n'), text.slice(0, 100));
  assert.ok(text.endsWith(`${dropMarker(dropped, 'ENOSPC')}after\n`), text.slice(-200));
  assert.match(dropMarker(dropped, 'ENOSPC'), /^\[tend: \d+ bytes dropped: no space left on device\]\n$/);
});

test('file rotator: opens its file once there is room when the filesystem was full at start', (t) => {
  if (!requireLinux(t) || !requireRoot(t)) return;
  const d = smallFs(t);
  fill(path.join(d, 'filler'));
  // tmpfs creates an empty file on a full filesystem; the first write is what fails.
  const r = new FileRotator({ logDir: d, task: 'api', stream: 'stderr', maxFiles: 2, maxFileSizeBytes: 1024, retryAfterMs: 0 });
  r.write(Buffer.from('partial line without end'));
  assert.equal(r.dropped.pendingBytes, 24);
  rmSync(path.join(d, 'filler'));
  r.write(Buffer.from('next\n'));
  r.close();
  assert.equal(readFileSync(path.join(d, 'api.stderr.0'), 'utf8'), `${dropMarker(24, 'ENOSPC')}next\n`);
});

test('file rotator: a marker after a partly written line starts on a line of its own', (t) => {
  if (!requireLinux(t) || !requireRoot(t)) return;
  const d = smallFs(t);
  const r = new FileRotator({ logDir: d, task: 'w', stream: 'stdout', maxFiles: 2, maxFileSizeBytes: 1024 * 1024, retryAfterMs: 0 });
  r.write(Buffer.from('no newline yet'));
  fill(path.join(d, 'filler'));
  r.write(Buffer.alloc(8192, 0x61));
  assert.ok(r.dropped.pendingBytes > 0);
  rmSync(path.join(d, 'filler'));
  r.write(Buffer.from('ok\n'));
  r.close();
  const text = readFileSync(path.join(d, 'w.stdout.0'), 'utf8');
  assert.match(text, /\n\[tend: \d+ bytes dropped: no space left on device\]\nok\n$/);
  const m = /\[tend: (\d+) bytes/.exec(text)!;
  assert.equal(Number(m[1]) + text.indexOf('\n[tend:') - 'no newline yet'.length, 8192, 'dropped + written of the chunk = the chunk');
});
