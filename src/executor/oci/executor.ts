/**
 * The oci executor: every task is an OCI bundle run by runc under a per-task
 * conmon that outlives the agent, owns the task's output (k8s-file log) and
 * writes its exit code. Limits, stats, OOM detection and teardown go through
 * the cgroup manager.
 */
import { Launcher } from '../launcher.js';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import pino from 'pino';
import { describeError, errnoCode, TendError } from '../../errors.js';
import { platform } from '../../platform.js';
import type { CgroupLimits } from '../../cgroups/cgroups.js';
import type {
  DriverAvailability, DriverName, ExecOptions, ExecSession, Executor, ExitResult, LaunchSpec,
  ListedTask, ReattachResult, TaskHandle, TaskResources, TaskStats, TtySize,
} from '../executor.js';
import { asDriver, asIdentity, asNotes, identityFromEnv } from '../identity.js';
import { logKeyOf, logPaths } from '../logs/logs.js';
import { isAlive, normalizeSignal, readStat } from '../proc.js';
import { buildSpec, hostRootEntries, writeBundle, type OciSpec } from './bundle.js';
import { startConmon } from './conmon.js';
import { execTarget, runningSpec, startExec } from './exec-session.js';
import { landsOnOwnRoot, removeTerminalLeftovers, startTerminalExec } from './terminal.js';
import { ExitWatcher, readExitFile, type ExitRecord } from './exit-watch.js';
import { unmountUnder } from './mounts.js';
import { OciLayout, type OciExecutorOptions, type OciHandleData, type TaskRecordFile } from './oci.js';
import { OciRuntime } from './runtime.js';

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function assertId(id: string): void {
  if (!ID_RE.test(id)) throw new TendError('E_LAUNCH_FAILED', `failed to launch task: expected an id of letters, digits, "_", "." or "-", got "${id}"`);
}

export function cgroupLimits(r: TaskResources, defaultPids: number): CgroupLimits {
  return {
    cpuShares: r.cpuShares,
    cpuset: r.cores?.length ? r.cores : undefined,
    memoryReservationBytes: r.memoryBytes > 0 ? Math.min(r.memoryBytes, r.memoryMaxBytes > 0 ? r.memoryMaxBytes : r.memoryBytes) : 0,
    memoryMaxBytes: r.memoryMaxBytes,
    pidsMax: r.pidsLimit ?? defaultPids,
  };
}

/** Decode conmon's status: <128 an exit code, 128+N signal N. */
export function exitFromStatus(status: number, at: Date, oomKilled: boolean): ExitResult {
  const signal = status > 128 && status < 128 + 65 ? normalizeSignal(status - 128) ?? `SIG${status - 128}` : null;
  return {
    code: signal ? null : status,
    signal,
    oomKilled,
    at: at.toISOString(),
    known: true,
    ...(oomKilled ? { message: 'OOM killed' } : {}),
  };
}

export class OciExecutor implements Executor {
  readonly kind = 'oci' as const;
  readonly #opts: OciExecutorOptions;
  readonly #layout: OciLayout;
  readonly #runtime: OciRuntime;
  readonly #launcher: Launcher | undefined;
  /** Whether this executor made its launcher (then closing the executor stops it). */
  readonly #ownLauncher: boolean;
  readonly #exits: ExitWatcher;
  readonly #log: pino.Logger;
  /** Exit results already computed (the cgroup may be gone by the next wait). */
  readonly #results = new Map<string, Promise<ExitResult>>();
  /** The log monitor made sure of once by reattach (see #monitorLogs). */
  #logsEnsured: Promise<void> | undefined;
  /** Whether runc exec lands on the task's root on this host (asked once, for `exec -t`). */
  #ownRoot: Promise<boolean> | undefined;

  constructor(opts: OciExecutorOptions) {
    this.#opts = opts;
    this.#layout = new OciLayout(opts.dataDir);
    this.#launcher = opts.launcher === false ? undefined : (opts.launcher ?? new Launcher());
    this.#ownLauncher = opts.launcher === undefined;
    this.#runtime = new OciRuntime(platform().which(opts.runtime) ?? opts.runtime, this.#layout.runcRoot, this.#launcher);
    this.#exits = new ExitWatcher(this.#layout.exitDir);
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'executor.oci' });
  }

  get layout(): OciLayout {
    return this.#layout;
  }

  async fingerprint(): Promise<Record<DriverName, DriverAvailability>> {
    const p = platform();
    let avail: DriverAvailability = { ok: true };
    if (!p.isLinux) avail = { ok: false, reason: 'requires Linux' };
    else if (!p.isRoot) avail = { ok: false, reason: 'requires root' };
    else if (!p.which(this.#opts.runtime)) avail = { ok: false, reason: `${this.#opts.runtime} not found on PATH` };
    else if (!p.which(this.#opts.conmon)) avail = { ok: false, reason: `${this.#opts.conmon} not found on PATH` };
    else {
      const c = await this.#opts.cgroups.check();
      if (!c.ok) avail = { ok: false, reason: c.reason };
    }
    return { exec: avail, raw_exec: avail };
  }

  async launch(spec: LaunchSpec): Promise<TaskHandle> {
    const { id } = spec;
    assertId(id);
    const log = this.#log.child({ id, job: spec.identity.job, group: spec.identity.group, index: spec.identity.index, task: spec.identity.task });
    const cg = this.#opts.cgroups;
    const bundle = this.#layout.bundle(id);
    await Promise.all([this.#layout.exitDir, this.#layout.socketDir, this.#layout.runcRoot].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
    await this.#runtime.delete(id).catch(() => undefined);
    await rm(this.#layout.exitFile(id), { force: true });
    this.#results.delete(id);
    const started = Date.now();
    const conmonLog = logPaths(spec.logDir, logKeyOf(spec)).conmonLog;
    // conmon appends to the file a previous run of this task left in the alloc dir, and a new
    // collection reads it from offset 0: that run's output would reach the task's logs again.
    // Its collection is flushed to the end and dropped first, then the file goes; meanwhile the
    // bundle and the cgroup are made.
    const logsCleared = this.#opts.logs.remove(id).then(() => Promise.all([rm(conmonLog, { force: true }), rm(`${conmonLog}.1`, { force: true })]));
    logsCleared.catch(() => undefined);
    let logsCollected: Promise<Error | undefined> | undefined;
    try {
      const hostEntries = spec.isolation ? [] : hostRootEntries();
      const oci = buildSpec(spec, this.#layout.rootfs(id), { cgroupsPath: cg.cgroupsPath(id), pidsLimit: this.#opts.pidsLimit, hostEntries });
      // The bundle first: it is the record gc finds an id by, so no cgroup exists without one.
      await writeBundle(bundle, oci, hostEntries);
      // Who the task is, before anything of it runs: a store lost from here on can be rebuilt.
      const recordFile: TaskRecordFile = { version: 1, id, identity: spec.identity, driver: spec.driver, ...(spec.notes ? { notes: spec.notes } : {}) };
      await writeJsonAtomic(this.#layout.identityFile(id), recordFile);
      await cg.create(id, spec.noCgroups ? {} : cgroupLimits(spec.resources, this.#opts.pidsLimit));
      const oomKillsAtStart = await cg.oomKills(id).catch(() => 0);
      await mkdir(spec.logDir, { recursive: true });
      await logsCleared;
      const written = Date.now();
      const pid = await startConmon({
        conmon: platform().which(this.#opts.conmon) ?? this.#opts.conmon,
        runtime: this.#runtime.binary,
        layout: this.#layout,
        id,
        name: `${spec.identity.job}.${spec.identity.group}.${spec.identity.index}.${spec.identity.task}`,
        logPath: conmonLog,
        noPivot: spec.isolation?.noPivotRoot ?? false,
        timeoutMs: this.#opts.createTimeoutMs ?? 30_000,
        launcher: this.#launcher,
      });
      const created = Date.now();
      await this.#runtime.start(id, pid).catch((err: unknown) => {
        throw new TendError('E_LAUNCH_FAILED', `failed to launch task ${id}: ${describeError(err)}`, { cause: err });
      });
      // Asked once the task runs (its first output is then usually in conmon's file, read and in
      // the monitor's durable state with the answer), and answered while the handle is made. A
      // fresh agent (or one whose monitor died) has no log monitor yet: collect() starts it. A
      // monitor that cannot start never stops the task: conmon keeps its file, the agent's
      // revive() registers it later.
      logsCollected = this.#opts.logs.collect(
        { kind: 'k8s-file', path: conmonLog, ctlFifo: this.#layout.ctlFifo(id) },
        { id, logDir: spec.logDir, task: logKeyOf(spec), maxFiles: spec.logs.maxFiles, maxFileSizeBytes: spec.logs.maxFileSizeBytes },
      );
      logsCollected.catch(() => undefined);
      const stat = readStat(pid);
      const conmonPid = Number((await readFile(this.#layout.conmonPidFile(id), 'utf8')).trim());
      const conmonStat = readStat(conmonPid);
      const logsErr = await logsCollected;
      if (logsErr) log.warn({ err: describeError(logsErr) }, 'task logs not collected yet: log monitor unavailable');
      const data: OciHandleData = {
        bundle,
        exitFile: this.#layout.exitFile(id),
        conmonPid,
        conmonStartTime: conmonStat?.startTime ?? 0,
        oomKillsAtStart,
        driver: spec.driver,
        ...(spec.resources.cores?.length ? { cores: [...spec.resources.cores] } : {}),
        ...(spec.noCgroups ? { noCgroups: true } : {}),
      };
      const handle: TaskHandle = { version: 1, executor: 'oci', id, pid, pidStartTime: stat?.startTime ?? 0, startedAt: new Date().toISOString(), data: { ...data } };
      await writeJsonAtomic(this.#layout.identityFile(id), { ...recordFile, handle });
      log.debug({ pid, prepareMs: written - started, createMs: created - written, startMs: Date.now() - created }, 'task launched');
      return handle;
    } catch (err) {
      log.warn({ err: describeError(err) }, 'task launch failed');
      // The collection asked for is answered before cleanup drops it (else it could land after).
      await logsCollected?.catch(() => undefined);
      await this.cleanup(id).catch((e: unknown) => log.warn({ err: describeError(e) }, 'cleanup after failed launch failed'));
      if (err instanceof TendError && err.code === 'E_LAUNCH_FAILED') {
        // An exec task's root is built from the agent's chroot_env: the usual reason a command is missing.
        if (spec.driver === 'exec' && typeof err.details.reason === 'string' && err.details.reason.endsWith("not found in the task's root")) {
          err.details.reason += ' (an exec task sees the chroot_env dirs of the agent config and its own dirs only)';
        }
        throw err;
      }
      throw new TendError('E_LAUNCH_FAILED', `failed to launch task ${id}: ${describeError(err)}`, { cause: err, details: { id } });
    }
  }

  wait(handle: TaskHandle): Promise<ExitResult> {
    let p = this.#results.get(handle.id);
    if (!p) {
      p = this.#waitExit(handle);
      this.#results.set(handle.id, p);
      p.catch(() => this.#results.delete(handle.id));
    }
    return p;
  }

  async #waitExit(handle: TaskHandle): Promise<ExitResult> {
    const d = handle.data as unknown as OciHandleData;
    // conmon writes the exit file and then exits: gone without a file means it died first.
    const rec = await this.#exits.wait(handle.id, () => !isMonitorAlive(d, handle), this.#layout.winszFifo(handle.id));
    return rec ? this.#toExit(handle, rec) : this.#monitorLost(handle);
  }

  /**
   * conmon died (killed, OOM-killed, crashed) before the task exited. The container runs on,
   * reparented to the host's init: its stdout/stderr pipes have no reader (its next write fails
   * with EPIPE, or kills it with SIGPIPE), no exit file will ever be written and runc still says
   * running. conmon cannot be re-attached to a running container, so the task is stopped —
   * its whole cgroup killed, nothing left running unwatched — and reported as an exit; the caller
   * applies the restart policy, which starts it again under a new conmon. Idempotent.
   */
  async #monitorLost(handle: TaskHandle): Promise<ExitResult> {
    const d = handle.data as unknown as OciHandleData;
    const cg = this.#opts.cgroups;
    const [pids, kills] = await Promise.all([cg.pids(handle.id).catch(() => [] as number[]), cg.oomKills(handle.id).catch(() => 0)]);
    const running = pids.length > 0 || isAlive(handle.pid, handle.pidStartTime || undefined);
    await cg.destroy(handle.id).catch((err: unknown) => this.#log.warn({ id: handle.id, err: describeError(err) }, 'failed to destroy the cgroup of a task whose monitor died'));
    // The container's init, should it have escaped its cgroup (or the destroy failed).
    signalInit(handle, 'SIGKILL');
    this.#log.warn({ id: handle.id, conmonPid: d.conmonPid, pid: handle.pid, killed: pids.length }, 'task monitor died; task stopped');
    return {
      code: null,
      signal: running ? 'SIGKILL' : null,
      oomKilled: kills > (d.oomKillsAtStart ?? 0),
      at: new Date().toISOString(),
      known: false,
      message: 'monitor (conmon) died; task stopped',
      monitorLost: { pid: d.conmonPid },
    };
  }

  async #toExit(handle: TaskHandle, rec: ExitRecord | undefined): Promise<ExitResult> {
    const d = handle.data as unknown as OciHandleData;
    if (!rec) return { code: null, signal: null, oomKilled: false, at: new Date().toISOString(), known: false, message: 'exit code not recorded' };
    const kills = await this.#opts.cgroups.oomKills(handle.id).catch(() => 0);
    return exitFromStatus(rec.status, rec.at, kills > (d.oomKillsAtStart ?? 0));
  }

  async signal(handle: TaskHandle, signal: string): Promise<void> {
    const sig = normalizeSignal(signal);
    if (!sig) throw new TendError('E_BAD_REQUEST', `failed to signal task ${handle.id}: expected a signal name, got "${signal}"`);
    signalInit(handle, sig);
  }

  async shutdown(handle: TaskHandle, signal: string, graceMs: number): Promise<ExitResult> {
    const exit = this.wait(handle);
    const sig = normalizeSignal(signal) ?? 'SIGINT';
    try {
      signalInit(handle, sig);
    } catch (err) {
      this.#log.debug({ id: handle.id, err: describeError(err) }, 'signal on shutdown failed');
    }
    let timer: NodeJS.Timeout | undefined;
    const graced = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
    clearTimeout(timer);
    if (!graced) this.#log.debug({ id: handle.id, graceMs }, 'task outlived its grace period');
    await this.#opts.cgroups.destroy(handle.id);
    // The container's init is gone now: conmon writes the exit file at once.
    let timer2: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      exit,
      new Promise<ExitResult>((r) => (timer2 = setTimeout(() => r({ code: null, signal: 'SIGKILL', oomKilled: false, at: new Date().toISOString(), known: false, message: 'exit code not recorded' }), 5000))),
    ]);
    clearTimeout(timer2);
    // The cgroup is gone, so is every process of the container: its runtime state goes without a runtime process.
    await this.#runtime.deleteStopped(handle.id);
    return result;
  }

  async updateResources(handle: TaskHandle, resources: TaskResources): Promise<void> {
    const d = handle.data as unknown as OciHandleData;
    if (d.noCgroups) return;
    const limits = cgroupLimits(resources, this.#opts.pidsLimit);
    await this.#opts.cgroups.update(handle.id, { ...limits, cpuset: resources.cores?.length ? resources.cores : d.cores?.length ? [] : undefined });
  }

  async stats(handle: TaskHandle): Promise<TaskStats> {
    const s = await this.#opts.cgroups.stats(handle.id);
    return {
      at: s.at,
      pids: s.pids,
      cpuPercent: s.cpu.percent,
      cpuUserNs: s.cpu.userNs,
      cpuSystemNs: s.cpu.systemNs,
      cpuThrottledPeriods: s.cpu.throttledPeriods,
      memoryBytes: s.memory.usageBytes,
      memoryRssBytes: s.memory.rssBytes,
      memoryCacheBytes: s.memory.cacheBytes,
      memorySwapBytes: s.memory.swapBytes,
      memoryMaxUsageBytes: s.memory.maxUsageBytes,
      memoryLimitBytes: s.memory.limitBytes,
    };
  }

  async exec(handle: TaskHandle, command: string[], opts: ExecOptions = {}): Promise<ExecSession> {
    if (opts.tty) return this.#terminalExec(handle, command, { ...opts, tty: opts.tty });
    const target = await execTarget(handle.id, this.#layout.bundle(handle.id), handle.pid, handle.pidStartTime, this.#opts.cgroups.allPaths(handle.id));
    return startExec(target, command, opts);
  }

  /** `exec -t`: on the runtime's own terminal, through conmon (terminal.ts). */
  async #terminalExec(handle: TaskHandle, command: string[], opts: ExecOptions & { tty: TtySize }): Promise<ExecSession> {
    const fail = (what: string) => new TendError('E_EXECUTOR', `failed to exec in task ${handle.id}: ${what}`, { details: { id: handle.id } });
    if (command.length === 0) throw new TendError('E_BAD_REQUEST', `failed to exec in task ${handle.id}: expected a command, got none`);
    const spec = await runningSpec(handle.id, this.#layout.bundle(handle.id), handle.pid, handle.pidStartTime);
    const p = platform();
    const perl = p.which('perl');
    if (!perl) throw fail("a terminal (-t) needs perl (Debian's perl-base) on this host: it relays conmon's attach socket");
    const nsenter = p.which('nsenter');
    if (!nsenter) throw fail('nsenter (util-linux) is not installed on this host');
    // Asked once; a check that could not run is asked again next time.
    this.#ownRoot ??= landsOnOwnRoot(nsenter, this.#layout.execsDir).catch((err: unknown) => {
      this.#ownRoot = undefined;
      throw fail(`could not check where runc exec lands on this host: ${describeError(err)}`);
    });
    if (!(await this.#ownRoot)) {
      throw fail("a terminal (-t) enters the task through runc exec, which on this host would land outside the task's root (the agent runs chrooted); run the command without -t");
    }
    return startTerminalExec(
      {
        id: handle.id,
        spec,
        conmon: p.which(this.#opts.conmon) ?? this.#opts.conmon,
        runtime: this.#runtime.binary,
        runcRoot: this.#layout.runcRoot,
        execsDir: this.#layout.execsDir,
        socketDir: this.#layout.socketDir,
        perl,
      },
      command,
      opts,
    );
  }

  async reattach(handle: TaskHandle): Promise<ReattachResult> {
    const d = handle.data as unknown as OciHandleData;
    if (handle.executor !== 'oci' || handle.version !== 1 || !d || typeof d.exitFile !== 'string') {
      throw new TendError('E_EXECUTOR', `failed to reattach task ${handle.id}: expected an oci handle of version 1, got ${handle.executor} v${handle.version}`);
    }
    await this.#monitorLogs();
    const recorded = await readExitFile(this.#layout.exitFile(handle.id));
    if (recorded) return { state: 'exited', exit: await this.wait(handle) };
    // A task whose conmon died is not adopted: wait() stops it and reports the monitor lost.
    if (isMonitorAlive(d, handle) && isAlive(handle.pid, handle.pidStartTime)) {
      const state = await this.#runtime.state(handle.id).catch(() => undefined);
      if (state && state.pid === handle.pid && (state.status === 'running' || state.status === 'paused')) {
        if (d.cores?.length) this.#opts.cgroups.cpusets.adopt(handle.id, d.cores);
        return { state: 'running', handle };
      }
    }
    // Not running, or unmonitored: the exit file is written by conmon right after the exit, or never (monitor gone).
    return { state: 'exited', exit: await this.wait(handle) };
  }

  /**
   * After an agent restart the log monitor may be gone as well (killed with it, crashed): started
   * again, it resumes every collection of its state file at the checkpoint, so output a task wrote
   * meanwhile reaches its log, and the cleanup of a task that ended meanwhile flushes its last lines
   * instead of dropping them with the monitor's entry. Once per executor; a failure is logged, not
   * fatal to the reattach.
   */
  #monitorLogs(): Promise<void> {
    this.#logsEnsured ??= this.#opts.logs.ensure().catch((err: unknown) => {
      this.#log.warn({ err: describeError(err) }, 'failed to start the log monitor on reattach');
      this.#logsEnsured = undefined;
    });
    return this.#logsEnsured;
  }

  async cleanup(id: string): Promise<void> {
    assertId(id);
    const errors: unknown[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (err) {
        this.#log.warn({ id, step: what, err: describeError(err) }, 'cleanup step failed');
        errors.push(err);
        return false;
      }
    };
    // The cgroup first: once it is destroyed no process of the container is left, and runc's
    // state of it is removed without starting runc (a runc delete after a shutdown found nothing).
    const destroyed = await step('destroy cgroup', () => this.#opts.cgroups.destroy(id));
    // The log collection is flushed and dropped (a round trip to the log monitor) while the rest goes.
    const logsStopped = step('stop log collection', () => this.#opts.logs.remove(id));
    await step('delete container', () => (destroyed ? this.#runtime.deleteStopped(id) : this.#runtime.delete(id)));
    const bundle = this.#layout.bundle(id);
    await step('unmount bundle', () => unmountUnder(bundle));
    await Promise.all([
      // A cgroup still there keeps its bundle: the record by which the next gc finds the id again.
      destroyed ? step('remove bundle', () => rm(bundle, { recursive: true, force: true })) : undefined,
      step('remove exit file', () => rm(this.#layout.exitFile(id), { force: true })),
      step('remove attach socket', () => rm(`${this.#layout.socketDir}/${id}`, { recursive: true, force: true })),
      logsStopped,
    ]);
    this.#results.delete(id);
    if (errors.length) throw new TendError('E_EXECUTOR', `failed to clean up task ${id}: ${errors.map(describeError).join('; ')}`, { cause: errors[0], details: { id } });
  }

  /**
   * The tasks of this executor's bundle dirs. Each bundle's identity.json names the task (and holds
   * its handle once it ran); a bundle written before identity files existed is read from its
   * config.json (the NOMAD_* variables of its env) and its pid files. Reads only.
   */
  async list(): Promise<ListedTask[]> {
    const out: ListedTask[] = [];
    for (const id of (await dirEntries(this.#layout.root)).sort()) {
      if (OciLayout.reserved.has(id) || !ID_RE.test(id)) continue;
      const t = await this.#listed(id).catch((err: unknown) => {
        this.#log.warn({ id, err: describeError(err) }, 'failed to read a task bundle');
        return undefined;
      });
      if (t) out.push(t);
    }
    return out;
  }

  async #listed(id: string): Promise<ListedTask | undefined> {
    const file = (await readJson(this.#layout.identityFile(id))) as Partial<TaskRecordFile> | undefined;
    let identity = file?.id === id ? asIdentity(file.identity) : undefined;
    let driver = file?.id === id ? asDriver(file.driver) : undefined;
    const notes = file?.id === id ? asNotes(file.notes) : undefined;
    const fileHandle = file?.id === id ? file.handle : undefined;
    let config: OciSpec | undefined;
    if (!identity || !driver || !isOciHandle(fileHandle, id)) config = (await readJson(`${this.#layout.bundle(id)}/config.json`)) as OciSpec | undefined;
    if (!identity) {
      const env: Record<string, string> = {};
      for (const kv of config?.process?.env ?? []) {
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      identity = identityFromEnv(env);
    }
    // An exec root is read-only; a host-mode (raw_exec) root is not.
    driver ??= config?.root?.readonly ? 'exec' : 'raw_exec';
    if (!identity) {
      this.#log.warn({ id }, 'task bundle without a readable identity');
      return undefined;
    }
    const handle = isOciHandle(fileHandle, id) ? fileHandle : await this.#handleFromFiles(id, driver, config);
    if (!handle) return undefined;
    return { id, identity, driver, handle, ...(notes ? { notes } : {}) };
  }

  /** A handle from the pid files conmon and runc wrote, for a launch cut short before identity.json had it. */
  async #handleFromFiles(id: string, driver: DriverName, config: OciSpec | undefined): Promise<TaskHandle | undefined> {
    const readPid = async (f: string) => Number((await readFile(f, 'utf8').catch(() => '')).trim()) || 0;
    const [pid, conmonPid] = await Promise.all([readPid(this.#layout.pidFile(id)), readPid(this.#layout.conmonPidFile(id))]);
    if (!pid) return undefined;
    const startedAt = (await stat(this.#layout.pidFile(id)).catch(() => undefined))?.mtime ?? new Date();
    const cpus = config?.linux?.resources?.cpu?.cpus;
    const cores = cpus ? cpus.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 0) : [];
    const data: OciHandleData = {
      bundle: this.#layout.bundle(id),
      exitFile: this.#layout.exitFile(id),
      conmonPid,
      conmonStartTime: conmonPid ? readStat(conmonPid)?.startTime ?? 0 : 0,
      oomKillsAtStart: 0,
      driver,
      ...(cores.length ? { cores } : {}),
    };
    return { version: 1, executor: 'oci', id, pid, pidStartTime: readStat(pid)?.startTime ?? 0, startedAt: startedAt.toISOString(), data: { ...data } };
  }

  /**
   * Removes leftovers of ids this executor created and nobody knows: ids come only from its own
   * records (bundle dirs, exit files, containers of its own runc root), never from what else lives
   * under the cgroup parent, which another agent may share (an explicit `oci.cgroup_parent`).
   */
  async gc(known: ReadonlySet<string>): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await dirEntries(this.#layout.root)) if (!OciLayout.reserved.has(name)) ids.add(name);
    for (const name of await dirEntries(this.#layout.exitDir)) ids.add(name);
    for (const c of await this.#runtime.list().catch(() => [])) ids.add(c.id);
    // Terminal sessions belong to clients of a previous agent: none is known.
    const sessions = await removeTerminalLeftovers(this.#layout.execsDir, this.#layout.socketDir);
    if (sessions.length) this.#log.info({ sessions }, 'leftover exec terminals removed');
    const stale = [...ids].filter((id) => !known.has(id) && ID_RE.test(id)).sort();
    for (const id of stale) await this.cleanup(id).catch((err: unknown) => this.#log.warn({ id, err: describeError(err) }, 'gc of task failed'));
    if (stale.length) this.#log.info({ ids: stale }, 'leftover tasks removed');
    return stale;
  }

  async close(): Promise<void> {
    this.#exits.close();
    if (this.#ownLauncher) this.#launcher?.close();
  }
}

export function createOciExecutor(opts: OciExecutorOptions): Executor {
  return new OciExecutor(opts);
}

async function dirEntries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Parsed JSON of a file, or undefined when it is missing or unreadable. */
async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Write `value` as JSON (0600) through a temp file and a rename: a crash leaves the old file or the new one. */
async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(value), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

function isOciHandle(h: unknown, id: string): h is TaskHandle {
  const x = h as Partial<TaskHandle> | undefined;
  return !!x && x.version === 1 && x.executor === 'oci' && x.id === id && typeof x.pid === 'number' && !!x.data && typeof (x.data as { exitFile?: unknown }).exitFile === 'string';
}

/**
 * conmon of this handle still runs (pid plus start time: a reused pid is not it). A handle without
 * a usable conmon pid cannot tell; its monitor counts as alive while the task is.
 */
function isMonitorAlive(d: OciHandleData, handle: TaskHandle): boolean {
  if (!Number.isInteger(d.conmonPid) || d.conmonPid <= 0) return isAlive(handle.pid, handle.pidStartTime || undefined);
  return isAlive(d.conmonPid, d.conmonStartTime || undefined);
}

/**
 * Signal the container's init directly, as `runc kill` does (kill(2) of the
 * init pid), without forking a runc process per signal: the handle's pid and
 * start time prove it is still the task's. A task that is gone is not an error.
 */
function signalInit(handle: TaskHandle, sig: NodeJS.Signals): void {
  if (!handle.pid || !isAlive(handle.pid, handle.pidStartTime || undefined)) return;
  try {
    process.kill(handle.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
