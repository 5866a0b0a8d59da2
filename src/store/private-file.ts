/**
 * A lowdb adapter for the state document that only the agent may read (mode 0600): it holds
 * dispatch payloads and meta, which may be secrets. Writes are atomic (a temp file created 0600
 * with O_EXCL, then rename) and serialised: a write that arrives while one is in flight waits,
 * and only the latest of the waiting ones is written.
 */
import { constants as C } from 'node:fs';
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

export interface PrivateFileOptions<T> {
  parse(text: string): T;
  stringify(data: T): string;
}

export class PrivateFile<T> {
  readonly #path: string;
  readonly #o: PrivateFileOptions<T>;
  #writing: Promise<void> | undefined;
  #next: { data: T; waiters: { resolve(): void; reject(e: unknown): void }[] } | undefined;

  constructor(path: string, o: PrivateFileOptions<T>) {
    this.#path = path;
    this.#o = o;
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
    // A document written by an earlier tend (0644): made private.
    await chmod(this.#path, 0o600).catch(() => {});
    return this.#o.parse(text);
  }

  write(data: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#next) {
        this.#next.data = data;
        this.#next.waiters.push({ resolve, reject });
      } else {
        this.#next = { data, waiters: [{ resolve, reject }] };
      }
      if (!this.#writing) this.#drain();
    });
  }

  #drain(): void {
    const batch = this.#next;
    this.#next = undefined;
    if (!batch) {
      this.#writing = undefined;
      return;
    }
    this.#writing = this.#writeNow(batch.data).then(
      () => batch.waiters.forEach((w) => w.resolve()),
      (err) => batch.waiters.forEach((w) => w.reject(err)),
    );
    void this.#writing.finally(() => this.#drain());
  }

  async #writeNow(data: T): Promise<void> {
    const tmp = `${this.#path}.${process.pid}.tmp`;
    await unlink(tmp).catch(() => {});
    const fh = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      try {
        // No fsync (as steno, which this replaces): the store writes once per tick; ext4's
        // rename-replace heuristic flushes the data before the rename is committed.
        await fh.writeFile(this.#o.stringify(data));
      } finally {
        await fh.close();
      }
      await rename(tmp, this.#path);
    } catch (err) {
      // A half-written copy would hold the space a full disk needs back.
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}
