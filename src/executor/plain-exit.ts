/**
 * Exit files of plain tasks: `<dataDir>/plain/<id>/exit` holds the shell's
 * exit status of the command ("143\n"), written atomically by the wrapper;
 * its mtime is the exit time. Waiting combines fs.watch on the task's state
 * dir with a slow poll (an event can be missed, the dir may not be watchable)
 * and proof of life of the wrapper and the task: when both are gone and no
 * file appeared, the exit is unknown.
 */
import { readFileSync, statSync, watch } from 'node:fs';
import { errnoCode } from '../errors.js';
import type { ExitResult } from './executor.js';
import { isAlive, normalizeSignal } from './proc.js';

/** Decode a shell status: 0…128 an exit code, 128+N the signal N (see plain-wrapper.ts). */
export function decodeStatus(status: number, at: Date): ExitResult {
  const sig = status > 128 && status <= 128 + 64 ? normalizeSignal(status - 128) : undefined;
  if (sig) return { code: null, signal: sig, oomKilled: false, at: at.toISOString(), known: true };
  return { code: status, signal: null, oomKilled: false, at: at.toISOString(), known: true };
}

/** The recorded exit, or undefined when the file does not exist (yet). */
export function readExitFile(file: string): ExitResult | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const status = Number(text.trim());
    if (!text.endsWith('\n') || !Number.isInteger(status)) return undefined;
    return decodeStatus(status, statSync(file).mtime);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export function unknownExit(message = 'exit code not recorded'): ExitResult {
  return { code: null, signal: null, oomKilled: false, at: new Date().toISOString(), known: false, message };
}

export interface ExitWatch {
  dir: string;
  exitFile: string;
  pid: number;
  pidStartTime: number;
  wrapperPid: number;
  wrapperStartTime: number;
}

const POLL_MS = 500;

/** Resolves when the task's exit is known (or known to be unknowable). No deadline. */
export function watchExit(w: ExitWatch): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    let watcher: ReturnType<typeof watch> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (r: ExitResult | Error) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearTimeout(timer);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const check = () => {
      if (done) return;
      try {
        const r = readExitFile(w.exitFile);
        if (r) return finish(r);
        if (!isAlive(w.wrapperPid, w.wrapperStartTime)) {
          // The wrapper renames the file before it exits: look once more, then decide.
          const again = readExitFile(w.exitFile);
          if (again) return finish(again);
          if (!isAlive(w.pid, w.pidStartTime)) return finish(unknownExit());
        }
        timer = setTimeout(check, POLL_MS);
      } catch (err) {
        finish(err as Error);
      }
    };
    try {
      watcher = watch(w.dir, { persistent: false }, (_event, name) => {
        if (name === 'exit') {
          clearTimeout(timer);
          check();
        }
      });
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined; // the poll still works
    }
    check();
  });
}
