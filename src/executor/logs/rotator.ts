/**
 * FileRotator: appends one stream of a task to `<logDir>/<task>.<stream>.N`,
 * opening N+1 when file N reaches `maxFileSizeBytes` and deleting the lowest
 * files so that at most `maxFiles` remain (Nomad's rotation). A chunk that
 * crosses the limit is split at the byte boundary: nothing is lost or
 * reordered. On construction it resumes after the highest existing N, so a
 * restarted log monitor appends where the previous one stopped.
 *
 * The log dir is one no task can write (`<dataDir>/logs/<allocId>`); still,
 * a file is opened only with O_NOFOLLOW and only if it is a regular file with
 * a single link, so even a link or hard link planted there is never written
 * through.
 */
import { closeSync, constants as C, fstatSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errnoCode, TendError } from '../../errors.js';

export type LogStream = 'stdout' | 'stderr';

export interface RotatorOptions {
  logDir: string;
  task: string;
  stream: LogStream;
  maxFiles: number;
  maxFileSizeBytes: number;
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
  #size = 0;

  constructor(opts: RotatorOptions) {
    this.#opts = opts;
    this.#maxFiles = Math.max(1, Math.floor(opts.maxFiles));
    this.#maxBytes = Math.max(1, Math.floor(opts.maxFileSizeBytes));
    const existing = listLogIndexes(opts.logDir, opts.task, opts.stream);
    this.#index = existing.length ? existing[existing.length - 1] : 0;
    this.#open();
    for (const n of existing) if (n <= this.#index - this.#maxFiles) this.#unlink(n);
  }

  /** Index of the file being written. */
  get index(): number {
    return this.#index;
  }

  write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      if (this.#size >= this.#maxBytes) this.#rotate();
      const n = Math.min(this.#maxBytes - this.#size, buf.length - off);
      let done = 0;
      while (done < n) done += writeSync(this.#fd, buf, off + done, n - done);
      this.#size += n;
      off += n;
    }
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
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
    } catch (err) {
      if (err instanceof TendError) throw err;
      throw new TendError('E_EXECUTOR', `failed to open log file ${file}: ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
  }

  #rotate(): void {
    this.close();
    this.#index += 1;
    this.#open();
    this.#unlink(this.#index - this.#maxFiles);
  }

  #unlink(index: number): void {
    if (index < 0) return;
    try {
      unlinkSync(logFilePath(this.#opts.logDir, this.#opts.task, this.#opts.stream, index));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}
