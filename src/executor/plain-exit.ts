/**
 * Exit files of plain tasks: `<dataDir>/plain/<id>/exit` holds the shell's
 * exit status of the command ("143\n"), written atomically by the wrapper;
 * its mtime is the exit time. Waiting combines fs.watch on the task's state
 * dir (and the wrapper's exit event when this process spawned it) with a slow
 * shared poll (an event can be missed, the dir may not be watchable) and
 * proof of life of the wrapper and the task: when both are gone and no file
 * appeared, the exit is unknown.
 */
import { existsSync, readFileSync, statSync, watch } from 'node:fs';
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
  // The common case in the poll: no file yet. existsSync does not build an ENOENT error (~8x cheaper).
  if (!existsSync(file)) return undefined;
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
  /**
   * The wrapper is a child of this agent's launcher (or of the agent), which reports its exit
   * (`recheckExit`): the poll is only a fallback for it, so it is looked at every REPORTED_EVERY
   * polls, proved every REPORTED_EVERY × PROVE_EVERY, until `exitReportsLost()`.
   */
  reported?: boolean;
}

/**
 * The fallback poll: one timer for every pending watch. fs.watch on each
 * task's state dir (and, for wrappers this process spawned, their exit event:
 * see `recheckExit`) is the signal; the poll only catches a missed event, an
 * unwatchable dir, or a wrapper killed before it could write the file. At
 * 1,000 tasks a 500 ms poll per task was 2,000 checks a second (16 % of a core
 * while idle); this is 200 a second, in one burst every POLL_MS.
 */
export const POLL_MS = 5000;

/**
 * One poll in this many proves the wrapper alive by its start time (/proc/<pid>/stat); the others
 * only ask whether its pid exists at all (kill 0: no read, no parse). At 1,000 tasks the stat reads
 * were most of an idle agent's CPU (issue 14). A pid taken again by another process between two
 * proofs only delays the check to the next proof (30 s).
 */
const PROVE_EVERY = 6;
/**
 * A reported wrapper (ExitWatch.reported) is polled once in this many polls (30 s), and proved once
 * in REPORTED_EVERY × PROVE_EVERY (3 min): its exit comes from the launcher at once. At 1,000 tasks
 * the fallback poll was most of an idle agent's CPU (issue 14).
 */
const REPORTED_EVERY = 6;

type Check = ((poll?: { prove: boolean }) => void) & { reported?: boolean };

const pending = new Map<string, Set<Check>>();
let pollTimer: NodeJS.Timeout | undefined;
let polls = 0;

function schedulePoll(): void {
  if (pollTimer || pending.size === 0) return;
  pollTimer = setTimeout(() => {
    pollTimer = undefined;
    const n = ++polls;
    const prove = n % PROVE_EVERY === 0;
    const reportedTurn = n % REPORTED_EVERY === 0;
    const reportedProve = n % (REPORTED_EVERY * PROVE_EVERY) === 0;
    for (const checks of [...pending.values()]) {
      for (const check of [...checks]) {
        if (!check.reported) check({ prove });
        else if (reportedTurn) check({ prove: reportedProve });
      }
    }
    schedulePoll();
  }, POLL_MS);
}

/**
 * The launcher that reported exits is gone (its children's exits will not be reported): every
 * watch is polled at the full rate again, and looked at once now.
 */
export function exitReportsLost(): void {
  for (const checks of [...pending.values()]) {
    for (const check of [...checks]) {
      if (!check.reported) continue;
      check.reported = false;
      check();
    }
  }
}

/** No process has this pid (ESRCH): dead for sure. Any other answer proves nothing. */
function surelyGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
}

function track(dir: string, check: Check): () => void {
  let checks = pending.get(dir);
  if (!checks) pending.set(dir, (checks = new Set()));
  checks.add(check);
  schedulePoll();
  return () => {
    checks.delete(check);
    if (checks.size === 0) pending.delete(dir);
    if (pending.size === 0 && pollTimer) {
      clearTimeout(pollTimer);
      pollTimer = undefined;
    }
  };
}

/** Check the pending watches of one task state dir now (its wrapper exited, say). */
export function recheckExit(dir: string): void {
  for (const check of [...(pending.get(dir) ?? [])]) check();
}

/** Resolves when the task's exit is known (or known to be unknowable). No deadline. */
export function watchExit(w: ExitWatch): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    let watcher: ReturnType<typeof watch> | undefined;
    let untrack: (() => void) | undefined;
    let done = false;
    const finish = (r: ExitResult | Error) => {
      if (done) return;
      done = true;
      watcher?.close();
      untrack?.();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const check: Check = (poll) => {
      if (done) return;
      try {
        // The common poll: the wrapper's pid still taken, so it has not exited (it writes the file
        // just before it does, and the file's event or the next poll after its exit reads it): one
        // kill(0), no look for the file (issue 14: half the idle poll's syscalls).
        if (poll && !poll.prove && !surelyGone(w.wrapperPid)) return;
        const r = readExitFile(w.exitFile);
        if (r) return finish(r);
        if (!isAlive(w.wrapperPid, w.wrapperStartTime)) {
          // The wrapper writes the file before it exits: look once more, then decide.
          const again = readExitFile(w.exitFile);
          if (again) return finish(again);
          if (!isAlive(w.pid, w.pidStartTime)) return finish(unknownExit());
          // The wrapper died before the task (SIGKILLed alone): nothing will report the task's end.
          check.reported = false;
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    try {
      watcher = watch(w.dir, { persistent: false }, (_event, name) => {
        if (name === 'exit') check();
      });
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined; // the poll still works
    }
    check.reported = w.reported === true;
    check();
    if (!done) untrack = track(w.dir, check);
  });
}
