/**
 * When each line of a log file was read: beside `<task>.<stream>.N` the log
 * monitor keeps `.<task>.<stream>.N.times`, text lines `OFFSET MS\n` meaning
 * "from byte OFFSET of file N on, the output was read at epoch MS" (for oci
 * tasks: the time conmon stamped on the record). An entry is written before
 * the bytes it describes, and only when the time differs from the previous
 * entry's, so a line's time is the time of the last entry at or before the
 * line's first byte; of two entries at one offset the later wins (the bytes
 * of the first were dropped for lack of space).
 *
 * The log files themselves stay byte for byte what the task wrote (Nomad's
 * layout, readable by any tool); a file without its times file (written by an
 * earlier tend, or the times file could not be created) has lines without a
 * time. The times file is rotated and deleted with its log file.
 */
import { closeSync, constants as C, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../../errors.js';
import type { LogStream } from './rotator.js';

/** A time for the bytes of a chunk from `offset` (within the chunk) on. */
export interface TimeMark {
  offset: number;
  /** Epoch milliseconds. */
  ms: number;
}

export function timesFilePath(logDir: string, task: string, stream: LogStream, index: number): string {
  return path.join(logDir, `.${task}.${stream}.${index}.times`);
}

const APPEND_NOFOLLOW = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW;

/**
 * Appends entries to one times file. Never throws: a times file that cannot be
 * opened or written (a link planted there, a full disk) only costs the lines
 * their times, never the output.
 */
export class TimesWriter {
  #fd = -1;
  #lastMs: number | undefined;
  #lastOffset = -1;

  constructor(file: string) {
    try {
      const fd = openSync(file, APPEND_NOFOLLOW, 0o644);
      const st = fstatSync(fd);
      if (!st.isFile() || st.nlink !== 1) {
        closeSync(fd);
        return;
      }
      this.#fd = fd;
    } catch {
      this.#fd = -1;
    }
  }

  /** Record that the bytes from file offset `offset` on were read at `ms` (skipped when the time is the one in force). */
  mark(offset: number, ms: number): void {
    if (this.#fd < 0) return;
    if (ms === this.#lastMs && offset >= this.#lastOffset) return;
    try {
      writeSync(this.#fd, `${offset} ${Math.round(ms)}\n`);
      this.#lastMs = ms;
      this.#lastOffset = offset;
    } catch {
      // No space (or worse): the entry is lost; the next one tries again.
      this.#lastMs = undefined;
    }
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

export function unlinkTimes(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * The entries of one times file, read incrementally (a followed file's index
 * grows): `at(offset)` is the time of a line starting there.
 */
export class TimesIndex {
  readonly #file: string;
  #offsets: number[] = [];
  #times: number[] = [];
  /** Bytes of the times file parsed so far (a torn last line waits for its end). */
  #read = 0;

  constructor(file: string) {
    this.#file = file;
    this.refresh();
  }

  get size(): number {
    return this.#offsets.length;
  }

  /** The offset of the last entry read, or -1. */
  get lastOffset(): number {
    return this.#offsets.length ? this.#offsets[this.#offsets.length - 1] : -1;
  }

  /** Read entries appended since the last call. */
  refresh(): void {
    let fd: number;
    try {
      fd = openSync(this.#file, C.O_RDONLY | C.O_NOFOLLOW);
    } catch {
      return; // no times file: lines have no time
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.#read) return;
      const buf = Buffer.allocUnsafe(size - this.#read);
      const n = readSync(fd, buf, 0, buf.length, this.#read);
      const text = buf.subarray(0, n).toString('latin1');
      const end = text.lastIndexOf('\n');
      if (end < 0) return;
      for (const line of text.slice(0, end).split('\n')) {
        const m = /^(\d+) (\d+)$/.exec(line);
        if (!m) continue;
        const offset = Number(m[1]);
        const ms = Number(m[2]);
        // Of entries at one offset the later wins.
        if (this.#offsets.length && this.#offsets[this.#offsets.length - 1] === offset) this.#times[this.#times.length - 1] = ms;
        else if (!this.#offsets.length || offset > this.#offsets[this.#offsets.length - 1]) {
          this.#offsets.push(offset);
          this.#times.push(ms);
        }
      }
      this.#read += Buffer.byteLength(text.slice(0, end + 1), 'latin1');
    } finally {
      closeSync(fd);
    }
  }

  /** The time of a line whose first byte is at `offset`: the last entry at or before it, or undefined. */
  at(offset: number): number | undefined {
    let lo = 0;
    let hi = this.#offsets.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#offsets[mid] <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? undefined : this.#times[found];
  }

  /** The latest time in the file (every line of it is at or before it), or undefined without entries. */
  get lastMs(): number | undefined {
    return this.#times.length ? this.#times[this.#times.length - 1] : undefined;
  }

  /** The offset of the first entry at or after `ms`, or undefined when every entry is earlier. */
  firstAtOrAfter(ms: number): number | undefined {
    for (let i = 0; i < this.#times.length; i++) if (this.#times[i] >= ms) return this.#offsets[i];
    return undefined;
  }
}
