/**
 * The VariableStore (vars.ts): the variables written with `tendctl var put`
 * (variables-file.ts) and those of the variables dir (dir-source.ts), as one
 * view with one index counter and one change feed.
 *
 * Writes are serialised: a put or purge checks its check-index against the
 * committed state, writes the whole document to disk, and only then changes
 * what readers see and tells the watchers. A failed write changes nothing.
 * Reads are synchronous, from memory, and hand out copies.
 */
import type pino from 'pino';
import { TendError, describeError } from '../errors.js';
import { taskReader } from './acl.js';
import { assertPath, assertPrefix, checkItems } from './path.js';
import { VariableDir, type DirVariable } from './dir-source.js';
import { VariablesFile, type LoadedVariables } from './variables-file.js';
import type {
  CasOptions,
  Variable,
  VariableChange,
  VariableItems,
  VariableMetadata,
  VariablePolicy,
  VariableReader,
  VariableStore,
  WatchTarget,
  WorkloadIdentity,
} from './vars.js';

export interface VariableStoreOptions {
  /** The agent's data dir: `<dataDir>/variables.json`. */
  dataDir: string;
  /** The variables dir, when configured. */
  dir?: string;
  logger: pino.Logger;
  /** Resync of the variables dir, ms (default 30000). */
  resyncMs?: number;
  /** Debounce of the dir's watch events, ms (default 100). */
  debounceMs?: number;
  /** Clock, for tests (epoch ms). */
  now?: () => number;
  /** The agent's uid as the dir's owner checks see it (tests). */
  uid?: number;
}

interface Listener {
  target: WatchTarget;
  fn: (c: VariableChange) => void;
}

function copyOf(v: Variable): Variable {
  return { ...v, items: { ...v.items } };
}

function metaOf(v: Variable): VariableMetadata {
  const { items: _items, ...meta } = v;
  return meta;
}

function sameItems(a: VariableItems, b: VariableItems): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

function conflict(path: string, cas: number, current: Variable | undefined): TendError {
  const have = current ? `has modify index ${current.modifyIndex}` : 'does not exist';
  const want = cas === 0 ? 'expected it not to exist (check-index 0)' : `expected check-index ${cas}`;
  return new TendError('E_VAR_CONFLICT', `Check-and-Set conflict: variable ${path} ${have}; ${want}`, {
    details: { path, checkIndex: cas, ...(current ? { modifyIndex: current.modifyIndex } : {}) },
  });
}

function readOnly(path: string, file: string): TendError {
  return new TendError('E_VAR_READ_ONLY', `failed to write variable ${path}: it is defined by ${file} in the variables dir (read-only); change that file instead`, {
    details: { path, file },
  });
}

export class LocalVariableStore implements VariableStore {
  readonly #file: VariablesFile;
  readonly #log: pino.Logger;
  readonly #now: () => number;
  readonly #listeners = new Set<Listener>();
  readonly #dirSource: VariableDir | undefined;
  #stored = new Map<string, Variable>();
  #dir = new Map<string, Variable>();
  #index = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: VariableStoreOptions) {
    this.#log = opts.logger.child({ component: 'variables' });
    this.#file = new VariablesFile({ dataDir: opts.dataDir, logger: this.#log });
    this.#now = opts.now ?? Date.now;
    if (opts.dir !== undefined) {
      this.#dirSource = new VariableDir({
        dir: opts.dir,
        logger: opts.logger,
        resyncMs: opts.resyncMs,
        debounceMs: opts.debounceMs,
        uid: opts.uid,
        onChange: (set) => this.#applyDir(set),
      });
    }
  }

  /** The document's path (`<dataDir>/variables.json`). */
  get path(): string {
    return this.#file.path;
  }

  /** Load the stored variables, then read the dir once and start watching it. */
  async open(): Promise<LoadedVariables['outcome']> {
    const loaded = await this.#file.load();
    this.#stored = loaded.variables;
    this.#index = loaded.index;
    this.#log.info({ path: this.#file.path, outcome: loaded.outcome, variables: loaded.variables.size }, 'variables loaded');
    await this.#dirSource?.start();
    await this.#queue; // the index the first dir load took is saved
    return loaded.outcome;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#dirSource?.stop();
    await this.#queue.catch(() => undefined);
    this.#listeners.clear();
  }

  // --- reads -----------------------------------------------------------------

  #effective(path: string): Variable | undefined {
    return this.#dir.get(path) ?? this.#stored.get(path);
  }

  get(path: string): Variable | undefined {
    const v = this.#effective(assertPath(path));
    return v && copyOf(v);
  }

  exists(path: string): boolean {
    return this.#effective(assertPath(path)) !== undefined;
  }

  list(prefix = ''): VariableMetadata[] {
    assertPrefix(prefix);
    const out: VariableMetadata[] = [];
    for (const v of this.#dir.values()) if (v.path.startsWith(prefix)) out.push(metaOf(v));
    for (const v of this.#stored.values()) if (v.path.startsWith(prefix) && !this.#dir.has(v.path)) out.push(metaOf(v));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  watch(target: WatchTarget, fn: (c: VariableChange) => void): () => void {
    if ('path' in target) assertPath(target.path);
    else assertPrefix(target.prefix);
    const l: Listener = { target, fn };
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  forTask(identity: WorkloadIdentity, policies?: readonly VariablePolicy[]): VariableReader {
    return taskReader(this, identity, policies);
  }

  #notify(changes: VariableChange[]): void {
    for (const c of changes) {
      for (const l of this.#listeners) {
        const t = l.target;
        if ('path' in t ? t.path !== c.path : !c.path.startsWith(t.prefix)) continue;
        try {
          l.fn(c);
        } catch (err) {
          this.#log.warn({ path: c.path, err: describeError(err) }, 'variable watcher failed');
        }
      }
    }
  }

  // --- writes ----------------------------------------------------------------

  /** Run `fn` after every write before it (one write at a time: a check-index sees committed state). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(() => {
      if (this.#closed) throw new TendError('E_STORE', 'failed to write variables: the store is closed');
      return fn();
    });
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** The stored variables with `path` replaced by `v` (or removed). */
  *#withChange(path: string, v: Variable | undefined): Iterable<Variable> {
    for (const [p, x] of this.#stored) if (p !== path) yield x;
    if (v) yield v;
  }

  async put(path: string, items: VariableItems, opts: CasOptions = {}): Promise<Variable> {
    assertPath(path);
    const clean = checkItems(items, `variable ${path}`);
    return this.#serial(async () => {
      const owner = this.#dir.get(path);
      if (owner) throw readOnly(path, owner.file!);
      const cur = this.#stored.get(path);
      if (opts.cas !== undefined && (opts.cas === 0 ? cur !== undefined : cur?.modifyIndex !== opts.cas)) throw conflict(path, opts.cas, cur);
      // Reserved before the write: a dir change while it runs takes the next one (a failed write leaves a gap).
      const index = ++this.#index;
      const now = this.#now();
      const v: Variable = { path, items: clean, createIndex: cur?.createIndex ?? index, modifyIndex: index, createTime: cur?.createTime ?? now, modifyTime: now };
      await this.#file.write(this.#index, this.#withChange(path, v));
      this.#stored.set(path, v);
      this.#log.info({ path, modifyIndex: index, created: !cur }, 'variable written');
      this.#notify([{ path, modifyIndex: index }]);
      return copyOf(v);
    });
  }

  async purge(path: string, opts: CasOptions = {}): Promise<void> {
    assertPath(path);
    return this.#serial(async () => {
      const owner = this.#dir.get(path);
      if (owner) throw readOnly(path, owner.file!);
      const cur = this.#stored.get(path);
      if (!cur) {
        if (opts.cas !== undefined && opts.cas > 0) throw conflict(path, opts.cas, undefined);
        return;
      }
      if (opts.cas !== undefined && cur.modifyIndex !== opts.cas) throw conflict(path, opts.cas, cur);
      ++this.#index;
      await this.#file.write(this.#index, this.#withChange(path, undefined));
      this.#stored.delete(path);
      this.#log.info({ path }, 'variable purged');
      this.#notify([{ path, modifyIndex: undefined }]);
    });
  }

  /** A new set from the dir: new indexes for what changed, the feed told, the counter saved. */
  #applyDir(set: Map<string, DirVariable>): void {
    if (this.#closed) return;
    const next = new Map<string, Variable>();
    const changes: VariableChange[] = [];
    for (const d of [...set.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      const prev = this.#dir.get(d.path);
      if (prev && prev.file === d.file && sameItems(prev.items, d.items)) {
        next.set(d.path, prev);
        continue;
      }
      const index = ++this.#index;
      const v: Variable = { path: d.path, items: d.items, createIndex: prev?.createIndex ?? index, modifyIndex: index, createTime: prev?.createTime ?? d.mtimeMs, modifyTime: d.mtimeMs, file: d.file };
      next.set(d.path, v);
      changes.push({ path: d.path, modifyIndex: index });
      if (!prev && this.#stored.has(d.path)) this.#log.warn({ path: d.path, file: d.file }, 'variables dir file shadows a variable written with tendctl var put');
    }
    for (const path of this.#dir.keys()) {
      if (next.has(path)) continue;
      changes.push({ path, modifyIndex: this.#stored.get(path)?.modifyIndex });
    }
    this.#dir = next;
    if (!changes.length) return;
    this.#notify(changes);
    // Keep the counter on disk, so indexes never repeat across a restart.
    void this.#serial(() => this.#file.write(this.#index, this.#stored.values())).catch((err) => {
      if (!this.#closed) this.#log.error({ err: describeError(err) }, 'failed to save the variables index');
    });
  }
}

export function createVariableStore(opts: VariableStoreOptions): LocalVariableStore {
  return new LocalVariableStore(opts);
}
