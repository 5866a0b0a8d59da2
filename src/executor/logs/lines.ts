/**
 * A task's stream as lines with the time each was read (times.ts), for
 * `tendctl logs -timestamps`, `-since` and the merged logs of several
 * instances. Built on readLogChunks; the files are not changed.
 *
 * - A line's time is the time of its first byte; a line split by rotation
 *   keeps the time of the file it began in. A line without a time (written
 *   before times were kept) has `time` undefined.
 * - `since` starts at the first file and offset whose times reach it (the
 *   times file says where, without reading older output) and drops lines
 *   that are older or have no time.
 * - `tail` and `since` together: the last `tail` lines of those since; lines
 *   written while the read runs do not make more than `tail`.
 * - A last line without its newline is given out at the end of a read
 *   (`partial`), unless `holdPartial` (the next read, `from` `position`,
 *   gives it whole). While following, a line still without its newline after
 *   `partialAfterMs` is given out as it is, and what follows it becomes a
 *   line of its own (a prompt, a progress bar).
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { listLogIndexes, type LogStream } from './rotator.js';
import { openLog, readLogChunks, tailStart, type LogPosition, type ReadLogsOptions } from './reader.js';
import { timesFilePath, TimesIndex } from './times.js';

export interface LogLine {
  /** The line without its newline. */
  text: Buffer;
  /** Epoch ms it was read, when known. */
  time?: number;
  /** It had no newline (yet) when it was given out. */
  partial?: boolean;
}

export interface ReadLinesOptions extends ReadLogsOptions {
  /** Epoch ms: only lines read at or after it. */
  since?: number;
  /** Keep a trailing line without newline back at the end of a read that does not follow (default false). */
  holdPartial?: boolean;
  /** While following: give out a line still without its newline after this long (default 500 ms). */
  partialAfterMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

const NL = 0x0a;

/** Where a read of `tail` lines and/or lines `since` begins. */
export function startOf(o: Pick<ReadLinesOptions, 'logDir' | 'task' | 'stream' | 'tail' | 'since'>): LogPosition | undefined {
  const indexes = listLogIndexes(o.logDir, o.task, o.stream);
  if (!indexes.length) return undefined;
  const starts: LogPosition[] = [];
  if (o.tail !== undefined) starts.push(tailStart(o.logDir, o.task, o.stream, indexes, Math.max(0, o.tail)));
  if (o.since !== undefined) starts.push(sinceStart(o.logDir, o.task, o.stream, indexes, o.since));
  if (!starts.length) return undefined;
  return starts.reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.index - b.index || a.offset - b.offset;
}

/** The first place whose time may be at or after `since`: files whose times all precede it are skipped. */
function sinceStart(logDir: string, task: string, stream: LogStream, indexes: number[], since: number): LogPosition {
  for (const index of indexes) {
    const times = new TimesIndex(timesFilePath(logDir, task, stream, index));
    if (!times.size) return { index, offset: 0 };
    const last = times.lastMs;
    if (last !== undefined && last < since) continue;
    return { index, offset: times.firstAtOrAfter(since) ?? 0 };
  }
  const index = indexes[indexes.length - 1];
  return { index, offset: fileSize(logDir, task, stream, index) };
}

function fileSize(logDir: string, task: string, stream: LogStream, index: number): number {
  const fd = openLog(logDir, task, stream, index);
  if (fd < 0) return 0;
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Whether `pos` is not the start of a line (the byte before it is not a newline). */
function midLine(logDir: string, task: string, stream: LogStream, pos: LogPosition): boolean {
  if (pos.offset === 0) return false;
  const fd = openLog(logDir, task, stream, pos.index);
  if (fd < 0) return false;
  try {
    const b = Buffer.alloc(1);
    return readSync(fd, b, 0, 1, pos.offset - 1) === 1 && b[0] !== NL;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads lines; `position` is where the next read should start (after the last
 * line given out, or at a held-back partial line).
 */
export class LogLineReader {
  readonly #o: ReadLinesOptions;
  readonly #times = new Map<number, { index: TimesIndex; seen: number }>();
  #position: LogPosition | undefined;

  constructor(o: ReadLinesOptions) {
    this.#o = o;
    this.#position = o.from;
  }

  /** Where the next read starts (undefined: nothing was read, the stream has no file yet). */
  get position(): LogPosition | undefined {
    return this.#position;
  }

  #timeAt(pos: LogPosition, chunkEnd: number): number | undefined {
    const file = timesFilePath(this.#o.logDir, this.#o.task, this.#o.stream, pos.index);
    let t = this.#times.get(pos.index);
    if (!t) {
      t = { index: new TimesIndex(file), seen: chunkEnd };
      this.#times.set(pos.index, t);
      // Older files are done with: keep few indexes.
      for (const k of this.#times.keys()) if (k < pos.index - 1) this.#times.delete(k);
    } else if (pos.offset >= t.seen && pos.offset > t.index.lastOffset) {
      // Bytes read after the index was: their entries were written before them.
      t.index.refresh();
      t.seen = chunkEnd;
    }
    return t.index.at(pos.offset);
  }

  async *lines(): AsyncGenerator<LogLine> {
    const o = this.#o;
    const now = o.now ?? Date.now;
    const partialAfter = o.partialAfterMs ?? 500;
    const start = o.from ?? startOf(o);
    let skip = start !== undefined && midLine(o.logDir, o.task, o.stream, start);
    // The last `tail` of the lines kept (since drops some; lines written after the start was found
    // add some), given out at the first pause of a follow, or the end.
    let ring: LogLine[] | undefined = o.tail !== undefined && !o.from ? [] : undefined;
    const tail = o.tail ?? 0;
    let parts: Buffer[] = [];
    let lineStart: LogPosition | undefined;
    let lineTime: number | undefined;
    let pendingSince = 0;
    let lastEnd: LogPosition | undefined = start;
    const take = (text: Buffer, partial: boolean): LogLine | undefined => {
      const line: LogLine = { text, ...(lineTime !== undefined ? { time: lineTime } : {}), ...(partial ? { partial } : {}) };
      parts = [];
      lineStart = undefined;
      if (o.since !== undefined && (line.time === undefined || line.time < o.since)) return undefined;
      if (!ring) return line;
      ring.push(line);
      if (ring.length > tail) ring.shift();
      return undefined;
    };
    for await (const c of readLogChunks({ ...o, from: start, tail: undefined })) {
      if (c.idle) {
        if (ring) {
          yield* ring;
          ring = undefined;
        }
        if (parts.length && now() - pendingSince >= partialAfter) {
          const line = take(Buffer.concat(parts), true);
          this.#position = lastEnd;
          if (line) yield line;
        }
        continue;
      }
      const { data, index } = c;
      const end = c.offset + data.length;
      lastEnd = { index, offset: end };
      let i = 0;
      if (skip) {
        // Started inside a line (since's start): that line is older.
        const nl = data.indexOf(NL);
        if (nl < 0) {
          this.#position = lastEnd;
          continue;
        }
        i = nl + 1;
        skip = false;
      }
      while (i < data.length) {
        if (!lineStart) {
          lineStart = { index, offset: c.offset + i };
          lineTime = this.#timeAt(lineStart, end);
          pendingSince = now();
        }
        const nl = data.indexOf(NL, i);
        if (nl < 0) {
          parts.push(Buffer.from(data.subarray(i)));
          break;
        }
        parts.push(data.subarray(i, nl));
        const text = parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts);
        i = nl + 1;
        const line = take(text, false);
        this.#position = { index, offset: c.offset + i };
        if (line) yield line;
      }
      this.#position = lineStart ?? lastEnd;
    }
    if (parts.length) {
      if (o.holdPartial) this.#position = lineStart;
      else {
        const line = take(Buffer.concat(parts), true);
        this.#position = lastEnd;
        if (line) yield line;
      }
    }
    if (ring) yield* ring;
  }
}

/** The lines of one stream (see LogLineReader). */
export function readLogLines(o: ReadLinesOptions): AsyncGenerator<LogLine> {
  return new LogLineReader(o).lines();
}
