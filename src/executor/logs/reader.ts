/**
 * readLogs: a task's stream as written by the log monitor, read across its
 * rotated files `<task>.<stream>.N` in order (used by `tendctl logs`).
 *
 * - `tail: n` starts at the last n lines (counting back across files).
 * - `follow` keeps reading after the end: when file N+1 appears, file N is
 *   read to its end first, so a rotation loses and repeats nothing. A file
 *   is read through an open fd, so it may be deleted by rotation while being
 *   read. If the reader falls more than `maxFiles` behind, the deleted files
 *   are skipped (they are gone).
 * - Wake-ups come from fs.watch on the log dir, with a slow poll as fallback.
 * - `signal` ends the iteration (no error).
 */
import { closeSync, constants, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import { errnoCode } from '../../errors.js';
import { listLogIndexes, logFilePath, type LogStream } from './rotator.js';

export interface ReadLogsOptions {
  logDir: string;
  task: string;
  stream: LogStream;
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
  /** Fallback poll interval while following (default 250 ms). */
  pollMs?: number;
  /** Start here instead of at the first file (or the tail): where an earlier read stopped. */
  from?: LogPosition;
}

/** A place in a task's stream: file `<task>.<stream>.<index>`, byte `offset`. */
export interface LogPosition {
  index: number;
  offset: number;
}

/** What readLogChunks gives: bytes and where they are, or `idle` when a follow has read everything there is and waits. */
export type LogChunk = { data: Buffer; index: number; offset: number; idle?: undefined } | { idle: true };

const CHUNK = 65536;

export async function* readLogs(opts: ReadLogsOptions): AsyncIterable<Buffer> {
  for await (const c of readLogChunks(opts)) if (!c.idle) yield c.data;
}

/** readLogs with each chunk's file and offset, and an `idle` item each time a follow waits for more. */
export async function* readLogChunks(opts: ReadLogsOptions): AsyncGenerator<LogChunk> {
  const { logDir, task, stream } = opts;
  const indexes = listLogIndexes(logDir, task, stream);
  let index = indexes.length ? indexes[0] : 0;
  let offset = 0;
  if (opts.from) {
    index = opts.from.index;
    offset = opts.from.offset;
  } else if (opts.tail !== undefined && indexes.length) {
    const start = tailStart(logDir, task, stream, indexes, Math.max(0, opts.tail));
    index = start.index;
    offset = start.offset;
  }
  const waker = opts.follow ? new Waker(logDir, opts.pollMs ?? 250, opts.signal) : undefined;
  let fd = -1;
  try {
    fd = openLog(logDir, task, stream, index);
    for (;;) {
      if (opts.signal?.aborted) return;
      if (fd >= 0) {
        for (;;) {
          const buf = Buffer.allocUnsafe(CHUNK);
          const n = readSync(fd, buf, 0, CHUNK, offset);
          if (n <= 0) break;
          yield { data: buf.subarray(0, n), index, offset };
          offset += n;
          if (opts.signal?.aborted) return;
        }
      }
      // At the end of file `index`: move on if a later file exists.
      const later = listLogIndexes(logDir, task, stream).filter((n) => n > index);
      if (later.length) {
        if (fd >= 0) {
          // Re-read to the very end: the writer finished this file before opening the next one.
          const rest = readRest(fd, offset);
          if (rest.length) yield { data: rest, index, offset };
          closeSync(fd);
          fd = -1;
        }
        index = later[0];
        offset = 0;
        fd = openLog(logDir, task, stream, index);
        continue;
      }
      if (!waker) break;
      if (fd < 0) fd = openLog(logDir, task, stream, index);
      yield { idle: true };
      if (!(await waker.next())) return;
    }
  } finally {
    // Also when the reader stops early (aborted, or the consumer returned).
    if (fd >= 0) closeSync(fd);
    waker?.close();
  }
}

export function openLog(logDir: string, task: string, stream: LogStream, index: number): number {
  try {
    return openSync(logFilePath(logDir, task, stream, index), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return -1;
    throw err;
  }
}

function readRest(fd: number, offset: number): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = readSync(fd, buf, 0, CHUNK, offset);
    if (n <= 0) return Buffer.concat(parts);
    offset += n;
    parts.push(buf.subarray(0, n));
  }
}

/** Where the last `lines` lines begin, scanning files backwards. A final line without "\n" counts as a line. */
export function tailStart(logDir: string, task: string, stream: LogStream, indexes: number[], lines: number): { index: number; offset: number } {
  if (lines === 0) {
    const last = indexes[indexes.length - 1];
    const fd = openLog(logDir, task, stream, last);
    if (fd < 0) return { index: last, offset: 0 };
    try {
      return { index: last, offset: fstatSync(fd).size };
    } finally {
      closeSync(fd);
    }
  }
  let seen = 0;
  let first = true;
  for (let i = indexes.length - 1; i >= 0; i--) {
    const fd = openLog(logDir, task, stream, indexes[i]);
    if (fd < 0) continue;
    try {
      let pos = fstatSync(fd).size;
      const buf = Buffer.allocUnsafe(CHUNK);
      while (pos > 0) {
        const len = Math.min(CHUNK, pos);
        pos -= len;
        readSync(fd, buf, 0, len, pos);
        for (let j = len - 1; j >= 0; j--) {
          if (buf[j] !== 0x0a) {
            first = false;
            continue;
          }
          // A newline ending the whole stream closes the last line, it does not start one.
          if (first) {
            first = false;
            continue;
          }
          seen++;
          if (seen >= lines) return { index: indexes[i], offset: pos + j + 1 };
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return { index: indexes[0], offset: 0 };
}

/** Resolves `next()` on a change in the log dir, after `pollMs`, or false once aborted. */
class Waker {
  #watcher: FSWatcher | undefined;
  #wake: (() => void) | undefined;
  #pending = false;
  readonly #pollMs: number;
  readonly #signal?: AbortSignal;

  constructor(dir: string, pollMs: number, signal?: AbortSignal) {
    this.#pollMs = pollMs;
    this.#signal = signal;
    try {
      this.#watcher = watch(dir, { persistent: false }, () => this.#fire());
      this.#watcher.on('error', () => undefined);
    } catch {
      this.#watcher = undefined; // the poll still works
    }
    signal?.addEventListener('abort', () => this.#fire(), { once: true });
  }

  #fire(): void {
    this.#pending = true;
    this.#wake?.();
  }

  next(): Promise<boolean> {
    if (this.#signal?.aborted) return Promise.resolve(false);
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#pollMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = undefined;
        self.#pending = false;
        resolve(!self.#signal?.aborted);
      }
      this.#wake = done;
    });
  }

  close(): void {
    this.#watcher?.close();
  }
}
