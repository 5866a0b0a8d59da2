/**
 * DiskWatch: every few seconds, measures the data dir's filesystem (statfs)
 * and asks the log monitor what it dropped for lack of space; starts the
 * monitor again when it is gone and registers the collections it missed
 * (LogMonitorClient.revive). What it finds is the node view's `disk` (for
 * `tendctl node` and `tendctl status`) and events, each once per episode:
 *
 *   Disk Full / Disk Space Recovered      free space below / above lowBytes
 *   Logs Dropped / Logs Resumed           per task, output dropped / written again
 *   Log Monitor Down / Log Monitor Back   the monitor cannot be started / answers again
 */
import { statfs } from 'node:fs/promises';
import type pino from 'pino';
import type { DiskView } from '../api/api.js';
import type { LogMonitorClient } from '../executor/logs/logs.js';
import type { Store } from '../store/store.js';
import { describeError } from '../errors.js';
import { formatBytes } from '../cli/format/bytes.js';

export interface DiskWatchOptions {
  dataDir: string;
  store: Store;
  logs?: LogMonitorClient;
  logger: pino.Logger;
  /** Check this often (default 2000 ms). */
  intervalMs?: number;
  /** Free bytes below which the disk is low (default: 10 % of the filesystem, at most 100 MiB). */
  lowBytes?: number;
}

const MiB = 1024 * 1024;

export class DiskWatch {
  readonly #o: DiskWatchOptions;
  readonly #log: pino.Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #view: DiskView | undefined;
  #low = false;
  #monitorDown = false;
  /** Exec ids whose dropping episode was reported, with the bytes dropped when it began. */
  readonly #dropping = new Map<string, number>();
  /** Dropped bytes per exec id at the last check (a short episode between two checks is still one). */
  readonly #droppedSeen = new Map<string, number>();

  constructor(opts: DiskWatchOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'disk' });
  }

  start(): void {
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#o.intervalMs ?? 2000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** The last check's findings. */
  view(): DiskView | undefined {
    return this.#view;
  }

  /** One check (serialised: a call while one runs waits for it). */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #check(): Promise<void> {
    const warnings: string[] = [];
    let freeBytes = -1;
    let totalBytes = -1;
    try {
      const st = await statfs(this.#o.dataDir);
      freeBytes = st.bavail * st.bsize;
      totalBytes = st.blocks * st.bsize;
    } catch (err) {
      warnings.push(`cannot measure ${this.#o.dataDir}: ${describeError(err)}`);
    }
    const lowBytes = this.#o.lowBytes ?? Math.min(100 * MiB, Math.floor(Math.max(totalBytes, 0) / 10));
    const low = freeBytes >= 0 && freeBytes < lowBytes;
    this.#lowEpisode(low, freeBytes, totalBytes, lowBytes);
    if (low) warnings.push(`data dir ${this.#o.dataDir} is low on space: ${formatBytes(freeBytes)} free of ${formatBytes(totalBytes)}`);

    const logs = await this.#checkLogs(warnings);
    this.#view = { path: this.#o.dataDir, freeBytes, totalBytes, lowBytes, low, logs, warnings, checkedAt: new Date().toISOString() };
  }

  #lowEpisode(low: boolean, free: number, total: number, lowBytes: number): void {
    if (low === this.#low) return;
    this.#low = low;
    const fields = { dataDir: this.#o.dataDir, freeBytes: free, totalBytes: total, lowBytes };
    if (low) {
      this.#log.warn(fields, 'data dir low on space');
      this.#o.store.addEvent({ type: 'Disk Full', message: `data dir ${this.#o.dataDir} has ${formatBytes(free)} free of ${formatBytes(total)} (below ${formatBytes(lowBytes)})`, details: fields });
    } else {
      this.#log.info(fields, 'data dir has space again');
      this.#o.store.addEvent({ type: 'Disk Space Recovered', message: `data dir ${this.#o.dataDir} has ${formatBytes(free)} free of ${formatBytes(total)}`, details: fields });
    }
  }

  async #checkLogs(warnings: string[]): Promise<DiskView['logs']> {
    const client = this.#o.logs;
    if (!client) return { droppedBytes: 0, droppingTasks: [], unregistered: [] };
    let status = await client.status();
    if (!status || client.unregistered().length) {
      try {
        await client.revive();
        status = await client.status();
      } catch (err) {
        if (!this.#monitorDown) {
          this.#log.error({ err: describeError(err), unregistered: client.unregistered() }, 'log monitor cannot be started; tasks keep running, their output waits');
          this.#o.store.addEvent({ type: 'Log Monitor Down', message: `log monitor cannot be started: ${describeError(err)}; tasks keep running, their logs resume when it is back` });
        }
        this.#monitorDown = true;
      }
    }
    if (status && this.#monitorDown) {
      this.#monitorDown = false;
      this.#log.info({}, 'log monitor answers again');
      this.#o.store.addEvent({ type: 'Log Monitor Back', message: 'log monitor runs again; task logs are collected' });
    }
    const unregistered = client.unregistered().map((id) => this.#instanceOf(id)?.id ?? id);
    if (!status) {
      warnings.push('log monitor not running: task output is not written to the logs');
      return { droppedBytes: 0, droppingTasks: [], unregistered };
    }
    const droppingTasks: string[] = [];
    for (const [execId, d] of Object.entries(status.tasks)) {
      const seen = this.#droppedSeen.get(execId) ?? 0;
      this.#droppedSeen.set(execId, d.droppedBytes);
      const inst = this.#instanceOf(execId);
      const name = inst?.id ?? execId;
      if (d.pendingBytes > 0) droppingTasks.push(name);
      const began = this.#dropping.get(execId);
      if (began === undefined && (d.pendingBytes > 0 || d.droppedBytes > seen)) {
        this.#dropping.set(execId, seen);
        this.#log.warn({ task: name, error: d.error, since: d.since }, 'task output dropped: no space for its log');
        this.#o.store.addEvent({ task: inst?.id, job: inst?.job, type: 'Logs Dropped', message: `output dropped: ${d.error === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device'} in ${this.#o.dataDir}`, details: { since: d.since } });
      }
      if (d.pendingBytes === 0 && this.#dropping.has(execId)) {
        const bytes = d.droppedBytes - (this.#dropping.get(execId) ?? 0);
        this.#dropping.delete(execId);
        this.#log.info({ task: name, droppedBytes: bytes }, 'task output written again');
        this.#o.store.addEvent({ task: inst?.id, job: inst?.job, type: 'Logs Resumed', message: `output written again; ${bytes} bytes were dropped (marked in the log)`, details: { droppedBytes: bytes } });
      }
    }
    for (const id of [...this.#droppedSeen.keys()]) if (!(id in status.tasks)) this.#droppedSeen.delete(id);
    if (droppingTasks.length) warnings.push(`log output of ${droppingTasks.length} task(s) dropped for lack of space: ${droppingTasks.slice(0, 5).join(', ')}${droppingTasks.length > 5 ? ', …' : ''}`);
    if (status.droppedBytes > 0 && !droppingTasks.length) warnings.push(`${formatBytes(status.droppedBytes)} of task output dropped since the log monitor started (marked in the logs)`);
    if (status.stateError) warnings.push(`log monitor cannot save its state: ${status.stateError}`);
    if (unregistered.length) warnings.push(`logs of ${unregistered.length} task(s) not collected yet: ${unregistered.slice(0, 5).join(', ')}`);
    return {
      monitorPid: await client.pid(),
      droppedBytes: status.droppedBytes,
      droppingTasks,
      unregistered,
      ...(status.stateError ? { stateError: status.stateError } : {}),
    };
  }

  /** The task record launched under an executor id (LaunchSpec.id). */
  #instanceOf(execId: string): { id: string; job: string } | undefined {
    for (const r of this.#o.store.all()) if (r.handle?.id === execId) return { id: r.id, job: r.job };
    return undefined;
  }
}
