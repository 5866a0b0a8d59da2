/**
 * One way to start a detached process that reports on fd 3 (the plain
 * executor's wrapper reports the task's pid, conmon the container's): spawn
 * it in its own session, wait for the first line on fd 3, hand it back.
 * Used inside the launcher process (launcher-child.ts) and, where there is
 * no launcher, in the caller's own process.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Where a stream of the child goes: nowhere, or appended to a file (opened 0600 if new). */
export type OutTarget = 'ignore' | { path: string; mode?: number };

export interface SyncedSpawn {
  file: string;
  args: string[];
  /** argv[0] as the child sees it (default: `file`). */
  argv0?: string;
  cwd?: string;
  env: Record<string, string>;
  stdout?: OutTarget;
  stderr?: OutTarget;
  /** How long to wait for the first line on fd 3, ms. */
  timeoutMs: number;
}

export interface SyncedResult {
  pid: number;
  /** The first line written on fd 3, without its newline; undefined when fd 3 closed without one. */
  line: string | undefined;
  /** What was written on fd 3 before it closed without a newline (a partial report). */
  partial?: string;
  /** Set when the child had already exited when fd 3 closed without a line. */
  exitCode?: number | null;
}

/** The child could not be started, or did not report in time (it was killed, with its group). */
export class SyncedSpawnError extends Error {}

/**
 * Spawn `req` detached, stdio [ignore, stdout, stderr, pipe]; resolve with the first line on fd 3.
 * `onExit` is called when the child exits (this process reaps it).
 */
export async function spawnSynced(req: SyncedSpawn, onExit?: (code: number | null, signal: NodeJS.Signals | null) => void): Promise<SyncedResult> {
  const fds: number[] = [];
  const open = (t: OutTarget | undefined): 'ignore' | number => {
    if (!t || t === 'ignore') return 'ignore';
    const fd = openSync(t.path, 'a', t.mode ?? 0o600);
    fds.push(fd);
    return fd;
  };
  let child;
  try {
    child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      detached: true,
      stdio: ['ignore', open(req.stdout), open(req.stderr), 'pipe'],
      ...(req.argv0 ? { argv0: req.argv0 } : {}),
    });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  const pipe = child.stdio[3] as Readable;
  try {
    const got = await new Promise<{ line?: string; partial?: string }>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new SyncedSpawnError(`no report on fd 3 within ${req.timeoutMs}ms`)), req.timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      child.once('error', (err) => done(() => reject(new SyncedSpawnError(err.message))));
      pipe.setEncoding('utf8');
      pipe.on('error', () => undefined);
      pipe.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) done(() => resolve({ line: buf.slice(0, nl) }));
      });
      pipe.once('end', () => done(() => resolve({ partial: buf })));
    });
    if (child.pid === undefined) throw new SyncedSpawnError('no pid');
    if (got.line !== undefined) return { pid: child.pid, line: got.line };
    // fd 3 closed without a line: most likely the child exited; let its exit code arrive.
    const exitCode = child.exitCode ?? (await exitSoon(child, 500));
    return { pid: child.pid, line: undefined, partial: got.partial, exitCode };
  } catch (err) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    throw err instanceof SyncedSpawnError ? err : new SyncedSpawnError((err as Error).message);
  } finally {
    child.removeAllListeners('error');
    child.on('error', () => undefined);
    if (onExit) child.once('exit', onExit);
    pipe.destroy();
    child.unref();
  }
}

function exitSoon(child: { once(e: 'exit', f: (code: number | null) => void): unknown }, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}
