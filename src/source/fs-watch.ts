/**
 * The jobs dir's watches: one `fs.watch` (inotify) per real path the listing
 * walked, one level each, never following a link (list.ts decides what to
 * watch). An event only says *when* to look (watcher.ts): a name that
 * appeared (`add`), was written (`change`) or went (`unlink`), or `other`
 * (a subdir, a watched link target, an event without a name).
 *
 * This replaced chokidar for the jobs dir (issue 14): on every event in a
 * watched dir chokidar read the whole dir again and lstat'ed each entry to
 * find what changed, so one file dropped among 1,000 cost 1,000 lstats
 * (~20 ms of the agent's CPU). inotify names the entry; one lstat of it
 * tells an arrival from a departure.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';

export type WatchEvent = 'add' | 'change' | 'unlink' | 'other';

export interface DirWatchOptions {
  /** Names never reported (hidden files: editors' and sync tools' temp files). */
  ignore(name: string): boolean;
  onEvent(event: WatchEvent, fullPath: string): void;
  /** A watch failed (it is dropped; the next `sync` tries again, the resync covers the gap). */
  onError(p: string, err: unknown): void;
}

export class DirWatch {
  readonly #o: DirWatchOptions;
  readonly #watches = new Map<string, FSWatcher>();

  constructor(o: DirWatchOptions) {
    this.#o = o;
  }

  /** The paths watched now. */
  get paths(): Set<string> {
    return new Set(this.#watches.keys());
  }

  /** Watch exactly `paths` (real paths: dirs, and linked job files' targets). Returns the paths newly watched. */
  sync(paths: Iterable<string>): string[] {
    const want = new Set(paths);
    for (const [p, w] of this.#watches) {
      if (want.has(p)) continue;
      w.close();
      this.#watches.delete(p);
    }
    const added: string[] = [];
    for (const p of want) {
      if (this.#watches.has(p)) continue;
      const w = this.#watch(p);
      if (!w) continue;
      this.#watches.set(p, w);
      added.push(p);
    }
    return added;
  }

  close(): void {
    for (const w of this.#watches.values()) w.close();
    this.#watches.clear();
  }

  #watch(p: string): FSWatcher | undefined {
    let isDir: boolean;
    try {
      isDir = lstatSync(p).isDirectory();
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.#o.onError(p, err);
      return undefined; // gone since the listing: the next relist sees it
    }
    let w: FSWatcher;
    try {
      w = watch(p, { persistent: true }, (type, name) => this.#event(p, isDir, type, name));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.#o.onError(p, err);
      return undefined;
    }
    w.on('error', (err) => {
      w.close();
      if (this.#watches.get(p) === w) this.#watches.delete(p);
      this.#o.onError(p, err);
    });
    return w;
  }

  #event(dir: string, isDir: boolean, type: string, name: string | Buffer | null): void {
    if (!isDir || name === null) return this.#o.onEvent('other', dir);
    const base = name.toString();
    if (this.#o.ignore(base)) return;
    const full = path.join(dir, base);
    if (type === 'change') return this.#o.onEvent('change', full);
    // 'rename': the name appeared or went. Which one is what is there now. A dir, or a link (its
    // target must be watched too), is for a relist.
    let kind: WatchEvent;
    try {
      const st = lstatSync(full);
      kind = st.isDirectory() || st.isSymbolicLink() ? 'other' : 'add';
    } catch {
      kind = 'unlink';
    }
    this.#o.onEvent(kind, full);
  }
}
