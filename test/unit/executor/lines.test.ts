import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileRotator } from '../../../src/executor/logs/rotator.js';
import { LogLineReader, readLogLines, type LogLine } from '../../../src/executor/logs/lines.js';
import { interleave, mergeByTime } from '../../../src/executor/logs/merge.js';
import { TimesIndex, timesFilePath } from '../../../src/executor/logs/times.js';
import { K8sFileParser } from '../../../src/executor/logs/k8s-file.js';

function dir(t: { after(fn: () => void): void }) {
  const d = mkdtempSync(path.join(tmpdir(), 'lines-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const show = (ls: LogLine[]) => ls.map((l) => `${l.time ?? '-'} ${l.text.toString()}${l.partial ? ' (partial)' : ''}`);

/** A rotator whose clock is `clock.now`. */
function rotator(d: string, clock: { now: number }, o: { maxFiles?: number; maxFileSizeBytes?: number; task?: string } = {}) {
  return new FileRotator({ logDir: d, task: o.task ?? 't', stream: 'stdout', maxFiles: o.maxFiles ?? 5, maxFileSizeBytes: o.maxFileSizeBytes ?? 1 << 20, now: () => clock.now });
}

test('log times: the rotator records when each chunk was written, beside the file, without changing it', async (t) => {
  const d = dir(t);
  const clock = { now: 1000 };
  const r = rotator(d, clock);
  r.write(Buffer.from('a1\na2\n'));
  clock.now = 2000;
  r.write(Buffer.from('b1\nb'));
  r.write(Buffer.from('2\n')); // same time: no new entry
  clock.now = 3000;
  r.write(Buffer.from('c1\n'));
  r.close();
  assert.equal(readFileSync(path.join(d, 't.stdout.0'), 'utf8'), 'a1\na2\nb1\nb2\nc1\n');
  assert.equal(readFileSync(timesFilePath(d, 't', 'stdout', 0), 'utf8'), '0 1000\n6 2000\n12 3000\n');
  assert.deepEqual(show(await all(readLogLines({ logDir: d, task: 't', stream: 'stdout' }))), ['1000 a1', '1000 a2', '2000 b1', '2000 b2', '3000 c1']);
});

test('log times: rotation splits a chunk and its times; old times files go with their log files', async (t) => {
  const d = dir(t);
  const clock = { now: 5000 };
  const r = rotator(d, clock, { maxFiles: 2, maxFileSizeBytes: 8 });
  r.write(Buffer.from('aaa\nbbb\nccc\n'), [{ offset: 0, ms: 100 }, { offset: 4, ms: 200 }, { offset: 8, ms: 300 }]);
  r.write(Buffer.from('ddd\neee\n'));
  r.close();
  // Files 0..2 written, 0 deleted (maxFiles 2) with its times.
  assert.deepEqual(readdirSync(d).sort(), ['.t.stdout.1.times', '.t.stdout.2.times', 't.stdout.1', 't.stdout.2']);
  assert.deepEqual(show(await all(readLogLines({ logDir: d, task: 't', stream: 'stdout' }))), ['300 ccc', '5000 ddd', '5000 eee']);
});

test('log lines: since skips older files and lines; tail and since together; untimed lines', async (t) => {
  const d = dir(t);
  const clock = { now: 0 };
  const r = rotator(d, clock, { maxFileSizeBytes: 6 });
  for (let i = 1; i <= 6; i++) {
    clock.now = i * 1000;
    r.write(Buffer.from(`l${i}\n`));
  }
  r.close();
  const read = (o: { since?: number; tail?: number }) => all(readLogLines({ logDir: d, task: 't', stream: 'stdout', ...o })).then(show);
  assert.deepEqual(await read({ since: 3500 }), ['4000 l4', '5000 l5', '6000 l6']);
  assert.deepEqual(await read({ since: 3000 }), ['3000 l3', '4000 l4', '5000 l5', '6000 l6']);
  assert.deepEqual(await read({ since: 3000, tail: 2 }), ['5000 l5', '6000 l6']);
  assert.deepEqual(await read({ since: 5500, tail: 5 }), ['6000 l6']);
  assert.deepEqual(await read({ since: 9000 }), []);
  assert.deepEqual(await read({ tail: 1 }), ['6000 l6']);
  // A file from before times were kept: its lines have none, and since drops them.
  writeFileSync(path.join(d, 'old.stdout.0'), 'x\ny');
  assert.deepEqual(show(await all(readLogLines({ logDir: d, task: 'old', stream: 'stdout' }))), ['- x', '- y (partial)']);
  assert.deepEqual(show(await all(readLogLines({ logDir: d, task: 'old', stream: 'stdout', since: 0 }))), []);
});

test('log lines: a held partial line is read whole by the next read from the position', async (t) => {
  const d = dir(t);
  const clock = { now: 10 };
  const r = rotator(d, clock);
  r.write(Buffer.from('one\ntw'));
  const first = new LogLineReader({ logDir: d, task: 't', stream: 'stdout', holdPartial: true });
  assert.deepEqual(show(await all(first.lines())), ['10 one']);
  assert.deepEqual(first.position, { index: 0, offset: 4 });
  clock.now = 20;
  r.write(Buffer.from('o\nthree\n'));
  r.close();
  const next = new LogLineReader({ logDir: d, task: 't', stream: 'stdout', from: first.position });
  assert.deepEqual(show(await all(next.lines())), ['10 two', '20 three']);
});

test('log lines: following gives out a line still without its newline after partialAfterMs', async (t) => {
  const d = dir(t);
  const r = rotator(d, { now: 7 });
  r.write(Buffer.from('prompt> '));
  const ac = new AbortController();
  const got: string[] = [];
  for await (const l of readLogLines({ logDir: d, task: 't', stream: 'stdout', follow: true, pollMs: 10, partialAfterMs: 30, signal: ac.signal })) {
    got.push(`${l.text}${l.partial ? '|' : ''}`);
    if (got.length === 1) r.write(Buffer.from('typed\n'));
    if (got.length === 2) ac.abort();
  }
  r.close();
  assert.deepEqual(got, ['prompt> |', 'typed']);
});

test('log lines: conmon timestamps become the lines times', async (t) => {
  const d = dir(t);
  const r = rotator(d, { now: 99 });
  const p = new K8sFileParser();
  const text = '2026-01-01T00:00:01.000000000Z stdout F first\n2026-01-01T00:00:02.500000000Z stdout P sec\n2026-01-01T00:00:03Z stdout F ond\n';
  for (const c of p.push(Buffer.from(text))) r.write(c.data, c.marks);
  r.close();
  assert.deepEqual(
    (await all(readLogLines({ logDir: d, task: 't', stream: 'stdout' }))).map((l) => [new Date(l.time!).toISOString(), l.text.toString()]),
    [
      ['2026-01-01T00:00:01.000Z', 'first'],
      ['2026-01-01T00:00:02.500Z', 'second'],
    ],
  );
});

test('log times: of two entries at one offset the later wins; a torn last entry waits', (t) => {
  const d = dir(t);
  const f = path.join(d, 'x.times');
  writeFileSync(f, '0 5\n10 6\n10 7\n2');
  const idx = new TimesIndex(f);
  assert.equal(idx.at(0), 5);
  assert.equal(idx.at(9), 5);
  assert.equal(idx.at(10), 7);
  appendFileSync(f, '0 8\n');
  idx.refresh();
  assert.equal(idx.at(25), 8);
  assert.equal(idx.firstAtOrAfter(7), 10);
  assert.equal(idx.lastMs, 8);
});

async function* from(lines: LogLine[]): AsyncGenerator<LogLine> {
  yield* lines;
}

test('log merge: by time across instances, untimed first, ties in source order', async () => {
  const l = (text: string, time?: number): LogLine => ({ text: Buffer.from(text), ...(time !== undefined ? { time } : {}) });
  const merged = await all(mergeByTime([from([l('a1', 1), l('a3', 3)]), from([l('b0'), l('b2', 2), l('b3', 3)]), from([])]));
  assert.deepEqual(merged.map((m) => `${m.source}:${m.line.text}`), ['1:b0', '0:a1', '1:b2', '0:a3', '1:b3']);
});

test('log merge: interleave gives lines as they come and stops on abort', async () => {
  const ac = new AbortController();
  // Sources that give a line when the test says so.
  const gates = new Map<string, () => void>();
  const released = (key: string) => new Promise<void>((r) => gates.set(key, r));
  async function* source(name: string, n: number) {
    for (let i = 0; i < n; i++) {
      await released(`${name}${i}`);
      yield `${name}${i}`;
    }
  }
  const it = interleave([source('a', 3), source('b', 100)], ac.signal)[Symbol.asyncIterator]();
  const next = async (key: string) => {
    const line = it.next();
    while (!gates.has(key)) await new Promise<void>((r) => setImmediate(r));
    gates.get(key)!();
    return (await line).value?.line;
  };
  assert.equal(await next('b0'), 'b0');
  assert.equal(await next('a0'), 'a0');
  assert.equal(await next('a1'), 'a1');
  assert.equal(await next('b1'), 'b1');
  // Aborted while every source waits: it ends.
  const pending = it.next();
  ac.abort();
  assert.equal((await pending).done, true);
});
