/**
 * LogMonitorClient over the monitor's control socket. `ensure()` starts the
 * monitor when nothing answers `ping`: detached (own session), stdio to
 * `<dataDir>/logmon.log`, guarded by `<dataDir>/logmon.lock` (created
 * exclusively, holding the starter's pid; a lock whose pid is dead is taken
 * over) so two agents on one data dir never start two monitors.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tendBin } from '../../paths.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, TendError } from '../../errors.js';
import { isAlive } from '../proc.js';
import type { LogMonitorClient, LogSource, LogTarget } from './logs.js';
import { logmonPaths, requestLogmon, type LogmonRequest } from './protocol.js';

export interface LogMonitorClientOptions {
  dataDir: string;
  /** Command that runs `tend` (default: this node and bin/tend.js); `logmon -data-dir DIR` is appended. */
  command?: string[];
  /** How long ensure() waits for a monitor to answer (default 10 s). */
  startTimeoutMs?: number;
}


export function createLogMonitorClient(opts: LogMonitorClientOptions): LogMonitorClient {
  const paths = logmonPaths(opts.dataDir);
  const command = opts.command ?? [process.execPath, tendBin()];
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

  /** Take the start lock; false when a live process holds it. */
  const lock = (): boolean => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(paths.lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      let holder = NaN;
      try {
        holder = Number(readFileSync(paths.lock, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      if (holder && isAlive(holder)) return false;
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
    const out = openSync(paths.log, 'a');
    try {
      const child = spawn(command[0], [...command.slice(1), 'logmon', '-data-dir', opts.dataDir], {
        detached: true,
        stdio: ['ignore', out, out],
      });
      child.on('error', () => undefined);
      child.unref();
    } finally {
      closeSync(out);
    }
  };

  return {
    async ensure() {
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
    },
    add: (source: LogSource, target: LogTarget) => call({ op: 'add', source, target }),
    async remove(id: string) {
      if ((await ping()) === undefined) {
        removeFromState(paths.state, id);
        return;
      }
      await call({ op: 'remove', id });
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
  writeFileSync(`${file}.tmp`, JSON.stringify(state));
  renameSync(`${file}.tmp`, file);
}
