/**
 * Destroying a cgroup, shared by v1 and v2: stop it from forking (freeze, or
 * v2 cgroup.kill), SIGKILL every process, thaw, wait until no process is
 * left, then remove the directories children first. Every wait polls with a
 * deadline; a cgroup that is already gone counts as destroyed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, TendError } from '../errors.js';
import { readProcsUnion, removeTree } from './cgroupfs.js';

/** Sends a signal to one process; throws an error with code ESRCH when it is gone (as process.kill does). */
export type Signaller = (pid: number, signal: NodeJS.Signals) => void;

export const defaultSignaller: Signaller = (pid, signal) => {
  process.kill(pid, signal);
};

/** The hierarchy-specific steps of a teardown. */
export interface TeardownSteps {
  /** Every directory of the cgroup, in every hierarchy it may exist in. */
  dirs: readonly string[];
  /** Kill everything at once (v2 cgroup.kill); false when not supported. */
  killAll?: () => Promise<boolean>;
  /** Start freezing; false when there is no freezer. */
  freeze?: () => Promise<boolean>;
  /** Whether the freeze has completed. */
  isFrozen?: () => Promise<boolean>;
  thaw?: () => Promise<void>;
}

export interface TeardownOptions {
  id: string;
  timeoutMs: number;
  intervalMs: number;
  signal: Signaller;
}

/**
 * SIGKILL each pid; returns the pids that still exist (ESRCH = gone). Never signals pid ≤ 1 or
 * ourselves. A pid that answered ESRCH is added to `gone` and never signalled again: the kernel
 * has reaped it, so a later listing of it is stale (or a fake tree), and the number may be reused.
 */
export function killPids(pids: readonly number[], signal: Signaller, id: string, gone: Set<number> = new Set()): number[] {
  const alive: number[] = [];
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 1 || gone.has(pid)) continue;
    if (pid === process.pid) {
      alive.push(pid); // the agent inside a task cgroup is a wiring bug: report it, never kill ourselves
      continue;
    }
    try {
      signal(pid, 'SIGKILL');
      alive.push(pid);
    } catch (err) {
      if (errnoCode(err) === 'ESRCH') {
        gone.add(pid);
        continue;
      }
      throw new TendError('E_CGROUP', `failed to kill process ${pid} of cgroup ${id}: ${errnoCode(err) ?? String(err)}`, {
        cause: err,
        details: { id, pid, errno: errnoCode(err) },
      });
    }
  }
  return alive;
}

/** What a teardown did, for the log. */
export interface TeardownResult {
  /** Distinct pids found in the cgroup and sent SIGKILL. */
  killed: number;
  /** Whether the freezer (or cgroup.kill) held the cgroup still during the kill. */
  frozen: boolean;
  killedAtOnce: boolean;
}

export async function teardown(steps: TeardownSteps, opts: TeardownOptions): Promise<TeardownResult> {
  const { id, intervalMs, signal } = opts;
  const deadline = Date.now() + opts.timeoutMs;
  const ignoreGone = async (fn: (() => Promise<unknown>) | undefined): Promise<unknown> => {
    try {
      return await fn?.();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  };

  const gone = new Set<number>();
  const seen = new Set<number>();
  const listed = async () => {
    const pids = await readProcsUnion(steps.dirs);
    for (const pid of pids) seen.add(pid);
    return pids;
  };
  // A cgroup with no process left (a task that already exited, the common case of a stop) has
  // nothing to freeze or kill: no process can enter it but through cgroup.procs.
  let killedAtOnce = false;
  let frozen = false;
  if ((await listed()).length > 0) {
    killedAtOnce = (await ignoreGone(steps.killAll)) === true;
    if (!killedAtOnce && (await ignoreGone(steps.freeze)) === true) {
      frozen = true;
      // Half the budget for the freeze: a task stuck in D state must not stop the kill.
      const freezeDeadline = Date.now() + opts.timeoutMs / 2;
      while (Date.now() < freezeDeadline && (await ignoreGone(steps.isFrozen)) === false) await sleep(intervalMs);
    }
    try {
      killPids(await listed(), signal, id, gone);
    } finally {
      if (frozen) await ignoreGone(steps.thaw);
    }

    // Wait until empty; signalling again on every round covers a process that forked before the freeze.
    let alive: number[] = [];
    for (;;) {
      alive = killPids(await listed(), signal, id, gone);
      if (alive.length === 0) break;
      if (Date.now() >= deadline) {
        throw new TendError('E_CGROUP', `failed to destroy cgroup ${id}: processes ${alive.join(', ')} still running after ${opts.timeoutMs}ms`, {
          details: { id, pids: alive },
        });
      }
      await sleep(intervalMs);
    }
  }

  // rmdir may report EBUSY for a moment while the kernel finishes the exits.
  for (const dir of steps.dirs) {
    for (;;) {
      try {
        await removeTree(dir);
        break;
      } catch (err) {
        if (errnoCode(err) !== 'EBUSY' || Date.now() >= deadline) {
          throw new TendError('E_CGROUP', `failed to remove cgroup ${dir}: ${errnoCode(err) ?? String(err)}`, {
            cause: err,
            details: { id, dir, errno: errnoCode(err) },
          });
        }
        await sleep(intervalMs);
      }
    }
  }
  return { killed: seen.size, frozen, killedAtOnce };
}
