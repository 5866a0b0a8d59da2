/**
 * FileRotator: appends one stream of a task to `<logDir>/<task>.<stream>.N`,
 * opening N+1 when file N reaches `maxFileSizeBytes` and deleting the lowest
 * files so that at most `maxFiles` remain (Nomad's rotation). A chunk that
 * crosses the limit is split at the byte boundary: nothing is lost or
 * reordered. On construction it resumes after the highest existing N, so a
 * restarted log monitor appends where the previous one stopped.
 *
 * A full filesystem never stops the collection: a write (or the open of the
 * next file) that fails with ENOSPC or EDQUOT drops that chunk and counts it
 * (`dropped`). The next chunk tries again, at most once per
 * `retryAfterMs` (default 1 s; chunks in between are dropped without a
 * try), and the first write that succeeds is preceded by a marker line
 * `[tend: N bytes dropped: no space left on device]`. Other write errors
 * still throw.
 *
 * Beside each file it keeps the time each part of it was read
 * (`.<task>.<stream>.N.times`, times.ts), for `tendctl logs -timestamps` and
 * `-since`; a chunk's time is when the monitor got it, or the times given
 * with it (conmon's).
 *
 * The log dir is one no task can write (`<dataDir>/logs/<allocId>`); still,
 * a file is opened only with O_NOFOLLOW and only if it is a regular file with
 * a single link, so even a link or hard link planted there is never written
 * through.
 */
import { closeSync, constants as C, fstatSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errnoCode, TendError } from '../../errors.js';
import { timesFilePath, TimesWriter, unlinkTimes, type TimeMark } from './times.js';

export type LogStream = 'stdout' | 'stderr';

export interface RotatorOptions {
  logDir: string;
  task: string;
  stream: LogStream;
  maxFiles: number;
  maxFileSizeBytes: number;
  /** After a failed write, drop without trying for this long (default 1000 ms). */
  retryAfterMs?: number;
  /** Clock for the retry pause and the times of chunks written without one (tests). */
  now?: () => number;
}

/** Bytes a rotator could not write because its filesystem was full. */
export interface DropStats {
  /** Every byte dropped since this rotator was made. */
  droppedBytes: number;
  /** Dropped since the last marker: non-zero while the filesystem is full. */
  pendingBytes: number;
  /** Code of the last failure (ENOSPC, EDQUOT), while pendingBytes > 0. */
  error?: string;
  /** When the current episode began (ISO), while pendingBytes > 0. */
  since?: string;
}

/** Write failures that mean "no space": the chunk is dropped, not fatal. */
export function isNoSpace(err: unknown): boolean {
  const code = errnoCode(err) ?? errnoCode((err as { cause?: unknown } | undefined)?.cause);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const NO_SPACE_TEXT: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded' };

/** The line written where output was lost: `[tend: N bytes dropped: no space left on device]`. */
export function dropMarker(bytes: number, code: string | undefined): string {
  return `[tend: ${bytes} bytes dropped: ${NO_SPACE_TEXT[code ?? 'ENOSPC'] ?? code}]\n`;
}

/** Indexes N of the existing `<task>.<stream>.N` files in `logDir`, ascending. */
export function listLogIndexes(logDir: string, task: string, stream: LogStream): number[] {
  const prefix = `${task}.${stream}.`;
  let names: string[];
  try {
    names = readdirSync(logDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: number[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^\d+$/.test(rest)) out.push(Number(rest));
  }
  return out.sort((a, b) => a - b);
}

export function logFilePath(logDir: string, task: string, stream: LogStream, index: number): string {
  return path.join(logDir, `${task}.${stream}.${index}`);
}

/** A log file the monitor appends to: created if missing, never through a link. */
const APPEND_NOFOLLOW = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW;

export class FileRotator {
  readonly #opts: RotatorOptions;
  readonly #maxFiles: number;
  readonly #maxBytes: number;
  #index = 0;
  #fd = -1;
  #times: TimesWriter | undefined;
  #size = 0;
  /** Whether the last byte written ended a line (a marker after a partial line starts on a new one). */
  #atLineStart = true;
  readonly #now: () => number;
  readonly #retryAfterMs: number;
  #retryAt = 0;
  #drop: DropStats = { droppedBytes: 0, pendingBytes: 0 };

  constructor(opts: RotatorOptions) {
    this.#opts = opts;
    this.#maxFiles = Math.max(1, Math.floor(opts.maxFiles));
    this.#maxBytes = Math.max(1, Math.floor(opts.maxFileSizeBytes));
    this.#now = opts.now ?? Date.now;
    this.#retryAfterMs = opts.retryAfterMs ?? 1000;
    const existing = listLogIndexes(opts.logDir, opts.task, opts.stream);
    this.#index = existing.length ? existing[existing.length - 1] : 0;
    try {
      this.#open();
    } catch (err) {
      // A full filesystem cannot refuse a collection: the file is opened by the first write that fits.
      if (!isNoSpace(err)) throw err;
      this.#noSpace(err, 0);
    }
    for (const n of existing) if (n <= this.#index - this.#maxFiles) this.#unlink(n);
  }

  /** What was dropped for lack of space (a copy). */
  get dropped(): DropStats {
    return { ...this.#drop };
  }

  /** Whether anything was ever dropped (no copy: the log monitor asks every collector each second). */
  get everDropped(): boolean {
    return this.#drop.droppedBytes > 0;
  }

  /** Index of the file being written. */
  get index(): number {
    return this.#index;
  }

  /**
   * Append a chunk. With no space left, the chunk (or what of it did not fit)
   * is dropped and counted; the first chunk that fits afterwards is preceded
   * by the drop marker. `marks`: when the chunk's bytes were produced, ascending
   * by offset (default: all of it now).
   */
  write(buf: Buffer, marks?: TimeMark[]): void {
    if (buf.length === 0) return;
    if (this.#drop.pendingBytes > 0) {
      if (this.#now() < this.#retryAt) {
        this.#drop.pendingBytes += buf.length;
        this.#drop.droppedBytes += buf.length;
        return;
      }
      const d = this.#drop;
      const marker = Buffer.from((this.#atLineStart ? '' : '\n') + dropMarker(d.pendingBytes, d.error));
      try {
        this.#append(marker, [{ offset: 0, ms: this.#now() }]);
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        this.#noSpace(err, buf.length);
        return;
      }
      this.#drop = { droppedBytes: d.droppedBytes, pendingBytes: 0 };
    }
    try {
      this.#append(buf, marks?.length ? marks : [{ offset: 0, ms: this.#now() }]);
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.#noSpace(err, buf.length - ((err as { written?: number }).written ?? 0));
    }
  }

  /** Write all of buf, rotating at the size limit; a failure carries `written` (bytes that made it). */
  #append(buf: Buffer, marks: TimeMark[]): number {
    let off = 0;
    try {
      while (off < buf.length) {
        if (this.#fd < 0) this.#open();
        if (this.#size >= this.#maxBytes) this.#rotate();
        const n = Math.min(this.#maxBytes - this.#size, buf.length - off);
        this.#mark(marks, off, n);
        const w = writeSync(this.#fd, buf, off, n);
        this.#size += w;
        off += w;
        this.#atLineStart = buf[off - 1] === 0x0a;
      }
    } catch (err) {
      Object.assign(err as object, { written: off });
      throw err;
    }
    return off;
  }

  /** Times of the bytes [off, off + n) of a chunk, about to be written at the end of the current file. */
  #mark(marks: TimeMark[], off: number, n: number): void {
    if (!this.#times) return;
    let i = 0;
    while (i + 1 < marks.length && marks[i + 1].offset <= off) i++;
    this.#times.mark(this.#size, marks[i].ms);
    for (i++; i < marks.length && marks[i].offset < off + n; i++) this.#times.mark(this.#size + marks[i].offset - off, marks[i].ms);
  }

  #noSpace(err: unknown, bytes: number): void {
    const code = errnoCode(err) ?? errnoCode((err as { cause?: unknown }).cause);
    if (this.#drop.pendingBytes === 0) this.#drop.since = new Date(this.#now()).toISOString();
    this.#drop.pendingBytes += bytes;
    this.#drop.droppedBytes += bytes;
    this.#drop.error = code;
    this.#retryAt = this.#now() + this.#retryAfterMs;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#times?.close();
    this.#times = undefined;
  }

  #open(): void {
    const file = logFilePath(this.#opts.logDir, this.#opts.task, this.#opts.stream, this.#index);
    try {
      this.#fd = openSync(file, APPEND_NOFOLLOW, 0o644);
      const st = fstatSync(this.#fd);
      if (!st.isFile() || st.nlink !== 1) {
        closeSync(this.#fd);
        this.#fd = -1;
        throw new TendError('E_EXECUTOR', `failed to open log file ${file}: expected a regular file with one link, got ${st.isFile() ? `${st.nlink} links` : 'another kind of file'}`);
      }
      this.#size = st.size;
      this.#times = new TimesWriter(timesFilePath(this.#opts.logDir, this.#opts.task, this.#opts.stream, this.#index));
    } catch (err) {
      if (err instanceof TendError) throw err;
      throw new TendError('E_EXECUTOR', `failed to open log file ${file}: ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
  }

  #rotate(): void {
    this.close();
    this.#index += 1;
    // The oldest file goes first: on a full filesystem that is the space the new one needs.
    this.#unlink(this.#index - this.#maxFiles);
    this.#open();
  }

  #unlink(index: number): void {
    if (index < 0) return;
    try {
      unlinkSync(logFilePath(this.#opts.logDir, this.#opts.task, this.#opts.stream, index));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    unlinkTimes(timesFilePath(this.#opts.logDir, this.#opts.task, this.#opts.stream, index));
  }
}
