/**
 * Reading a job file without trusting what the name points at: only a
 * regular file is read, never a FIFO (opening one for reading blocks until a
 * writer comes), a device (`/dev/zero` never ends), a socket or a dir; and
 * never more than MAX_JOB_FILE_BYTES. The type is checked before the open;
 * the open is non-blocking and the type and size are checked again on the
 * descriptor, so a name swapped in between changes nothing.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { fileKind } from '../safe-fs.js';
export { fileKind };

/** Largest job file read: far above any real one, small enough to keep a bad file cheap. */
export const MAX_JOB_FILE_BYTES = 4 * 1024 * 1024;

export type JobFileProblem = 'not-regular' | 'too-big';

/** A job file that is refused before its bytes are read. */
export class JobFileError extends Error {
  readonly problem: JobFileProblem;
  constructor(problem: JobFileProblem, message: string) {
    super(message);
    this.name = 'JobFileError';
    this.problem = problem;
  }
}

/** Why a file with this stat is not read, or undefined when it may be. */
export function refuseStat(st: Stats, maxBytes = MAX_JOB_FILE_BYTES): JobFileError | undefined {
  if (!st.isFile()) return new JobFileError('not-regular', `skipped: expected a regular file, got ${fileKind(st)}; not read`);
  if (st.size > maxBytes) return tooBig(st.size, maxBytes);
  return undefined;
}

function tooBig(size: number | undefined, maxBytes: number): JobFileError {
  const got = size === undefined ? 'more' : `${size} bytes`;
  return new JobFileError('too-big', `file too big: expected at most ${maxBytes} bytes (${maxBytes / 1048576} MiB), got ${got}; not read`);
}

/**
 * Read a job file (following symlinks, as a job file may be one). Throws
 * `JobFileError` for a file refused by type or size, the fs error otherwise.
 */
export async function readJobFile(file: string, maxBytes = MAX_JOB_FILE_BYTES): Promise<{ bytes: Buffer; stat: Stats }> {
  const before = refuseStat(await stat(file), maxBytes);
  if (before) throw before;
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = await fh.stat();
    const refused = refuseStat(st, maxBytes);
    if (refused) throw refused;
    // Read to the end, but not past the cap (the file may have grown since the stat).
    let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, st.size + 1));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len > maxBytes) throw tooBig(undefined, maxBytes);
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, len, buf.length - len, null);
      if (bytesRead === 0) return { bytes: buf.subarray(0, len), stat: st };
      len += bytesRead;
    }
  } finally {
    await fh.close();
  }
}


/**
 * The same rules, synchronously, for the file functions (`file()`, …), which
 * run inside the expression evaluator: only a regular file, opened
 * non-blocking (a FIFO never blocks), type and size checked on the
 * descriptor, never more than `maxBytes`.
 */
export function readJobFileSync(file: string, maxBytes = MAX_JOB_FILE_BYTES): Buffer {
  const before = refuseStat(statSync(file), maxBytes);
  if (before) throw before;
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const refused = refuseStat(fstatSync(fd), maxBytes);
    if (refused) throw refused;
    const chunks: Buffer[] = [];
    let len = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return Buffer.concat(chunks, len);
      len += n;
      if (len > maxBytes) throw tooBig(undefined, maxBytes);
      chunks.push(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}
