/**
 * The plain executor: `raw_exec` tasks as detached processes, on any OS and
 * as any user (see plain-wrapper.ts for how a task is spawned and how its
 * exit is recorded while the agent is down).
 *
 * Per task it keeps `<dataDir>/plain/<id>/`: `exit` (written by the wrapper),
 * and `handle.json` (0600: the handle plus the env, cwd, user and log target
 * needed by exec and cleanup after an agent restart, and the task's identity,
 * driver and the caller's notes, which `list()` returns to an agent that lost
 * its store). stdout/stderr go
 * through the task's FIFOs to the log monitor.
 *
 * No cgroups: updateResources stores the new values and resolves (the task's
 * NOMAD_* environment cannot change, and nothing is enforced); stats come
 * from /proc of the task's processes; shutdown kills the process group and
 * every process carrying `TEND_TASK_ID=<id>`. exec runs the command as a
 * child of the agent with the task's env (plus the marker, so a task stop
 * also ends it), cwd and user; `tty` runs it on a new pseudo-terminal (util-linux script).
 * Process discovery reads /proc, so this backend runs on Linux only.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { describeError, errnoCode, isTendError, TendError } from '../errors.js';
import { platform } from '../platform.js';
import type { DriverAvailability, DriverName, ExecOptions, ExecSession, Executor, ExitResult, LaunchSpec, ListedTask, ReattachResult, TaskHandle, TaskIdentity, TaskResources, TaskStats, TtySize } from './executor.js';
import { asDriver, asIdentity, asNotes, identityFromEnv } from './identity.js';
import { FifoMaker } from './fifo-maker.js';
import { Launcher, LauncherLost } from './launcher.js';
import { logKeyOf, logPaths, type LogMonitorClient, type LogSource, type LogTarget } from './logs/logs.js';
import { exitReportsLost, readExitFile, recheckExit, unknownExit, watchExit } from './plain-exit.js';
import { findManyTaskProcs, killUntilGone, MARKER, sampleProcs, signalPids, startTicks, uptimeSeconds, type CpuTicks, type ProcScope } from './plain-procs.js';
import { ProcSweeper } from './plain-sweeper.js';
import { spawnWrapper } from './plain-wrapper.js';
import { onTerminal, resizeTerminalOf } from './tty.js';
import { descendants, isAlive, normalizeSignal, readStat, signalNumber } from './proc.js';
import { failedExec } from './exec-failure.js';

export interface PlainExecutorOptions {
  dataDir: string;
  logs: LogMonitorClient;
  logger?: pino.Logger;
  /** Starts the wrappers (launcher.ts). Default: a launcher of this executor's own; `false`: spawn from this process. */
  launcher?: Launcher | false;
  /** Finds the tasks' processes in /proc (plain-sweeper.ts). Default: one of this executor's own. */
  sweeper?: ProcSweeper;
}

/** What the plain executor keeps in TaskHandle.data. */
export interface PlainHandleData {
  dir: string;
  exitFile: string;
  wrapperPid: number;
  wrapperStartTime: number;
  pgid: number;
  logDir: string;
  task: string;
}

/** `<dataDir>/plain/<id>/handle.json`. */
interface SavedTask {
  handle: TaskHandle;
  env: Record<string, string>;
  cwd: string;
  user?: LaunchSpec['user'];
  resources: TaskResources;
  logs: LogTarget;
  /** Absent in files written before list() existed: the identity is then read from env. */
  identity?: TaskIdentity;
  driver?: DriverName;
  notes?: Record<string, unknown>;
}

/** After a SIGKILL of the task, how long the wrapper gets to record the exit. */
const WRAPPER_GRACE_MS = 2000;

/** Wait for a wrapper that recorded the exit to end (it has nothing left to do); kill it past WRAPPER_GRACE_MS. */
async function wrapperExit(scope: ProcScope): Promise<void> {
  const deadline = Date.now() + WRAPPER_GRACE_MS;
  while (isAlive(scope.wrapperPid, scope.wrapperStartTime)) {
    if (Date.now() >= deadline) return signalPids([scope.wrapperPid], 'SIGKILL');
    await sleep(5);
  }
}

/** What the log monitor collects for a plain task: for the agent's level-triggered `logs.sync` after a restart. */
export function plainLogEntry(spec: Pick<LaunchSpec, 'id' | 'identity' | 'logDir' | 'logs'>): { source: LogSource; target: LogTarget } {
  const fifos = logPaths(spec.logDir, logKeyOf(spec));
  return {
    source: { kind: 'fifo', stdoutFifo: fifos.stdoutFifo, stderrFifo: fifos.stderrFifo },
    target: { id: spec.id, logDir: spec.logDir, task: logKeyOf(spec), maxFiles: spec.logs.maxFiles, maxFileSizeBytes: spec.logs.maxFileSizeBytes },
  };
}

export function createPlainExecutor(opts: PlainExecutorOptions): Executor {
  return new PlainExecutor(opts);
}

class PlainExecutor implements Executor {
  readonly kind = 'plain' as const;
  readonly #root: string;
  readonly #logs: LogMonitorClient;
  readonly #log: pino.Logger;
  readonly #waits = new Map<string, Promise<ExitResult>>();
  readonly #cpu = new Map<string, { at: number; ticks: number }>();
  readonly #fifos = new FifoMaker();
  readonly #launcher: Launcher | undefined;
  /** Wrappers (by task id: the wrapper's pid) this process spawned, whose exits it is told of. */
  readonly #reported = new Map<string, number>();
  /** Whether this executor made its launcher (then closing the executor stops it). */
  readonly #ownLauncher: boolean;
  /** Every find of a task's processes: the stops in flight share its sweeps of /proc. */
  readonly #sweeper: ProcSweeper;
  /** Where each task's FIFOs are, as its handle file says (cleanup need not read the file again). */
  readonly #logTargets = new Map<string, Pick<LogTarget, 'logDir' | 'task'>>();

  constructor(opts: PlainExecutorOptions) {
    this.#root = path.join(opts.dataDir, 'plain');
    this.#ownLauncher = opts.launcher === undefined;
    this.#launcher = opts.launcher === false ? undefined : (opts.launcher ?? new Launcher());
    this.#launcher?.onLost(() => {
      this.#reported.clear();
      exitReportsLost();
    });
    this.#sweeper = opts.sweeper ?? new ProcSweeper();
    this.#logs = opts.logs;
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'executor', executor: 'plain' });
  }

  async fingerprint(): Promise<Record<DriverName, DriverAvailability>> {
    return {
      raw_exec: { ok: true },
      exec: { ok: false, reason: 'needs the oci executor (root, runc and conmon)' },
    };
  }

  async launch(spec: LaunchSpec): Promise<TaskHandle> {
    if (spec.driver !== 'raw_exec') {
      throw new TendError('E_DRIVER_UNAVAILABLE', `failed to launch task ${spec.id}: expected driver raw_exec, got ${spec.driver} (the exec driver needs the oci executor)`);
    }
    const fail = (what: string, cause?: unknown) =>
      new TendError('E_LAUNCH_FAILED', `failed to launch task ${spec.id}: ${what}`, { cause, details: { id: spec.id } });
    const dir = this.#dir(spec.id);
    const exitFile = path.join(dir, 'exit');
    const task = logKeyOf(spec);
    const fifos = logPaths(spec.logDir, task);
    const t0 = performance.now();
    if (!isDir(spec.cwd)) throw fail(`working directory ${spec.cwd} does not exist`);
    if (!resolveCommand(spec.command, spec.env.PATH, spec.cwd)) throw fail(`command "${spec.command}" not found or not executable`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      rmSync(exitFile, { force: true });
      rmSync(`${exitFile}.tmp`, { force: true });
      mkdirSync(spec.logDir, { recursive: true });
      await ensureFifos(this.#fifos, [fifos.stdoutFifo, fifos.stderrFifo]);
    } catch (err) {
      throw fail(`preparing ${dir}: ${describeError(err)}`, err);
    }

    const t1 = performance.now();
    const { source, target } = plainLogEntry(spec);
    const env = { ...spec.env, [MARKER]: spec.id };
    const argv = [...userPrefix(spec.user, fail), spec.command, ...spec.args];
    // The log monitor's registration and the wrapper's spawn side by side: the FIFOs exist, so what
    // the task prints before the monitor opens them waits in the pipe (64 KiB a stream). The task
    // is reported launched only once both are done (the monitor's state file lists it by then). No
    // log monitor (it cannot start, e.g. on a full disk) never refuses a task: the agent's revive()
    // registers the collection later.
    let t2 = t1;
    const collecting = this.#logs
      .collect(source, target)
      .catch((err: unknown) => err)
      .then((logsErr) => {
        if (logsErr) this.#log.warn({ id: spec.id, err: describeError(logsErr) }, 'task logs not collected yet: log monitor unavailable');
        t2 = performance.now();
      });
    let spawned: { wrapperPid: number; pid: number };
    try {
      [spawned] = await Promise.all([
        spawnWrapper({ dir, stdoutFifo: fifos.stdoutFifo, stderrFifo: fifos.stderrFifo, argv, cwd: spec.cwd, env, onExit: exitCheckOf(dir) }, this.#launcher),
        collecting,
      ]);
    } catch (err) {
      await collecting;
      // A launcher lost mid-request may have started the wrapper: whatever carries the marker goes.
      if (isTendError(err) && err.cause instanceof LauncherLost) await killUntilGone(async () => [...(await this.#sweeper.findMarked(new Set([spec.id]))).values()].flat());
      await this.cleanup(spec.id).catch(() => undefined);
      throw err;
    }
    const t3 = performance.now();
    const { wrapperPid, pid } = spawned;
    this.#reported.set(spec.id, wrapperPid);
    const wrapperStartTime = readStat(wrapperPid)?.startTime ?? -1;
    // -1: the command already ended before its start time could be read; its exit file tells the rest.
    const pidStartTime = readStat(pid)?.startTime ?? -1;
    const data: PlainHandleData = { dir, exitFile, wrapperPid, wrapperStartTime, pgid: wrapperPid, logDir: spec.logDir, task };
    const handle: TaskHandle = {
      version: 1,
      executor: 'plain',
      id: spec.id,
      pid,
      pidStartTime,
      startedAt: new Date().toISOString(),
      data: { ...data },
    };
    this.#save({ handle, env: spec.env, cwd: spec.cwd, user: spec.user, resources: spec.resources, logs: target, identity: spec.identity, driver: spec.driver, ...(spec.notes ? { notes: spec.notes } : {}) });
    // Where a launch's time went (ms): dirs and FIFOs, the log monitor's registration and the wrapper's spawn until it reported the task's pid (side by side), the rest.
    const ms = { prepare: round1(t1 - t0), logs: round1(t2 - t1), spawn: round1(t3 - t1), record: round1(performance.now() - t3) };
    this.#log.info({ id: spec.id, pid, wrapperPid, ...spec.identity, ms }, 'task launched');
    return handle;
  }

  wait(handle: TaskHandle): Promise<ExitResult> {
    const d = dataOf(handle);
    const key = `${handle.id}:${d.wrapperPid}:${d.wrapperStartTime}`;
    let p = this.#waits.get(key);
    if (!p) {
      const reported = this.#reported.get(handle.id) === d.wrapperPid;
      p = watchExit({ dir: d.dir, exitFile: d.exitFile, pid: handle.pid, pidStartTime: handle.pidStartTime, wrapperPid: d.wrapperPid, wrapperStartTime: d.wrapperStartTime, reported });
      this.#waits.set(key, p);
      const forget = () => this.#waits.delete(key);
      p.then(forget, forget);
    }
    return p;
  }

  async signal(handle: TaskHandle, signal: string): Promise<void> {
    const sig = parseSignal(signal, handle.id);
    const d = dataOf(handle);
    const wrapperAlive = isAlive(d.wrapperPid, d.wrapperStartTime);
    if (wrapperAlive && sig !== 'SIGKILL' && sig !== 'SIGSTOP') {
      // The wrapper traps it and stays to record the exit; everything else in the group gets it.
      try {
        process.kill(-d.pgid, sig);
        return;
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') throw new TendError('E_EXECUTOR', `failed to signal task ${handle.id}: ${errnoCode(err) ?? String(err)}`, { cause: err });
      }
    }
    // SIGKILL/SIGSTOP must spare the wrapper; without a wrapper the group is no longer proof.
    const procs = await this.#sweeper.find(scopeOf(handle));
    if (!procs.pids.length) throw new TendError('E_TASK_NOT_FOUND', `failed to signal task ${handle.id}: no process of it runs`);
    signalPids(procs.pids, sig);
  }

  async shutdown(handle: TaskHandle, signal: string, graceMs: number): Promise<ExitResult> {
    const sig = parseSignal(signal, handle.id);
    const scope = scopeOf(handle);
    const exited = this.wait(handle);
    const d = dataOf(handle);
    let result = readExitFile(d.exitFile);
    const running = isAlive(handle.pid, handle.pidStartTime) || isAlive(d.wrapperPid, d.wrapperStartTime);
    if (!result && running) {
      await this.signal(handle, sig).catch(() => undefined);
      result = await Promise.race([exited, sleep(Math.max(0, graceMs)).then(() => undefined)]);
      if (!result) {
        this.#log.info({ id: handle.id, graceMs }, 'task ignored its kill signal, killing it');
        await killUntilGone(async () => (await this.#sweeper.find(scope)).pids);
        result = await Promise.race([exited, sleep(WRAPPER_GRACE_MS).then(() => undefined)]);
      }
    }
    // A wrapper that recorded the exit is between writing it and its own exit: nothing is left after a
    // stop. Waited for first: its group then usually is empty, which spares the sweep a read of it.
    if (result) await wrapperExit(scope);
    // Whatever is left (descendants that outlived the main process, a stuck wrapper).
    const left = await killUntilGone(async () => {
      const procs = await this.#sweeper.find(scope);
      return procs.wrapperAlive && !result ? [...procs.pids, scope.wrapperPid] : procs.pids;
    });
    if (left.length) this.#log.warn({ id: handle.id, pids: left }, 'task processes survived SIGKILL');
    if (!result) result = readExitFile(dataOf(handle).exitFile) ?? { ...unknownExit('killed before its exit was recorded'), signal: 'SIGKILL', known: true };
    this.#cpu.delete(handle.id);
    this.#log.info({ id: handle.id, code: result.code, signal: result.signal }, 'task stopped');
    return result;
  }

  async updateResources(handle: TaskHandle, resources: TaskResources): Promise<void> {
    const saved = this.#load(handle.id);
    if (saved) this.#save({ ...saved, resources });
    this.#log.info({ id: handle.id }, 'task resources recorded (not enforced by the plain executor)');
  }

  async stats(handle: TaskHandle): Promise<TaskStats> {
    return this.#statsOf(handle, (await this.#sweeper.find(scopeOf(handle))).pids);
  }

  /** One walk of /proc for every task (findManyTaskProcs): what a scan per task would cost N times. */
  async statsAll(handles: readonly TaskHandle[]): Promise<Map<string, TaskStats>> {
    const scopes: ProcScope[] = [];
    for (const h of handles) {
      try {
        scopes.push(scopeOf(h));
      } catch {
        /* not a plain handle: no stats, as stats() would throw */
      }
    }
    const seen = new Map<number, CpuTicks>();
    const procs = findManyTaskProcs(scopes, seen);
    const out = new Map<string, TaskStats>();
    for (const h of handles) {
      const p = procs.get(h.id);
      if (p) out.set(h.id, this.#statsOf(h, p.pids, seen));
    }
    return out;
  }

  #statsOf(handle: TaskHandle, pids: readonly number[], seen?: ReadonlyMap<number, CpuTicks>): TaskStats {
    const s = sampleProcs(pids, seen);
    const ticks = s.userTicks + s.systemTicks;
    const hz = platform().clockTicks;
    const now = Date.now();
    const prev = this.#cpu.get(handle.id);
    let cpuPercent = 0;
    if (prev && now > prev.at) {
      cpuPercent = (Math.max(0, ticks - prev.ticks) / hz / ((now - prev.at) / 1000)) * 100;
    } else {
      // First sample: average over the main process's lifetime.
      const start = startTicks(handle.pid);
      const lifetime = start === undefined ? 0 : uptimeSeconds() - start / hz;
      if (lifetime > 0) cpuPercent = (ticks / hz / lifetime) * 100;
    }
    this.#cpu.set(handle.id, { at: now, ticks });
    return {
      at: now,
      pids: s.count,
      cpuPercent,
      cpuUserNs: Math.round((s.userTicks * 1e9) / hz),
      cpuSystemNs: Math.round((s.systemTicks * 1e9) / hz),
      memoryBytes: s.rssBytes,
      memoryRssBytes: s.rssBytes,
    };
  }

  async exec(handle: TaskHandle, command: string[], opts: ExecOptions = {}): Promise<ExecSession> {
    if (!command.length) throw new TendError('E_BAD_REQUEST', `failed to exec in task ${handle.id}: expected a command, got none`);
    const saved = this.#load(handle.id);
    if (!saved) throw new TendError('E_TASK_NOT_FOUND', `failed to exec in task ${handle.id}: its state dir is gone`);
    const fail = (what: string, cause?: unknown) => new TendError('E_EXECUTOR', `failed to exec in task ${handle.id}: ${what}`, { cause });
    let argv = [...userPrefix(saved.user, fail), ...command];
    let env: Record<string, string> = { ...saved.env, ...opts.env, [MARKER]: handle.id };
    if (opts.tty) ({ argv, env } = onTerminal(argv, env, opts.tty, fail));
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd ?? saved.cwd,
      env,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const spawned = await new Promise<unknown>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    // A command that cannot be run: said as a shell says it, with its exit code (127, 126).
    if (spawned) {
      const code = errnoCode(spawned);
      const cwdGone = code === 'ENOENT' && !isDir(opts.cwd ?? saved.cwd);
      if ((code === 'ENOENT' || code === 'EACCES') && !cwdGone) return failedExec(command[0], code, opts.stdin === true);
      if (cwdGone) throw fail(`working directory ${opts.cwd ?? saved.cwd} does not exist`, spawned);
      throw fail(`${command[0]}: ${code ?? (spawned as Error).message}`, spawned);
    }
    const exit = new Promise<number>((resolve) => {
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
    });
    return {
      stdin: child.stdin,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exit,
      kill: (signal: NodeJS.Signals = 'SIGKILL') => {
        // With a terminal, script relays: signal the command and what it started too.
        for (const pid of [...(child.pid ? descendants(child.pid) : []), child.pid]) {
          try {
            if (pid) process.kill(pid, signal);
          } catch {
            /* gone */
          }
        }
      },
      // The command under script holds the terminal's slave side as its stdin.
      ...(opts.tty ? { resize: (size: TtySize) => void resizeTerminalOf(child.pid ? descendants(child.pid).reverse() : [], size) } : {}),
    };
  }

  async reattach(handle: TaskHandle): Promise<ReattachResult> {
    if (handle.executor !== 'plain' || handle.version !== 1) {
      throw new TendError('E_EXECUTOR', `failed to reattach task ${handle.id}: expected a version 1 plain handle, got ${handle.executor} v${handle.version}`);
    }
    const d = dataOf(handle);
    if (isAlive(handle.pid, handle.pidStartTime)) return { state: 'running', handle };
    // The command is gone but the wrapper may be between its exit and writing the exit file.
    if (isAlive(d.wrapperPid, d.wrapperStartTime)) {
      const exit = await Promise.race([this.wait(handle), sleep(WRAPPER_GRACE_MS).then(() => undefined)]);
      if (!exit) return { state: 'running', handle };
      return { state: 'exited', exit };
    }
    const exit = readExitFile(d.exitFile);
    if (exit) return { state: 'exited', exit };
    this.#log.info({ id: handle.id, pid: handle.pid }, 'task gone without a recorded exit');
    return { state: 'exited', exit: unknownExit() };
  }

  async cleanup(id: string): Promise<void> {
    // The monitor's remove and the state dir at once, the dir through the thread pool: an rmdir on
    // ext4 can block for a millisecond. The FIFOs stay for the task's next run (as Nomad's task log
    // FIFOs do across restarts: a restart makes no new ones, ~3 ms of two mkfifo processes); they go
    // with the allocation's log dir.
    await Promise.all([
      this.#logs.remove(id).catch((err: unknown) => this.#log.warn({ id, err }, 'log collection removal failed')),
      removeStateDir(this.#dir(id)),
    ]);
    this.#logTargets.delete(id);
    this.#cpu.delete(id);
    this.#reported.delete(id);
  }

  async list(): Promise<ListedTask[]> {
    let ids: string[];
    try {
      ids = readdirSync(this.#root);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const out: ListedTask[] = [];
    for (const id of ids.sort()) {
      const saved = this.#load(id);
      // No handle file: the launch never got as far as reporting a process; gc removes what is left.
      if (!saved || !saved.handle || saved.handle.id !== id || saved.handle.executor !== 'plain') continue;
      const identity = asIdentity(saved.identity) ?? identityFromEnv(saved.env);
      if (!identity) {
        this.#log.warn({ id }, 'task state without a readable identity');
        continue;
      }
      const notes = asNotes(saved.notes);
      out.push({ id, identity, driver: asDriver(saved.driver) ?? 'raw_exec', handle: saved.handle, ...(notes ? { notes } : {}) });
    }
    return out;
  }

  async gc(known: ReadonlySet<string>): Promise<string[]> {
    let ids: string[];
    try {
      ids = readdirSync(this.#root).filter((id) => !known.has(id));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    if (!ids.length) return [];
    const unknown = new Set(ids);
    await killUntilGone(async () => [...(await this.#sweeper.findMarked(unknown)).values()].flat());
    // Every leftover's group and marked processes in one sweep a round (a sweep per task grows with the square).
    const scopes: ProcScope[] = [];
    for (const id of ids) {
      const saved = this.#load(id);
      try {
        if (saved) scopes.push(scopeOf(saved.handle));
      } catch (err) {
        this.#log.warn({ id, err: describeError(err) }, 'leftover task with an unreadable handle: only its marked processes were stopped');
      }
    }
    if (scopes.length) await killUntilGone(async () => [...(await this.#sweeper.findMany(scopes)).values()].flatMap((p) => p.pids));
    for (const id of ids) {
      await this.cleanup(id);
      this.#log.info({ id }, 'leftover task removed');
    }
    return ids;
  }

  async close(): Promise<void> {
    // Only the fifo maker and the launcher are the agent's: tasks and the log monitor keep running.
    this.#fifos.close();
    if (this.#ownLauncher) this.#launcher?.close();
  }

  #dir(id: string): string {
    if (!id || id.includes('/') || id === '.' || id === '..') throw new TendError('E_EXECUTOR', `expected a task id usable as a path segment, got ${JSON.stringify(id)}`);
    return path.join(this.#root, id);
  }

  #save(saved: SavedTask): void {
    const file = path.join(this.#dir(saved.handle.id), 'handle.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(saved), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    this.#logTargets.set(saved.handle.id, { logDir: saved.logs.logDir, task: saved.logs.task });
  }

  #load(id: string): SavedTask | undefined {
    try {
      return JSON.parse(readFileSync(path.join(this.#dir(id), 'handle.json'), 'utf8')) as SavedTask;
    } catch {
      return undefined;
    }
  }
}

function dataOf(handle: TaskHandle): PlainHandleData {
  const d = handle.data as Partial<PlainHandleData>;
  if (typeof d.wrapperPid !== 'number' || typeof d.exitFile !== 'string' || typeof d.dir !== 'string') {
    throw new TendError('E_EXECUTOR', `expected plain handle data (wrapperPid, exitFile, dir) for task ${handle.id}, got ${JSON.stringify(handle.data)}`);
  }
  return { pgid: d.wrapperPid, wrapperStartTime: -1, logDir: '', task: '', ...d } as PlainHandleData;
}

function scopeOf(handle: TaskHandle): ProcScope {
  const d = dataOf(handle);
  return { id: handle.id, pgid: d.pgid, wrapperPid: d.wrapperPid, wrapperStartTime: d.wrapperStartTime };
}

function parseSignal(signal: string, id: string): NodeJS.Signals {
  const sig = normalizeSignal(signal);
  if (!sig) throw new TendError('E_BAD_REQUEST', `failed to signal task ${id}: expected a signal name such as SIGTERM, got ${JSON.stringify(signal)}`);
  return sig;
}

/** setpriv prefix to run as the task's user; only when the agent is root. */
function userPrefix(user: LaunchSpec['user'], fail: (what: string) => Error): string[] {
  if (!user || !platform().isRoot) return [];
  const setpriv = platform().which('setpriv');
  if (!setpriv) throw fail(`running as user ${user.name} needs setpriv (util-linux) on PATH`);
  const groups = user.groups?.length ? `--groups=${user.groups.join(',')}` : '--clear-groups';
  return [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, groups, '--'];
}

/** Create the FIFOs that do not exist yet (through the fifo maker: Node has no mkfifo, and a fork of the agent is dear). */
async function ensureFifos(maker: FifoMaker, files: string[]): Promise<void> {
  const missing = files.filter((file) => {
    try {
      if (lstatSync(file).isFIFO()) return false;
      unlinkSync(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    return true;
  });
  if (missing.length) await maker.make(missing);
}

async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * A task's state dir (agent-only, 0700: no link planted there): the two files written there, then
 * the dir; whatever else is there (a temp file of an interrupted save) makes it a recursive remove.
 */
async function removeStateDir(dir: string): Promise<void> {
  await Promise.all(['exit', 'handle.json'].map((name) => unlinkIfThere(path.join(dir, name))));
  try {
    await fsp.rmdir(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The command as `exec` would find it: a path (relative to cwd) or a PATH lookup. */
function resolveCommand(command: string, pathEnv: string | undefined, cwd: string): string | undefined {
  const ok = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    const p = path.resolve(cwd, command);
    return ok(p) ? p : undefined;
  }
  for (const dir of (pathEnv ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', command);
    if (existsSync(p) && ok(path.resolve(cwd, p))) return p;
  }
  return undefined;
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * The launcher keeps a task's exit callback for as long as the task runs: made here, it holds `dir`
 * alone. A closure made inside launch() would hold launch()'s whole context, the spec and its env
 * among it (issue 14: ~6 KiB a task, the agent's largest per-task share of memory).
 */
function exitCheckOf(dir: string): () => void {
  return () => recheckExit(dir);
}
