/**
 * Carries out the actions the reconcile loop decides for one task instance:
 * start (driver → executor → handle persisted → "Started"), stop (kill
 * signal, kill timeout, whole process group/cgroup, cleanup, alloc dir),
 * update in place, and the handling of exits through the restart policy.
 * The work queue guarantees one action per task at a time.
 */
import type pino from 'pino';
import type { Executor, ExitResult, TaskHandle } from '../executor/executor.js';
import type { NodeInfo } from '../jobspec/model.js';
import type { Driver } from '../drivers/driver.js';
import { removeAllocDir } from '../drivers/alloc-dir.js';
import type { DesiredInstance } from '../reconcile/reconcile.js';
import { nextRestart } from '../reconcile/restart-policy.js';
import type { NewEvent, Store, TaskEventType, TaskRecord } from '../store/store.js';
import { describeError, isTendError } from '../errors.js';
import type { AgentMetrics } from './metrics.js';
import { taskNotes } from './rebuild.js';

export interface Clock {
  now(): number;
  random(): number;
}

export const systemClock: Clock = { now: () => Date.now(), random: Math.random };

export interface TaskRunnerOptions {
  store: Store;
  executor: Executor;
  drivers: Map<string, Driver>;
  node: NodeInfo;
  dataDir: string;
  agentEnv: Record<string, string | undefined>;
  logger: pino.Logger;
  metrics: AgentMetrics;
  clock: Clock;
  /** Exclusive CPUs (`cores`), when the executor can pin them. */
  reserveCores?(execId: string, count: number): number[];
  /** The latest desired instance of a task (for the restart policy at exit time). */
  desired(id: string): DesiredInstance | undefined;
  /** Something changed that a pass should look at. */
  changed(reason: string): void;
}

function exitText(exit: ExitResult): string {
  if (exit.oomKilled) return 'OOM killed';
  if (!exit.known) return exit.message ?? 'exit code not recorded';
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

function fmtDelay(ms: number): string {
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s` : `${Math.round(ms / 60_000)}m`;
}

export function newRecord(d: DesiredInstance): TaskRecord {
  return {
    id: d.id,
    job: d.job.id,
    group: d.group.name,
    index: d.index,
    task: d.task.name,
    allocId: d.allocId,
    execId: d.execId,
    driver: d.task.driver,
    file: d.file,
    hashes: d.hashes,
    resources: { cpu: d.task.resources.cpu, memoryMB: d.task.resources.memoryMB, memoryMaxMB: d.task.resources.memoryMaxMB },
    killSignal: d.task.killSignal,
    killTimeoutMs: d.task.killTimeoutMs,
    state: 'pending',
    restarts: 0,
    events: [],
  };
}

/** Copy the parts of the desired spec a record mirrors. */
function adopt(r: TaskRecord, d: DesiredInstance): void {
  r.hashes = d.hashes;
  r.driver = d.task.driver;
  r.file = d.file;
  r.resources = { cpu: d.task.resources.cpu, memoryMB: d.task.resources.memoryMB, memoryMaxMB: d.task.resources.memoryMaxMB };
  r.killSignal = d.task.killSignal;
  r.killTimeoutMs = d.task.killTimeoutMs;
}

export class TaskRunner {
  readonly #o: TaskRunnerOptions;
  readonly #log: pino.Logger;
  /** Handles whose exit is being watched, by task id. */
  readonly #watching = new Map<string, TaskHandle>();
  /**
   * Cleanups of runs that ended on their own, by exec id. They run outside the work queue (an
   * exit is not an action), so the next start or stop of the same task waits for them: a restart
   * without delay would otherwise launch while the old run's bundle, exit file and log collection
   * are still being removed, and lose its own.
   */
  readonly #cleanups = new Map<string, Promise<void>>();

  constructor(opts: TaskRunnerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'runner' });
  }

  #taskLog(r: { job: string; group: string; index: number; task: string }): pino.Logger {
    return this.#log.child({ job: r.job, group: r.group, index: r.index, task: r.task });
  }

  event(r: TaskRecord, type: TaskEventType, message: string, details?: Record<string, unknown>): void {
    const e: NewEvent = { task: r.id, job: r.job, file: r.file, type, message };
    if (details) e.details = details;
    this.#o.store.addEvent(e);
  }

  /** Start (or restart after an exit) a desired task. */
  async start(d: DesiredInstance, manual = false): Promise<void> {
    const { store } = this.#o;
    await this.#cleanups.get(d.execId);
    let r = store.get(d.id);
    const log = this.#taskLog({ job: d.job.id, group: d.group.name, index: d.index, task: d.task.name });
    if (!r) {
      r = newRecord(d);
      store.put(r);
      this.event(r, 'Received', 'Task received by the agent', { file: d.file });
    }
    const driver = this.#o.drivers.get(d.task.driver);
    const avail = driver ? driver.availability() : { ok: false, reason: `unknown driver "${d.task.driver}"` };
    if (!driver || !avail.ok) {
      const error = `driver ${d.task.driver} unavailable: ${avail.reason}`;
      const changed = r.error !== error || r.hashes.restart !== d.hashes.restart;
      store.update(d.id, (x) => {
        adopt(x, d);
        x.state = 'pending';
        x.error = error;
      });
      if (changed) {
        this.event(r, 'Driver Failure', error);
        log.warn({ driver: d.task.driver, reason: avail.reason }, 'driver unavailable, task pending');
      }
      return;
    }
    const isRestart = r.lastExit !== undefined && r.state === 'restarting';
    store.update(d.id, (x) => {
      adopt(x, d);
      // A record rebuilt under another node id names another allocation: the new run is the desired one's.
      x.allocId = d.allocId;
      x.execId = d.execId;
      x.state = 'starting';
      x.error = undefined;
      x.nextRestartAt = undefined;
      if (isRestart || manual) x.restarts++;
    });
    if (isRestart || manual) this.#o.metrics.restart(d.task.driver);
    const t0 = performance.now();
    let handle: TaskHandle;
    let prepareMs = 0;
    let launchedCores: number[] | undefined;
    try {
      const spec = await driver.prepare(d, { node: this.#o.node, agentEnv: this.#o.agentEnv, reserveCores: this.#o.reserveCores });
      prepareMs = performance.now() - t0;
      launchedCores = spec.resources.cores;
      // Kept by the executor beside the task: a record lost with the store is rebuilt from it.
      spec.notes = { ...taskNotes(d, this.#o.node.id, launchedCores) };
      handle = await this.#o.executor.launch(spec);
    } catch (err) {
      const msg = describeError(err);
      log.error({ err: msg, code: isTendError(err) ? err.code : undefined }, 'task launch failed');
      // Give back what prepare may have reserved (exclusive cores) and what launch left behind.
      await this.#o.executor.cleanup(d.execId).catch(() => {});
      this.event(r, 'Driver Failure', `failed to start task: ${msg}`);
      const unrecoverable = isTendError(err) && ['E_SPEC_INVALID', 'E_USER_DENIED', 'E_CAPABILITY_DENIED', 'E_DRIVER_UNAVAILABLE'].includes(err.code);
      store.update(d.id, (x) => {
        x.error = `failed to start task: ${msg}`;
      });
      if (unrecoverable) {
        store.update(d.id, (x) => {
          x.state = 'failed';
        });
        this.event(r, 'Not Restarting', 'Error was unrecoverable');
      } else {
        this.#applyPolicy(d.id, { code: null, signal: null, oomKilled: false, at: new Date(this.#o.clock.now()).toISOString(), known: true }, true);
      }
      this.#o.changed('launch failed');
      return;
    }
    // The handle is on disk before the task is reported started.
    store.update(d.id, (x) => {
      x.handle = handle;
      x.startedAt = handle.startedAt;
      x.resources.cores = launchedCores;
    });
    const launchedAt = performance.now();
    await store.flush().catch((err) => log.error({ err: describeError(err) }, 'failed to persist task handle'));
    const persistMs = performance.now() - launchedAt;
    store.update(d.id, (x) => {
      x.state = 'running';
    });
    const ms = performance.now() - t0;
    this.#o.metrics.taskStarted(d.task.driver, ms);
    this.event(r, 'Started', 'Task started by the agent', { pid: handle.pid });
    log.info({ pid: handle.pid, ms: Math.round(ms), prepareMs: Math.round(prepareMs), launchMs: Math.round(launchedAt - t0 - prepareMs), persistMs: Math.round(persistMs) }, 'task started');
    this.watch(d.id, handle);
  }

  /** Follow a running handle's exit. */
  watch(id: string, handle: TaskHandle): void {
    this.#watching.set(id, handle);
    this.#o.executor.wait(handle).then(
      (exit) => this.#exited(id, handle, exit),
      (err) => {
        this.#log.error({ id, err: describeError(err) }, 'failed to wait for task');
        this.#exited(id, handle, { code: null, signal: null, oomKilled: false, at: new Date(this.#o.clock.now()).toISOString(), known: false, message: `lost track of the task: ${describeError(err)}` });
      },
    );
  }

  #exited(id: string, handle: TaskHandle, exit: ExitResult): void {
    if (this.#watching.get(id) !== handle) return; // stopped on purpose, or superseded
    this.#watching.delete(id);
    void this.recordExit(id, exit);
  }

  /**
   * A task ended on its own (or while the agent was down): record it and apply the restart policy.
   * Resolves when the ended run is cleaned up (never rejects).
   */
  recordExit(id: string, exit: ExitResult): Promise<void> {
    const r = this.#o.store.get(id);
    if (!r) return Promise.resolve();
    const log = this.#taskLog(r);
    this.#o.store.update(id, (x) => {
      x.handle = undefined;
      x.lastExit = exit;
    });
    this.#o.metrics.taskExited(r.driver, exit);
    if (exit.oomKilled) {
      this.#o.metrics.oomKill(r.driver);
      this.event(r, 'OOM Killed', 'Task killed by the OOM killer');
    }
    if (exit.monitorLost) {
      this.event(r, 'Monitor Lost', `Task monitor (pid ${exit.monitorLost.pid}) died: the task's output could no longer be collected, so it was stopped`, { monitorPid: exit.monitorLost.pid });
    }
    this.event(r, 'Terminated', exitText(exit), { code: exit.code, signal: exit.signal, oomKilled: exit.oomKilled });
    log.info({ code: exit.code, signal: exit.signal, oomKilled: exit.oomKilled, known: exit.known }, 'task exited');
    const cleaned = this.#o.executor.cleanup(r.execId).catch((err) => log.warn({ err: describeError(err) }, 'failed to clean up task'));
    this.#cleanups.set(r.execId, cleaned);
    void cleaned.then(() => {
      if (this.#cleanups.get(r.execId) === cleaned) this.#cleanups.delete(r.execId);
    });
    this.#applyPolicy(id, exit, false);
    this.#o.changed('task exited');
    return cleaned;
  }

  #applyPolicy(id: string, exit: ExitResult, launchFailed: boolean): void {
    const r = this.#o.store.get(id);
    const d = this.#o.desired(id);
    if (!r) return;
    if (!d) {
      this.#o.store.update(id, (x) => {
        x.state = 'dead';
      });
      return;
    }
    const now = this.#o.clock.now();
    const out = nextRestart(d.task.restart, d.job.type, { code: exit.code, launchFailed }, r.window, now, this.#o.clock.random);
    this.#o.store.update(id, (x) => {
      x.window = out.window;
      if (out.kind === 'restart') {
        x.state = 'restarting';
        x.nextRestartAt = new Date(now + out.delayMs).toISOString();
      } else if (out.kind === 'complete') {
        x.state = 'complete';
      } else {
        x.state = 'failed';
        x.error = x.error ?? out.reason;
      }
    });
    if (out.kind === 'restart') this.event(r, 'Restarting', `Task restarting in ${fmtDelay(out.delayMs)}`, { delayMs: out.delayMs, reason: out.reason });
    else if (out.kind === 'complete') this.event(r, 'Complete', out.reason);
    else this.event(r, 'Not Restarting', out.reason);
  }

  /**
   * Stop the task's process, if any. `final`: the task is no longer desired —
   * its record goes, and its alloc dir when no other task of the allocation remains.
   */
  async stop(id: string, opts: { final: boolean; reason: string }): Promise<void> {
    const { store, executor } = this.#o;
    const r = store.get(id);
    if (!r) return;
    const log = this.#taskLog(r);
    const handle = r.handle;
    this.#watching.delete(id);
    await this.#cleanups.get(r.execId);
    if (handle) {
      store.update(id, (x) => {
        x.state = 'stopping';
      });
      this.event(r, 'Killing', `${opts.reason}: sent ${r.killSignal}, waiting ${fmtDelay(r.killTimeoutMs)} before force killing`);
      log.info({ reason: opts.reason, signal: r.killSignal, timeoutMs: r.killTimeoutMs, pid: handle.pid }, 'stopping task');
      let exit: ExitResult | undefined;
      try {
        exit = await executor.shutdown(handle, r.killSignal, r.killTimeoutMs);
      } catch (err) {
        log.error({ err: describeError(err) }, 'failed to stop task');
        this.event(r, 'Driver Failure', `failed to stop task: ${describeError(err)}`);
        store.update(id, (x) => {
          x.error = `failed to stop task: ${describeError(err)}`;
        });
        throw err;
      }
      await executor.cleanup(r.execId).catch((err) => log.warn({ err: describeError(err) }, 'failed to clean up task'));
      store.update(id, (x) => {
        x.handle = undefined;
        x.lastExit = exit;
      });
      this.#o.metrics.taskExited(r.driver, exit);
      this.event(r, 'Killed', `Task killed (${exitText(exit)})`);
    }
    if (opts.final) {
      store.update(id, (x) => {
        x.state = 'dead';
      });
      // The alloc dir goes before the record: an agent that dies in between finds the dead record
      // and stops it again, while a record deleted first would leave the dir behind for good. Of
      // tasks of one allocation stopping together, the last one marked dead removes the dir.
      const shared = store.all().some((x) => x.allocId === r.allocId && x.id !== id && x.state !== 'dead');
      if (!shared) {
        await removeAllocDir(this.#o.dataDir, r.allocId).then(
          (left) => left.length && log.warn({ left }, 'alloc dir partly left: mount points inside'),
          (err: unknown) => log.warn({ err: describeError(err) }, 'failed to remove alloc dir'),
        );
      }
      store.delete(id);
      log.info({ reason: opts.reason }, 'task stopped');
    } else {
      store.update(id, (x) => {
        x.state = 'pending';
      });
    }
  }

  /** Apply new resources (in place, same pid) and store-only fields. */
  async update(d: DesiredInstance, fields: string[]): Promise<void> {
    const { store, executor } = this.#o;
    const r = store.get(d.id);
    if (!r) return;
    const log = this.#taskLog(r);
    const resourcesChanged = r.hashes.resources !== d.hashes.resources;
    if (resourcesChanged && r.handle && r.state === 'running') {
      const spec = d.task.resources;
      const MiB = 1024 * 1024;
      const cores = spec.cores && this.#o.reserveCores ? this.#o.reserveCores(r.execId, spec.cores) : undefined;
      await executor.updateResources(r.handle, {
        cpuShares: spec.cpu,
        memoryBytes: spec.memoryMB * MiB,
        memoryMaxBytes: (spec.memoryMaxMB ?? spec.memoryMB) * MiB,
        // [] returns the task to the shared pool when `cores` was removed.
        cores: cores ?? (r.resources.cores?.length ? [] : undefined),
        pidsLimit: d.task.config.pidsLimit,
      });
      store.update(d.id, (x) => {
        x.resources.cores = cores;
      });
    }
    store.update(d.id, (x) => adopt(x, d));
    this.event(r, 'Updated', `Task updated in place: ${fields.join(', ')}`, { fields });
    log.info({ fields }, 'task updated in place');
  }

  /** Forget exit watches (agent shutdown). */
  unwatchAll(): void {
    this.#watching.clear();
  }
}
