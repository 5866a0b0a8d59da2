/**
 * One agent per data dir: an exclusive flock(2) on `<dataDir>/agent.lock`,
 * taken before anything else reads or writes the data dir and held for the
 * agent's life. A second agent is refused with E_DATA_DIR_LOCKED naming the
 * holder's pid (written into the file by the holder).
 *
 * Why flock and how: the kernel ties the lock to the open file description,
 * not to a pid, and drops it when the last fd of that description closes —
 * on exit, crash or kill -9 alike. So a dead agent never leaves a stale lock,
 * and pid reuse cannot fake a live holder (a pid file with a liveness check
 * can get both wrong, and two starters can both judge it stale). Node has no
 * flock, so the agent opens the file itself (Node opens with O_CLOEXEC: the
 * fd never leaks into conmon, the log monitor or tasks, which outlive the
 * agent) and lends that fd to `flock -xn 3` (util-linux) for one call. The
 * lock stays on the shared description after flock(1) exits, held by the
 * agent's fd alone, until release() closes it or the agent dies.
 *
 * The file is never deleted: unlinking a flock'd file lets a third agent lock
 * a new inode while a second one still waits on the old.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describeError, TendError } from '../errors.js';
import { platform } from '../platform.js';

export const LOCK_FILE = 'agent.lock';

export interface DataDirLock {
  /** `<dataDir>/agent.lock`. */
  readonly file: string;
  /** Close the fd: the lock is released (idempotent). */
  release(): void;
}

export interface LockOptions {
  /** The flock(1) binary (default: `flock` on PATH). */
  flock?: string;
  /** The pid written into the file (default process.pid). */
  pid?: number;
}

/** flock(1) exits with this when `-n` meets a conflicting lock (`-E`). */
const CONFLICT = 75;

/** Take the data dir's lock or throw: E_DATA_DIR_LOCKED when another agent holds it. */
export async function lockDataDir(dataDir: string, opts: LockOptions = {}): Promise<DataDirLock> {
  const file = path.join(dataDir, LOCK_FILE);
  const flock = opts.flock ?? platform().which('flock');
  if (!flock) throw new TendError('E_INTERNAL', `failed to lock data dir ${dataDir}: flock (util-linux) not found on PATH`, { details: { dataDir, file } });
  let fd: number;
  try {
    mkdirSync(dataDir, { recursive: true });
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new TendError('E_INTERNAL', `failed to lock data dir ${dataDir}: cannot open ${file}: ${describeError(err)}`, { cause: err, details: { dataDir, file } });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${file} is not a regular file`);
    const code = await runFlock(flock, fd);
    if (code === CONFLICT) {
      const pid = readPid(fd);
      throw new TendError(
        'E_DATA_DIR_LOCKED',
        `failed to lock data dir ${dataDir}: another tend agent${pid ? ` (pid ${pid})` : ''} holds ${file}; stop it first, or give this agent another data_dir`,
        { details: { dataDir, file, ...(pid ? { pid } : {}) } },
      );
    }
    if (code !== 0) throw new Error(`flock exited with ${code}`);
    // Pid first, then cut the old tail: a reader never sees an empty file once the pid is there.
    const text = Buffer.from(`${opts.pid ?? process.pid}\n`);
    writeSync(fd, text, 0, text.length, 0);
    ftruncateSync(fd, text.length);
  } catch (err) {
    closeSync(fd);
    if (err instanceof TendError) throw err;
    throw new TendError('E_INTERNAL', `failed to lock data dir ${dataDir}: ${describeError(err)}`, { cause: err, details: { dataDir, file } });
  }
  let open = true;
  return {
    file,
    release() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

/** flock(1) on our fd (its fd 3): 0 locked, CONFLICT when held elsewhere, else an error code. */
function runFlock(flock: string, fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(flock, ['-x', '-n', '-E', String(CONFLICT), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0 || code === CONFLICT) resolve(code);
      else reject(new Error(`flock exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** The holder's pid from the file's first line, if it wrote one. */
function readPid(fd: number): number | undefined {
  const buf = Buffer.alloc(64);
  const n = readSync(fd, buf, 0, buf.length, 0);
  const pid = Number(buf.subarray(0, n).toString('utf8').split('\n')[0].trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
