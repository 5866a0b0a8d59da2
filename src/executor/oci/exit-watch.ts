/**
 * Waits for conmon's exit files (`<exitDir>/<id>`, the exit code as text,
 * 128+N for signal N). One fs.watch on the directory wakes the waiters.
 *
 * A monitor that dies without writing its file (killed, crashed) is noticed
 * without a poll: conmon holds a FIFO of its bundle (`winsz`) open for
 * writing, with O_CLOEXEC, for as long as it lives and never writes to it for
 * a task without a terminal. The watcher keeps that FIFO open for reading
 * (one fd on the event loop per task, no timer): when the monitor exits, for
 * whatever reason, the read side hangs up and only then is the file read and
 * the monitor asked after (`isGone()`). A waiter without such a FIFO (missing,
 * not a FIFO) falls back to one slow poll, shared by those waiters, that asks
 * each `isGone()` (a read of the monitor's /proc stat).
 */
import { closeSync, constants, fstatSync, openSync, watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { errnoCode } from '../../errors.js';

export interface ExitRecord {
  /** Raw status as conmon wrote it (exit code, or 128+signal). */
  status: number;
  /** When the file was written. */
  at: Date;
}

/** Read an exit file; undefined when it does not exist (yet). */
export async function readExitFile(file: string): Promise<ExitRecord | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    if (!text.trim()) return undefined;
    const status = Number(text.trim());
    return Number.isInteger(status) ? { status, at: st.mtime } : undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

interface Waiter {
  file: string;
  isGone: () => boolean;
  resolve: (r: ExitRecord | undefined) => void;
  reject: (err: unknown) => void;
}

/** The waiters of one id and how their monitor's end is noticed. */
interface Watch {
  waiters: Set<Waiter>;
  /** The read side of the monitor's FIFO: its hang-up says the monitor is gone. */
  hangup?: net.Socket;
  /** Asked by the slow poll (no FIFO to hang up, or it hung up on a live monitor). */
  polled: boolean;
}

/**
 * Open `fifo` for reading without blocking; undefined when it is missing or not a FIFO. A read side
 * opened after the last writer left never hangs up: the caller asks `isGone()` once after opening.
 */
function openHangup(fifo: string): net.Socket | undefined {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFIFO()) {
      closeSync(fd);
      return undefined;
    }
    const s = new net.Socket({ fd, readable: true, writable: false });
    s.unref();
    return s;
  } catch {
    try {
      closeSync(fd);
    } catch {
      /* already owned by the socket */
    }
    return undefined;
  }
}

export class ExitWatcher {
  readonly #dir: string;
  readonly #pollMs: number;
  readonly #watches = new Map<string, Watch>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(dir: string, pollMs = 1000) {
    this.#dir = dir;
    this.#pollMs = pollMs;
  }

  /**
   * Resolves with the exit record of `id`, or undefined when `isGone()` says
   * nothing will ever write it (monitor dead and no file). `isGone` must be
   * cheap and synchronous. `hangupFifo`: a FIFO the monitor holds open for
   * writing while it lives (see above); without one, `isGone` is polled.
   */
  wait(id: string, isGone: () => boolean, hangupFifo?: string): Promise<ExitRecord | undefined> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { file: path.join(this.#dir, id), isGone, resolve, reject };
      let watch = this.#watches.get(id);
      if (!watch) {
        watch = { waiters: new Set(), polled: false };
        this.#watches.set(id, watch);
        const hangup = this.#closed || !hangupFifo ? undefined : openHangup(hangupFifo);
        if (hangup) {
          watch.hangup = hangup;
          const ended = () => {
            if (this.#watches.get(id)?.hangup === hangup) void this.#check(id, 'hangup');
          };
          hangup.on('data', () => undefined); // nothing is written for a task without a terminal; dropped if anything is
          hangup.once('end', ended);
          hangup.once('close', ended);
          hangup.on('error', ended);
          hangup.resume();
        } else watch.polled = true;
      }
      watch.waiters.add(w);
      this.#start();
      void this.#check(id);
    });
  }

  /** How many waited-for ids are polled (no FIFO to hang up): for tests and metrics. */
  get polled(): number {
    let n = 0;
    for (const w of this.#watches.values()) if (w.polled) n++;
    return n;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const w of this.#watches.values()) w.hangup?.destroy();
  }

  #start(): void {
    if (this.#closed) return;
    if (!this.#watcher) {
      try {
        this.#watcher = watch(this.#dir, (_event, name) => {
          if (name && this.#watches.has(String(name))) void this.#check(String(name));
        });
        this.#watcher.on('error', () => {
          this.#watcher?.close();
          this.#watcher = undefined;
        });
      } catch {
        /* the hang-ups and the poll cover it */
      }
    }
    this.#schedulePoll();
  }

  /** The slow poll runs while some waited-for id has no FIFO to hang up. */
  #schedulePoll(): void {
    if (this.#closed || this.#timer || !this.polled) return;
    this.#timer = setInterval(() => {
      let any = false;
      // Synchronous for the common case (one stat read per polled monitor, no promise).
      for (const [id, watch] of this.#watches) {
        if (!watch.polled) continue;
        any = true;
        const first = watch.waiters.values().next().value as Waiter | undefined;
        let gone = true; // a stat that throws: #check reads again and reports the error
        try {
          gone = first !== undefined && first.isGone();
        } catch {
          /* see above */
        }
        if (gone) void this.#check(id, 'poll');
      }
      if (!any) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }, this.#pollMs);
  }

  /**
   * `from`: the poll, where a live monitor means nothing to read yet (it exits right after
   * writing); a hang-up, after which a monitor still alive is polled from then on.
   */
  async #check(id: string, from?: 'poll' | 'hangup'): Promise<void> {
    const watch = this.#watches.get(id);
    if (!watch?.waiters.size) return;
    const first = watch.waiters.values().next().value as Waiter;
    let rec: ExitRecord | undefined;
    try {
      if (from === 'poll' && !first.isGone()) return;
      rec = await readExitFile(first.file);
      if (!rec) {
        if (!first.isGone()) {
          if (from === 'hangup' && this.#watches.get(id) === watch && !watch.polled) {
            // Hung up on a live monitor (its FIFO closed or replaced): ask it on the poll from now on.
            watch.hangup?.destroy();
            watch.hangup = undefined;
            watch.polled = true;
            this.#schedulePoll();
          }
          return;
        }
        // Gone: read once more, the file may have landed in between.
        rec = await readExitFile(first.file);
      }
    } catch (err) {
      if (this.#watches.get(id) !== watch) return;
      for (const w of watch.waiters) w.reject(err);
      this.#drop(id);
      return;
    }
    if (this.#watches.get(id) !== watch) return;
    for (const w of watch.waiters) w.resolve(rec);
    this.#drop(id);
  }

  #drop(id: string): void {
    this.#watches.get(id)?.hangup?.destroy();
    this.#watches.delete(id);
    if (this.#watches.size === 0) {
      this.#watcher?.close();
      this.#watcher = undefined;
    }
    if (this.#timer && !this.polled) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
