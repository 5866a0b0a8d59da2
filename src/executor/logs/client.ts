/**
 * LogMonitorClient over the monitor's control socket. `ensure()` starts the
 * monitor when nothing answers `ping`: detached (own session), stdio to
 * `<dataDir>/logmon.log`, guarded by `<dataDir>/logmon.lock` (created
 * exclusively, holding the starter's pid; a lock whose pid is dead is taken
 * over) so two agents on one data dir never start two monitors.
 *
 * A monitor that cannot be started or reached never refuses a task:
 * collect() keeps the entry and revive() (called periodically by the agent)
 * starts the monitor again and registers it.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tendBin } from '../../paths.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, TendError } from '../../errors.js';
import { isAlive } from '../proc.js';
import type { LogMonitorClient, LogSource, LogTarget } from './logs.js';
import { logmonPaths, requestLogmon, type LogmonRequest, type LogmonStatus } from './protocol.js';

export interface LogMonitorClientOptions {
  dataDir: string;
  /** Command that runs `tend` (default: defaultCommand()); `logmon -data-dir DIR` is appended. */
  command?: string[];
  /** How long ensure() waits for a monitor to answer (default 10 s). */
  startTimeoutMs?: number;
}


/**
 * This node and tend's entry: the bundle's (dist/tend.js) when this module runs from the bundle, as
 * the parser and the launcher are started; bin/tend.js from the sources. bin/tend.js would first
 * walk src/ to see whether the bundle is fresh, which leaves the long-lived monitor ~5 MiB more
 * RSS (bench/README.md, "Log monitor memory").
 */
function defaultCommand(): string[] {
  return [process.execPath, import.meta.url.endsWith('.ts') ? tendBin() : fileURLToPath(new URL('./tend.js', import.meta.url))];
}

/** After a failed monitor start, how long collect() reports that failure without waiting for another start. */
const FAIL_FAST_MS = 30_000;

export function createLogMonitorClient(opts: LogMonitorClientOptions): LogMonitorClient {
  const paths = logmonPaths(opts.dataDir);
  const command = opts.command ?? defaultCommand();
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;

  const ping = async (): Promise<number | undefined> => {
    try {
      const res = await requestLogmon(paths.socket, { op: 'ping' }, 2000);
      return res.ok ? res.pid : undefined;
    } catch {
      return undefined;
    }
  };

  const call = async (req: LogmonRequest): Promise<void> => {
    let res;
    try {
      res = await requestLogmon(paths.socket, req);
    } catch (err) {
      throw new TendError('E_EXECUTOR', `failed to ${req.op} log collection: log monitor unreachable: ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
    if (!res.ok) throw new TendError('E_EXECUTOR', `failed to ${req.op} log collection: ${res.error}`);
  };

  /** Entries collect() could not register, by task id, for revive(). */
  const unregistered = new Map<string, { source: LogSource; target: LogTarget }>();
  /** The last failed start: launches within FAIL_FAST_MS of it do not wait startTimeoutMs again (revive() retries). */
  let lastStartFailure: { at: number; err: Error } | undefined;

  /** Take the start lock; false when a live process holds it. */
  const lock = (): boolean => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(paths.lock, 'wx');
        try {
          writeSync(fd, String(process.pid));
        } catch {
          // A full disk: the lock is held all the same; an empty one is trusted while it is young.
        } finally {
          closeSync(fd);
        }
        return true;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      let holder = NaN;
      let young = false;
      try {
        holder = Number(readFileSync(paths.lock, 'utf8'));
        young = Date.now() - statSync(paths.lock).mtimeMs < startTimeoutMs;
      } catch {
        continue; // released meanwhile
      }
      if (holder ? isAlive(holder) : young) return false;
      try {
        unlinkSync(paths.lock); // stale: its holder died
      } catch {
        /* another starter took it over first */
      }
    }
    return false;
  };

  const unlock = () => {
    try {
      unlinkSync(paths.lock);
    } catch {
      /* already gone */
    }
  };

  const waitForPing = async (): Promise<number | undefined> => {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const pid = await ping();
      if (pid !== undefined || Date.now() >= deadline) return pid;
      await sleep(20);
    }
  };

  const spawnMonitor = () => {
    let out: number | 'ignore' = 'ignore';
    try {
      out = openSync(paths.log, 'a');
    } catch {
      // No room even for an empty logmon.log: the monitor runs without its own log.
    }
    try {
      const child = spawn(command[0], [...command.slice(1), 'logmon', '-data-dir', opts.dataDir], {
        detached: true,
        stdio: ['ignore', out, out],
      });
      child.on('error', () => undefined);
      child.unref();
    } finally {
      if (out !== 'ignore') closeSync(out);
    }
  };

  const ensure = async () => {
    if ((await ping()) !== undefined) return;
    mkdirSync(opts.dataDir, { recursive: true });
    const deadline = Date.now() + startTimeoutMs;
    while (!lock()) {
      // Another agent is starting it: wait for that one.
      if ((await ping()) !== undefined) return;
      if (Date.now() >= deadline) throw new TendError('E_EXECUTOR', `failed to start log monitor: ${paths.lock} stays held`);
      await sleep(20);
    }
    try {
      if ((await ping()) !== undefined) return;
      spawnMonitor();
      if ((await waitForPing()) === undefined) {
        throw new TendError('E_EXECUTOR', `failed to start log monitor: no answer on ${paths.socket} within ${startTimeoutMs}ms (see ${paths.log})`);
      }
    } finally {
      unlock();
    }
  };

  return {
    ensure,
    add: (source: LogSource, target: LogTarget) => call({ op: 'add', source, target }),
    async collect(source: LogSource, target: LogTarget) {
      // A monitor that runs takes the add at once: one connection, no ping first.
      if (!lastStartFailure) {
        try {
          const res = await requestLogmon(paths.socket, { op: 'add', source, target });
          if (!res.ok) throw new TendError('E_EXECUTOR', `failed to add log collection: ${res.error}`);
          unregistered.delete(target.id);
          return undefined;
        } catch (err) {
          if (!isNoMonitor(err)) {
            unregistered.set(target.id, { source, target });
            return err instanceof TendError ? err : new TendError('E_EXECUTOR', `failed to add log collection: log monitor unreachable: ${errnoCode(err) ?? String(err)}`, { cause: err });
          }
          // None listens: started below.
        }
      }
      if (lastStartFailure && Date.now() - lastStartFailure.at < FAIL_FAST_MS && (await ping()) === undefined) {
        unregistered.set(target.id, { source, target });
        return lastStartFailure.err;
      }
      try {
        try {
          await ensure();
        } catch (err) {
          lastStartFailure = { at: Date.now(), err: err instanceof Error ? err : new Error(String(err)) };
          throw err;
        }
        await call({ op: 'add', source, target });
        unregistered.delete(target.id);
        return undefined;
      } catch (err) {
        unregistered.set(target.id, { source, target });
        return err instanceof Error ? err : new Error(String(err));
      }
    },
    async revive() {
      if (unregistered.size === 0 && (await ping()) !== undefined) return;
      await ensure();
      lastStartFailure = undefined;
      for (const [id, e] of [...unregistered]) {
        await call({ op: 'add', source: e.source, target: e.target });
        unregistered.delete(id);
      }
    },
    unregistered: () => [...unregistered.keys()],
    async status(): Promise<LogmonStatus | undefined> {
      try {
        const res = await requestLogmon(paths.socket, { op: 'status' }, 2000);
        return res.ok ? res.status : undefined;
      } catch {
        return undefined;
      }
    },
    async remove(id: string) {
      unregistered.delete(id);
      // One connection: a monitor that runs flushes and drops the collection; none listening, the state file forgets it.
      let res;
      try {
        res = await requestLogmon(paths.socket, { op: 'remove', id });
      } catch (err) {
        if (isNoMonitor(err)) {
          removeFromState(paths.state, id);
          return;
        }
        throw new TendError('E_EXECUTOR', `failed to remove log collection: log monitor unreachable: ${errnoCode(err) ?? String(err)}`, { cause: err });
      }
      if (!res.ok) throw new TendError('E_EXECUTOR', `failed to remove log collection: ${res.error}`);
    },
    sync: (all) => call({ op: 'sync', all }),
    pid: ping,
    async stop() {
      const pid = await ping();
      if (pid === undefined) return;
      await call({ op: 'stop' });
      const deadline = Date.now() + startTimeoutMs;
      while (isAlive(pid)) {
        if (Date.now() >= deadline) throw new TendError('E_EXECUTOR', `failed to stop log monitor: pid ${pid} still runs after ${startTimeoutMs}ms`);
        await sleep(10);
      }
    },
  };
}

/** Nobody listens on the monitor's socket (none there, or a stale one): the connection itself failed. */
function isNoMonitor(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/** With no monitor running, forget a task in its state file so a later monitor does not resume it. */
function removeFromState(file: string, id: string): void {
  let state: { version: 1; tasks: Record<string, unknown> };
  try {
    state = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  if (!state.tasks || !(id in state.tasks)) return;
  delete state.tasks[id];
  try {
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  } catch (err) {
    // A full disk: the entry stays; a later monitor resumes it, and the next add of the id replaces it.
    if (errnoCode(err) !== 'ENOSPC' && errnoCode(err) !== 'EDQUOT') throw err;
    try {
      unlinkSync(`${file}.tmp`);
    } catch {
      /* not there */
    }
  }
}
