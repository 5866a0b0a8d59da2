/**
 * The log monitor process (`tend logmon -data-dir DIR`): one per data dir,
 * detached from the agent so task output keeps flowing while the agent is
 * down. It serves the control protocol of protocol.ts on
 * `<dataDir>/logmon.sock` and keeps the set of collected tasks in
 * `<dataDir>/logmon.json` (written atomically), so a restarted monitor
 * resumes every task: FIFOs keep what was written meanwhile (up to the pipe
 * capacity), conmon files are resumed at their checkpointed offset.
 *
 * A full filesystem does not stop it: output that cannot be written is
 * dropped and counted (rotator.ts), the FIFOs and conmon logs keep being
 * read so no task blocks, and a failed write of its own state file is
 * retried with the next change. Each episode is logged once, when it begins
 * and when it ends; `status` reports the counts to the agent.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { describeError, errnoCode } from '../../errors.js';
import { startFifoCollector, type Collector } from './fifo-collector.js';
import { startK8sCollector, type K8sCheckpoint } from './k8s-collector.js';
import { createLineLogger, type MonitorLog } from './line-logger.js';
import type { LogSource, LogTarget } from './logs.js';
import { logmonPaths, requestLogmon, type LogmonDrops, type LogmonRequest, type LogmonResponse, type LogmonStatus } from './protocol.js';

interface Entry {
  source: LogSource;
  target: LogTarget;
  checkpoint?: Record<string, unknown>;
}

interface StateFile {
  version: 1;
  tasks: Record<string, Entry>;
}

const CHECKPOINT_MS = 1000;
/** add/remove coalesce their state writes at most this far apart (a burst of 1,000 adds writes the file a few times, not 1,000). */
const SAVE_DELAY_MS = 50;
/**
 * A removal need not be on disk before it is answered (a monitor that dies first resumes a
 * collection the agent's next sync drops): it is saved with the next add, or after this long. A
 * restart (remove, then add of the same task) so costs one prompt write, not an add that waits out
 * the removal's SAVE_DELAY_MS (issue 14: 40–90 ms of every crash → restart).
 */
const LAZY_SAVE_MS = 1000;

export interface LogMonitorOptions {
  dataDir: string;
  /** Default: silent. `tend logmon` writes JSON lines to logmon.log (line-logger.ts); a pino logger does too. */
  logger?: MonitorLog;
}

export class LogMonitor {
  readonly #paths: ReturnType<typeof logmonPaths>;
  readonly #log: MonitorLog;
  readonly #entries = new Map<string, Entry>();
  readonly #collectors = new Map<string, Collector>();
  #server: net.Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #saveWaiters: (() => void)[] = [];
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  /** Bytes dropped by collections since removed (the total survives them). */
  #droppedByRemoved = 0;
  /** Tasks whose dropping episode was logged as begun. */
  readonly #dropping = new Set<string>();
  #stateError: string | undefined;

  constructor(opts: LogMonitorOptions) {
    this.#paths = logmonPaths(opts.dataDir);
    this.#log = (opts.logger ?? createLineLogger({ level: 'silent' })).child({ component: 'logmon' });
    mkdirSync(opts.dataDir, { recursive: true });
  }

  /**
   * Listen on the control socket and resume the saved tasks. Resolves false
   * when another monitor already answers on the socket (this one should exit).
   */
  async start(): Promise<boolean> {
    if (await this.#otherAlive()) return false;
    try {
      unlinkSync(this.#paths.socket);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#resume();
    const server = net.createServer((conn) => this.#serve(conn));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#paths.socket, () => resolve());
    });
    this.#server = server;
    this.#timer = setInterval(() => {
      this.#saveIfCheckpointed();
      this.#watchDrops();
    }, CHECKPOINT_MS);
    this.#log.info({ pid: process.pid, tasks: this.#entries.size }, 'log monitor started');
    return true;
  }

  /** Resolves once `stop` ran (from a request or a signal). */
  closed(): Promise<void> {
    return this.#closed ?? Promise.resolve();
  }

  /** Flush and release every task, save the state, close the socket. Tasks stay in the state file. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const [id, c] of this.#collectors) {
      this.#stopCollector(id, c);
    }
    this.#save();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#log.info({}, 'log monitor stopped');
    this.#resolveClosed?.();
  }

  add(source: LogSource, target: LogTarget): void {
    const known = this.#entries.get(target.id);
    if (known && JSON.stringify({ s: known.source, t: known.target }) === JSON.stringify({ s: source, t: target }) && this.#collectors.has(target.id)) return;
    if (known) this.remove(target.id);
    const entry: Entry = { source, target };
    this.#collectors.set(target.id, this.#startCollector(entry));
    this.#entries.set(target.id, entry);
    this.#scheduleSave();
    this.#log.info({ id: target.id, source: source.kind }, 'log collection started');
  }

  remove(id: string): void {
    const c = this.#collectors.get(id);
    if (c) this.#stopCollector(id, c);
    if (this.#entries.delete(id)) {
      this.#scheduleSave(false);
      this.#log.info({ id }, 'log collection stopped');
    }
  }

  sync(all: { source: LogSource; target: LogTarget }[]): void {
    const want = new Set(all.map((e) => e.target.id));
    for (const id of [...this.#entries.keys()]) if (!want.has(id)) this.remove(id);
    const errors: string[] = [];
    for (const e of all) {
      try {
        this.add(e.source, e.target);
      } catch (err) {
        errors.push(`${e.target.id}: ${describeError(err)}`);
      }
    }
    if (errors.length) throw new Error(`failed to collect logs of ${errors.length} task(s): ${errors.join('; ')}`);
  }

  #startCollector(entry: Entry): Collector {
    const log = this.#log.child({ id: entry.target.id });
    if (entry.source.kind === 'fifo') return startFifoCollector(entry.source, entry.target, log);
    return startK8sCollector(entry.source, entry.target, log, entry.checkpoint as Partial<K8sCheckpoint> | undefined);
  }

  #stopCollector(id: string, c: Collector): void {
    try {
      c.stop();
    } catch (err) {
      this.#log.warn({ err, id }, 'log collection stop failed');
    }
    const entry = this.#entries.get(id);
    if (entry) entry.checkpoint = c.checkpoint();
    this.#droppedByRemoved += c.dropped().droppedBytes;
    this.#dropping.delete(id);
    this.#collectors.delete(id);
  }

  /** Dropped output, per task and in total. */
  status(): LogmonStatus {
    const tasks: Record<string, LogmonDrops> = {};
    let droppedBytes = this.#droppedByRemoved;
    let dropping = 0;
    for (const [id, c] of this.#collectors) {
      if (!c.everDropped()) continue;
      const d = c.dropped();
      tasks[id] = d;
      droppedBytes += d.droppedBytes;
      if (d.pendingBytes > 0) dropping++;
    }
    return { droppedBytes, dropping, tasks, ...(this.#stateError ? { stateError: this.#stateError } : {}) };
  }

  /** Log each task's dropping episode once when it begins and once when it ends. */
  #watchDrops(): void {
    for (const [id, c] of this.#collectors) {
      // Each second, for every task: nothing to look at in a collection that never dropped anything.
      if (!c.everDropped()) continue;
      const d = c.dropped();
      if (d.pendingBytes > 0 && !this.#dropping.has(id)) {
        this.#dropping.add(id);
        this.#log.warn({ id, error: d.error, since: d.since }, 'task output dropped: no space for its log');
      } else if (d.pendingBytes === 0 && this.#dropping.delete(id)) {
        this.#log.info({ id, droppedBytes: d.droppedBytes }, 'task output written again');
      }
    }
  }

  async #otherAlive(): Promise<boolean> {
    try {
      const res = await requestLogmon(this.#paths.socket, { op: 'ping' }, 2000);
      return res.ok && res.pid !== process.pid;
    } catch {
      return false;
    }
  }

  #resume(): void {
    if (!existsSync(this.#paths.state)) return;
    let state: StateFile;
    try {
      state = JSON.parse(readFileSync(this.#paths.state, 'utf8')) as StateFile;
    } catch (err) {
      this.#log.error({ err, path: this.#paths.state }, 'log monitor state unreadable');
      return;
    }
    for (const [id, entry] of Object.entries(state.tasks ?? {})) {
      try {
        this.#collectors.set(id, this.#startCollector(entry));
        this.#entries.set(id, entry);
      } catch (err) {
        this.#log.warn({ err, id }, 'log collection resume failed');
      }
    }
  }

  #saveIfCheckpointed(): void {
    let changed = false;
    for (const [id, c] of this.#collectors) {
      const cp = c.checkpoint();
      const entry = this.#entries.get(id);
      if (!cp || !entry) continue;
      if (!sameCheckpoint(cp, entry.checkpoint)) {
        entry.checkpoint = cp;
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  /** When the state file was last written: saves are at least SAVE_DELAY_MS apart, the first of a burst at once. */
  #lastSaveAt = -Infinity;

  /** When the scheduled save runs (epoch ms). */
  #saveDueAt = Infinity;
  /** An add or sync waits for the scheduled save (a removal alone does not make anyone wait). */
  #urgentPending = false;

  /** `urgent` (an add: answered once written) or not (a removal: LAZY_SAVE_MS). */
  #scheduleSave(urgent = true): void {
    // An add on an idle monitor is written (and answered) at once; the adds of a burst share the next write.
    const now = Date.now();
    const due = urgent ? Math.max(now, this.#lastSaveAt + SAVE_DELAY_MS) : now + LAZY_SAVE_MS;
    if (urgent) this.#urgentPending = true;
    if (this.#saveTimer && this.#saveDueAt <= due) return;
    clearTimeout(this.#saveTimer);
    this.#saveDueAt = due;
    this.#saveTimer = setTimeout(() => this.#save(), due - now);
  }

  /**
   * Resolves once the state file holds every change made so far. An add is
   * answered only then: a task the agent records as launched is always in
   * the state file, so a monitor killed with the agent (kill -9 of the
   * group) resumes its collection instead of losing what it printed after.
   */
  #durable(): Promise<void> {
    if (!this.#saveTimer || !this.#urgentPending) return Promise.resolve();
    return new Promise((resolve) => this.#saveWaiters.push(resolve));
  }

  #save(): void {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    this.#saveDueAt = Infinity;
    this.#urgentPending = false;
    this.#lastSaveAt = Date.now();
    const waiters = this.#saveWaiters.splice(0);
    queueMicrotask(() => waiters.forEach((w) => w()));
    const state: StateFile = { version: 1, tasks: {} };
    for (const [id, entry] of this.#entries) {
      const cp = this.#collectors.get(id)?.checkpoint() ?? entry.checkpoint;
      state.tasks[id] = cp ? { ...entry, checkpoint: cp } : { source: entry.source, target: entry.target };
    }
    const tmp = `${this.#paths.state}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(state));
      renameSync(tmp, this.#paths.state);
      if (this.#stateError) this.#log.info({ path: this.#paths.state }, 'log monitor state written again');
      this.#stateError = undefined;
    } catch (err) {
      // Kept in memory; the next change or checkpoint writes it again. Logged once per episode.
      if (!this.#stateError) this.#log.error({ err, path: this.#paths.state }, 'log monitor state write failed');
      this.#stateError = describeError(err);
      this.#saveAgain();
      try {
        unlinkSync(tmp);
      } catch {
        /* not there */
      }
    }
  }

  /** After a failed save, try again in a while even when nothing changes (an add must become durable). */
  #saveAgain(): void {
    if (this.#saveTimer) return;
    this.#saveDueAt = Date.now() + CHECKPOINT_MS;
    this.#saveTimer = setTimeout(() => this.#save(), CHECKPOINT_MS);
    this.#saveTimer.unref();
  }

  #serve(conn: net.Socket): void {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('error', () => undefined);
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let res: LogmonResponse;
      let stopAfter = false;
      let durable = false;
      try {
        const req = JSON.parse(line) as LogmonRequest;
        res = this.#handle(req);
        stopAfter = req.op === 'stop';
        durable = req.op === 'add' || req.op === 'sync';
      } catch (err) {
        res = { ok: false, error: describeError(err) };
      }
      const reply = res;
      void (durable ? this.#durable() : Promise.resolve()).then(() => {
        conn.end(JSON.stringify(reply) + '\n');
        if (stopAfter) void this.stop();
      });
    });
  }

  #handle(req: LogmonRequest): LogmonResponse {
    switch (req.op) {
      case 'ping':
        return { ok: true, pid: process.pid };
      case 'add':
        this.add(req.source, req.target);
        return { ok: true };
      case 'remove':
        this.remove(req.id);
        return { ok: true };
      case 'sync':
        this.sync(req.all);
        return { ok: true };
      case 'status':
        return { ok: true, pid: process.pid, status: this.status() };
      case 'stop':
        return { ok: true, pid: process.pid };
      default:
        return { ok: false, error: `expected op ping|add|remove|sync|status|stop, got ${JSON.stringify((req as { op?: unknown }).op)}` };
    }
  }
}

/** Checkpoints are flat records of numbers and strings (k8s-collector.ts): compared field by field, no JSON each second. */
function sameCheckpoint(a: Record<string, unknown>, b: Record<string, unknown> | undefined): boolean {
  if (!b) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
