/**
 * Waits for conmon's exit files (`<exitDir>/<id>`, the exit code as text,
 * 128+N for signal N). One fs.watch on the directory wakes the waiters. One
 * slow poll, shared by every waiter, asks each `isGone()` (a read of the
 * monitor's /proc stat, no timer per task): a monitor that exited wrote its
 * file just before (a missed watch event) or died without writing one, and
 * only then is the file read. A monitor killed while its task runs is
 * noticed within one poll.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
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

export class ExitWatcher {
  readonly #dir: string;
  readonly #pollMs: number;
  readonly #waiters = new Map<string, Set<Waiter>>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(dir: string, pollMs = 1000) {
    this.#dir = dir;
    this.#pollMs = pollMs;
  }

  /**
   * Resolves with the exit record of `id`, or undefined when `isGone()` says
   * nothing will ever write it (monitor dead and no file). `isGone` is called
   * once per poll and must be cheap and synchronous.
   */
  wait(id: string, isGone: () => boolean): Promise<ExitRecord | undefined> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { file: path.join(this.#dir, id), isGone, resolve, reject };
      let set = this.#waiters.get(id);
      if (!set) this.#waiters.set(id, (set = new Set()));
      set.add(w);
      this.#start();
      void this.#check(id);
    });
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    if (this.#closed) return;
    if (!this.#watcher) {
      try {
        this.#watcher = watch(this.#dir, (_event, name) => {
          if (name && this.#waiters.has(String(name))) void this.#check(String(name));
        });
        this.#watcher.on('error', () => {
          this.#watcher?.close();
          this.#watcher = undefined;
        });
      } catch {
        /* the poll covers it */
      }
    }
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        // Synchronous for the common case (1,000 live monitors: one stat read each, no promise).
        for (const [id, set] of this.#waiters) {
          const first = set.values().next().value as Waiter | undefined;
          let gone = true; // a stat that throws: #check reads again and reports the error
          try {
            gone = first !== undefined && first.isGone();
          } catch {
            /* see above */
          }
          if (gone) void this.#check(id, true);
        }
      }, this.#pollMs);
    }
  }

  /** `polled`: from the poll, where a live monitor means nothing to read yet (it exits right after writing). */
  async #check(id: string, polled = false): Promise<void> {
    const set = this.#waiters.get(id);
    if (!set?.size) return;
    const first = set.values().next().value as Waiter;
    let rec: ExitRecord | undefined;
    try {
      if (polled && !first.isGone()) return;
      rec = await readExitFile(first.file);
      if (!rec) {
        if (!first.isGone()) return;
        // Gone: read once more, the file may have landed in between.
        rec = await readExitFile(first.file);
      }
    } catch (err) {
      for (const w of set) w.reject(err);
      this.#drop(id);
      return;
    }
    for (const w of set) w.resolve(rec);
    this.#drop(id);
  }

  #drop(id: string): void {
    this.#waiters.delete(id);
    if (this.#waiters.size === 0) {
      this.#watcher?.close();
      this.#watcher = undefined;
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
