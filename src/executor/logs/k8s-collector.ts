/**
 * Collects an oci task's output from conmon's k8s-file log: tails the file,
 * demultiplexes its records into the stdout and stderr rotators, and keeps
 * conmon's file small by rotating it:
 *
 *  1. rename `<path>` to `<path>.1` (conmon keeps writing to the same inode);
 *  2. write `2 0 0\n` (REOPEN_LOGS_EVENT) to the bundle's `ctl` FIFO: conmon
 *     closes its fd and creates a fresh `<path>`;
 *  3. once a new inode sits at `<path>`, read `<path>.1` to its end, delete
 *     it and continue at offset 0 of the new file.
 *
 * If conmon is gone (its ctl FIFO has no reader) the file is not rotated.
 * The offset read so far is checkpointed into the monitor's state file; after
 * a crash of the monitor, output since the last checkpoint may be written a
 * second time (at least once, never lost).
 */
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, statSync, unlinkSync, watch, writeSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../../errors.js';
import type { MonitorLog } from './line-logger.js';
import { sumDrops, type Collector } from './fifo-collector.js';
import { K8sFileParser } from './k8s-file.js';
import type { LogTarget } from './logs.js';
import { FileRotator, type DropStats } from './rotator.js';

/** Ask conmon to reopen its log file (conmon's REOPEN_LOGS_EVENT = 2). */
export const REOPEN_LOGS_MESSAGE = '2 0 0\n';
/**
 * Slow poll in case an inotify event is missed (a queue overflow drops events silently): a task
 * that prints and then stays quiet has its last lines read this late at worst. One timer per
 * poll rate for every collector of the process, each pumped in turn (a timer per task every
 * second was ~3 % of a core with 1,000 oci tasks, each pump a read and a stat).
 */
const POLL_MS = 30_000;
/** The poll when the directory cannot be watched: the only way output is read. */
const UNWATCHED_POLL_MS = 1000;

class PollGroup {
  readonly #members = new Set<K8sCollector>();
  #timer: NodeJS.Timeout | undefined;
  constructor(readonly ms: number) {}
  set(c: K8sCollector, on: boolean): void {
    if (on) this.#members.add(c);
    else this.#members.delete(c);
    if (this.#members.size && !this.#timer) {
      this.#timer = setInterval(() => {
        for (const x of this.#members) x.pump();
      }, this.ms);
      this.#timer.unref();
    } else if (!this.#members.size && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
const watchedPoll = new PollGroup(POLL_MS);
const unwatchedPoll = new PollGroup(UNWATCHED_POLL_MS);
/**
 * The read buffer, one for every collector of the process: reads are synchronous and the parser
 * copies what it keeps, so nothing refers to it between reads. (One 64 KiB buffer per task was
 * 64 MiB of the monitor's memory with 1,000 oci tasks.)
 */
const READ_BUF = Buffer.allocUnsafe(65536);

export interface K8sCheckpoint {
  offset: number;
  /** True while `<path>.1` (the renamed file) is still being read. */
  rotating: boolean;
}

export function startK8sCollector(
  source: { path: string; ctlFifo: string },
  target: LogTarget,
  log: MonitorLog,
  resume?: Partial<K8sCheckpoint>,
): Collector {
  return new K8sCollector(source, target, log, resume);
}

class K8sCollector implements Collector {
  readonly id: string;
  readonly #path: string;
  readonly #old: string;
  readonly #ctl: string;
  readonly #log: MonitorLog;
  readonly #parser = new K8sFileParser();
  readonly #out: FileRotator;
  readonly #err: FileRotator;
  readonly #rotateAt: number;
  #fd = -1;
  #ino = -1;
  #offset = 0;
  #rotating = false;
  #watcher: FSWatcher | undefined;
  #stopped = false;

  constructor(source: { path: string; ctlFifo: string }, target: LogTarget, log: MonitorLog, resume?: Partial<K8sCheckpoint>) {
    this.id = target.id;
    this.#path = source.path;
    this.#old = `${source.path}.1`;
    this.#ctl = source.ctlFifo;
    this.#log = log;
    const opts = { logDir: target.logDir, task: target.task, maxFiles: target.maxFiles, maxFileSizeBytes: target.maxFileSizeBytes };
    this.#out = new FileRotator({ ...opts, stream: 'stdout' });
    this.#err = new FileRotator({ ...opts, stream: 'stderr' });
    this.#rotateAt = Math.max(4096, target.maxFileSizeBytes);
    this.#offset = resume?.offset ?? 0;
    if (resume?.rotating && this.#openAt(this.#old)) this.#rotating = true;
    else if (resume?.rotating) this.#offset = 0;
    try {
      // The dir also holds the files this monitor writes: wake only for conmon's file (or an unnamed event).
      const base = path.basename(this.#path);
      this.#watcher = watch(path.dirname(this.#path), { persistent: false }, (_e, name) => {
        if (!name || name === base || name.startsWith(`${base}.`)) this.pump();
      });
      this.#watcher.on('error', () => this.#unwatched());
    } catch (err) {
      this.#watcher = undefined;
      this.#log.warn({ err, path: this.#path }, 'log watch failed');
    }
    (this.#watcher ? watchedPoll : unwatchedPoll).set(this, true);
    this.pump();
  }

  /** The watch failed after it started: the fast poll takes over. */
  #unwatched(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#stopped) return;
    watchedPoll.set(this, false);
    unwatchedPoll.set(this, true);
    this.pump();
  }

  checkpoint(): Record<string, unknown> {
    return { offset: this.#offset, rotating: this.#rotating } satisfies K8sCheckpoint;
  }

  dropped(): DropStats {
    return sumDrops(this.#out.dropped, this.#err.dropped);
  }

  everDropped(): boolean {
    return this.#out.everDropped || this.#err.everDropped;
  }

  stop(): void {
    if (this.#stopped) return;
    this.pump();
    this.#stopped = true;
    this.#watcher?.close();
    watchedPoll.set(this, false);
    unwatchedPoll.set(this, false);
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#out.close();
    this.#err.close();
  }

  /** Open `file` and seek to the saved offset (0 when the file is shorter); false when absent. */
  #openAt(file: string): boolean {
    try {
      const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      const st = fstatSync(fd);
      if (this.#fd >= 0) closeSync(this.#fd);
      this.#fd = fd;
      this.#ino = st.ino;
      if (this.#offset > st.size) this.#offset = 0;
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Read what conmon wrote since, and rotate its file when due (inotify, the slow poll, stop). */
  pump(): void {
    if (this.#stopped) return;
    try {
      for (let guard = 0; guard < 8; guard++) {
        if (this.#fd < 0 && !this.#openAt(this.#path)) return;
        this.#drain();
        const current = this.#inodeAtPath();
        if (current !== undefined && current !== this.#ino) {
          // A new file replaced ours (conmon reopened): finish the old one, move on.
          this.#drain();
          closeSync(this.#fd);
          this.#fd = -1;
          if (this.#rotating) this.#unlinkOld();
          this.#rotating = false;
          this.#offset = 0;
          continue;
        }
        if (!this.#rotating && this.#offset >= this.#rotateAt) this.#requestRotation();
        return;
      }
    } catch (err) {
      this.#log.error({ err, path: this.#path }, 'conmon log read failed');
    }
  }

  #drain(): void {
    for (;;) {
      const n = readSync(this.#fd, READ_BUF, 0, READ_BUF.length, this.#offset);
      if (n <= 0) return;
      this.#offset += n;
      for (const chunk of this.#parser.push(READ_BUF.subarray(0, n))) {
        (chunk.stream === 'stdout' ? this.#out : this.#err).write(chunk.data, chunk.marks);
      }
    }
  }

  #inodeAtPath(): number | undefined {
    try {
      return statSync(this.#path).ino;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  #requestRotation(): void {
    let ctl: number;
    try {
      ctl = openSync(this.#ctl, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      return; // conmon is gone (ENXIO: no reader) or has no ctl fifo: keep the file as it is
    }
    try {
      renameSync(this.#path, this.#old);
      this.#rotating = true;
      writeSync(ctl, REOPEN_LOGS_MESSAGE);
    } catch (err) {
      this.#log.warn({ err, path: this.#path }, 'conmon log rotation failed');
    } finally {
      closeSync(ctl);
    }
  }

  #unlinkOld(): void {
    try {
      unlinkSync(this.#old);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}
