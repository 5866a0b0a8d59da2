/**
 * The jobs dir watcher: watch events and timers decide *when* to look;
 * a relist lists the whole dir, refreshes the per-file cache and, when
 * anything changed, emits the complete desired set (kubelet style). A file
 * added to or changed in the top of the dir, with nothing else pending, is
 * refreshed alone (issue 14: one edited file among 1,000 stats one file, not
 * 1,000); every other event (a removal, a subdir, a linked file's target, a
 * watch that moved) and every timer relists the whole dir, and the periodic
 * resync verifies every file's bytes whatever the events said.
 *
 * Three triggers: fs events (the first at once, bursts coalesced: src/source/debounce.ts), the
 * periodic resync (verifies every file's bytes), and a cheap poll of the dir
 * path (stat through the symlink) that notices a swapped symlink, a dir that
 * appeared, or a dir replaced under the same name, and re-watches.
 *
 * The watches (fs-watch.ts: inotify through fs.watch) never follow a link:
 * they are, one level each, the real paths of the dirs the listing walked
 * (list.ts enters each dir once, known by dev and inode) and the targets of
 * linked job files. stop() aborts a listing in flight.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describeError, errnoCode } from '../errors.js';
import { isJobFile as loaderIsJobFile } from '../jobspec/files.js';
import { loadText } from '../jobspec/load.js';
import type { DesiredSet, JobSource, JobSourceOptions, JobsRevision } from './source.js';
import { AssembleCache, assembleSet } from './assemble.js';
import { Debouncer } from './debounce.js';
import { FileCache, type FileLoader, type RefreshOutcome } from './file-cache.js';
import { DirWatch } from './fs-watch.js';
import { isHiddenName, listJobFiles } from './list.js';
import { readJobsRevision, sameRevision } from './revision.js';

export interface WatcherOptions extends JobSourceOptions {
  logger?: pino.Logger;
  /** Loads one file from its bytes (default: the jobspec loader with `node` and `vars`). A `(file) => …` loader also fits. */
  load?: FileLoader;
  /** Which file names are job files (default: the loader's `isJobFile`). */
  isJobFile?: (name: string) => boolean;
  /** Longest a constant stream of events can delay a relist, ms (default 10 × debounceMs). */
  maxWaitMs?: number;
  /** How often the dir path is stat'ed for a symlink swap or a (re)appearing dir, ms (default 1000). */
  dirPollMs?: number;
  /** Absolute paths never treated as job files (e.g. the agent config file when it sits in the jobs dir). */
  exclude?: string[];
}

/** The timer's resyncs re-read every file's bytes one time in this many (the others stat). */
const VERIFY_EVERY = 10;

/** A file read within this long after its last write gets one more look (see #relistOnce). */
const SETTLE_MS = 1000;

/** Identity of what the dir path points at: a swap or a re-creation changes it. */
interface DirIdentity {
  real: string;
  dev: number;
  ino: number;
}

export function createJobSource(opts: WatcherOptions): JobSource {
  return new Watcher(opts);
}

class Watcher implements JobSource {
  readonly #dir: string;
  readonly #log: pino.Logger;
  readonly #cache: FileCache;
  /** File states and order kept from one assembly to the next. */
  readonly #assembled = new AssembleCache();
  readonly #isJobFile: (name: string) => boolean;
  readonly #exclude: Set<string>;
  readonly #resyncMs: number;
  readonly #dirPollMs: number;
  readonly #debouncer: Debouncer;
  readonly #listeners = new Set<(set: DesiredSet) => void>();

  /** The real paths watched (see list.ts `watch`). */
  readonly #watch: DirWatch;
  /** Dir links not followed, as last logged. */
  #loopsLogged = '';
  readonly #abort = new AbortController();
  #dirId: DirIdentity | undefined;
  #dirMissingWarned = false;
  /** The jobs dir's revision (REVISION file or Git checkout) as of the last relist, and the problem last logged. */
  #revision: JobsRevision | null = null;
  #revisionProblem: string | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #current: DesiredSet;
  #started = false;
  #stopped = false;
  /** The relist in flight and whether another one was asked for meanwhile. */
  #running: Promise<void> | undefined;
  #queued: { reason: string; verify: boolean; paths: Set<string> | undefined; waiters: (() => void)[] } | undefined;
  /** What the events since the last run ask for: these listed paths alone, or (`full`) a relist. */
  #pending: { full: boolean; paths: Set<string> } = { full: false, paths: new Set() };
  #poll: Promise<void> | undefined;

  constructor(opts: WatcherOptions) {
    this.#dir = path.resolve(opts.dir);
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'source', dir: this.#dir });
    const load: FileLoader = opts.load ?? ((file, text) => loadText(file, text, { node: opts.node, vars: opts.vars, readDirs: [opts.dir, ...(opts.readDirs ?? [])] }));
    const debounceMs = opts.debounceMs ?? 100;
    this.#cache = new FileCache(load, { holdMs: debounceMs });
    this.#isJobFile = opts.isJobFile ?? loaderIsJobFile;
    this.#exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));
    this.#resyncMs = opts.resyncMs ?? 30_000;
    this.#dirPollMs = opts.dirPollMs ?? 1000;
    this.#debouncer = new Debouncer(() => void this.#runPending(), debounceMs, opts.maxWaitMs ?? debounceMs * 10);
    this.#current = { generation: 0, files: [], jobs: new Map(), conflicts: [], reason: 'initial' };
    this.#watch = new DirWatch({
      ignore: isHiddenName,
      // A new or changed file is acted on at once; a removal waits for its burst to settle, so that
      // `rm -r` of the dir (a sync hiccup, a remount) is seen as a vanished dir, which stops nothing,
      // rather than as its files leaving one by one.
      onEvent: (event, p) => {
        this.#note(event, p);
        this.#debouncer.trigger(event === 'add' || event === 'change');
      },
      onError: (p, err) => this.#log.warn({ path: p, err: describeError(err) }, 'watch error; relying on resync'),
    });
  }

  /** Cache counters (stats, reads, loads): how much work relists did. */
  get counters(): FileCache['counters'] {
    return this.#cache.counters;
  }

  /** Set once the dir was first identified: a later change of target is a swap, not the start. */
  #dirFound = false;

  async start(): Promise<DesiredSet> {
    if (this.#started) return this.#current;
    this.#started = true;
    await this.#relist('initial', true, true); // identifies and watches the dir first
    // The timer's resync stats every file (a write inotify missed changes the stat) and re-reads
    // every file's bytes one time in VERIFY_EVERY (a write that kept size and mtime): reading 1,000
    // files every 30 s was most of an idle agent's CPU (issue 14). `resync()` (the API) verifies.
    let resyncs = 0;
    this.#resyncTimer = setInterval(() => void this.#relist('resync', ++resyncs % VERIFY_EVERY === 0), this.#resyncMs);
    this.#pollTimer = setInterval(() => void this.#pollDir(), this.#dirPollMs);
    this.#resyncTimer.unref();
    this.#pollTimer.unref();
    return this.#current;
  }

  onChange(listener: (set: DesiredSet) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  current(): DesiredSet {
    return this.#current;
  }

  async resync(reason = 'resync'): Promise<DesiredSet> {
    await this.#relist(reason, true); // a relist re-identifies the dir itself
    return this.#current;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error('job source stopped'));
    this.#debouncer.cancel();
    clearInterval(this.#resyncTimer);
    clearInterval(this.#pollTimer);
    await this.#poll;
    await this.#unwatch();
    while (this.#running) await this.#running;
  }

  /** Stat through the dir path (following the symlink, if any). Undefined when there is no dir. */
  async #identify(): Promise<DirIdentity | undefined> {
    try {
      const st = await fs.stat(this.#dir);
      if (!st.isDirectory()) throw Object.assign(new Error(`${this.#dir} is not a directory`), { code: 'ENOTDIR' });
      const real = await fs.realpath(this.#dir);
      this.#dirMissingWarned = false;
      return { real, dev: st.dev, ino: st.ino };
    } catch (err) {
      if (!this.#dirMissingWarned) {
        this.#log.warn({ code: errnoCode(err), err: describeError(err) }, 'jobs dir not readable; waiting for it');
        this.#dirMissingWarned = true;
      }
      return undefined;
    }
  }

  /** The cheap poll: did the dir path start pointing somewhere else? (One at a time; stop waits for it.) */
  #pollDir(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#poll ??= this.#pollOnce().finally(() => (this.#poll = undefined));
    return this.#poll;
  }

  async #pollOnce(): Promise<void> {
    const id = await this.#identify();
    if (!sameDir(this.#dirId, id)) await this.#relist('watch', true); // the relist sees the new target and rewatches
  }

  /** Re-identify the dir; on a new target (swap, late or re-created dir), move the watch. True when swapped. */
  async #followDir(): Promise<boolean> {
    const id = await this.#identify();
    const prev = this.#dirId;
    if (sameDir(prev, id)) return false;
    this.#dirId = id;
    // Gone: #identify warned. First found: the start, not a change. Found again, or elsewhere: say so.
    if (id && !this.#dirFound) this.#log.info({ real: id.real }, 'watching jobs dir');
    else if (id && !prev) this.#log.info({ real: id.real }, 'jobs dir is back; watching it again');
    else if (id && prev) this.#log.info({ from: prev.real, to: id.real }, 'jobs dir changed target; rewatching');
    if (id) this.#dirFound = true;
    await this.#unwatch(); // the listing that follows watches the new tree
    return prev !== undefined && id !== undefined && prev.real !== id.real;
  }

  /** Watch exactly `paths` (real paths, one level each: fs-watch.ts). */
  async #syncWatch(paths: string[]): Promise<void> {
    if (this.#stopped) return;
    const first = this.#watch.paths.size === 0;
    const added = this.#watch.sync(paths);
    // A file written into a new dir before its watch began is found by one more look.
    if (added.length && !first) {
      this.#pending.full = true;
      this.#debouncer.trigger(false);
    }
  }

  async #unwatch(): Promise<void> {
    this.#watch.close();
  }

  /**
   * Run one relist, or merge into the one queued behind the relist in flight
   * (one in flight, at most one waiting: later asks share the waiting one).
   */
  #relist(reason: string, verify: boolean, force = false, paths?: Set<string>): Promise<void> {
    if (this.#stopped && !force) return Promise.resolve();
    if (!this.#running) {
      this.#running = this.#relistNow(reason, verify, force, paths).finally(() => this.#next());
      return this.#running;
    }
    return new Promise<void>((resolve) => {
      if (!this.#queued) this.#queued = { reason, verify, paths: paths && new Set(paths), waiters: [] };
      else {
        this.#queued.verify ||= verify;
        if (reason !== 'watch') this.#queued.reason = reason;
        // A relist covers every path; paths add up.
        const q = this.#queued.paths;
        this.#queued.paths = q && paths ? new Set([...q, ...paths]) : undefined;
      }
      this.#queued.waiters.push(resolve);
    });
  }

  /**
   * A watch event: a job file added to or changed in the top of the dir (as listed: the dir's real
   * path is where the watch sees it) can be refreshed alone; anything else needs a relist.
   */
  #note(event: string, real: string): void {
    const top = this.#dirId?.real;
    const name = path.basename(real);
    const listed = path.join(this.#dir, name);
    const alone =
      (event === 'add' || event === 'change') &&
      top !== undefined &&
      path.dirname(real) === top &&
      !isHiddenName(name) &&
      this.#isJobFile(name) &&
      !this.#exclude.has(listed) &&
      (event === 'add' || this.#cache.get(listed) !== undefined);
    if (alone) this.#pending.paths.add(listed);
    else this.#pending.full = true;
  }

  /** The debouncer's run: what the events asked for (a timer's own run, with nothing noted, relists). */
  #runPending(): Promise<void> {
    const { full, paths } = this.#pending;
    this.#pending = { full: false, paths: new Set() };
    return this.#relist('watch', false, false, full || !paths.size ? undefined : paths);
  }

  #next(): void {
    this.#running = undefined;
    const q = this.#queued;
    this.#queued = undefined;
    if (!q) return;
    if (this.#stopped) return q.waiters.forEach((w) => w());
    this.#running = this.#relistNow(q.reason, q.verify, false, q.paths).finally(() => {
      q.waiters.forEach((w) => w());
      this.#next();
    });
  }

  async #relistNow(reason: string, verify: boolean, initial: boolean, paths?: Set<string>): Promise<void> {
    try {
      if (paths && !verify && !initial && (await this.#refreshOnly([...paths], reason))) return;
      await this.#relistOnce(reason, verify, initial);
    } catch (err) {
      if (this.#abort.signal.aborted) return; // stop() cut it short
      // Never an unhandled rejection from a timer: log, keep the set, let the next trigger retry.
      this.#log.error({ reason, err: describeError(err) }, 'failed to relist jobs dir');
    }
  }

  /**
   * Refresh these listed paths alone (job files at the top of the dir that events named). False
   * when the dir itself moved, went or came back (a swap, a re-creation): the caller relists.
   */
  async #refreshOnly(files: string[], reason: string): Promise<boolean> {
    const started = performance.now();
    // The dir moved, went or came back: the relist sees it (and says why).
    const id = await this.#identify();
    if (!id || !sameDir(this.#dirId, id)) return false;
    const signal = this.#abort.signal;
    const outcomes = await untilAborted(mapLimited(files, 8, signal, (f) => this.#cache.refresh(f, false)), signal);
    this.#afterRefresh(files, outcomes, reason, false);
    this.#log.debug({ reason, files: files.length, ms: Math.round(performance.now() - started) }, 'refreshed job files');
    return true;
  }

  /** Log skipped files, emit when anything changed, and look once more at files still being written. */
  #afterRefresh(files: string[], outcomes: RefreshOutcome[], reason: string, initial: boolean, changed = false): boolean {
    changed ||= outcomes.some((o) => o === 'changed' || o === 'gone');
    for (const [i, f] of files.entries()) {
      const skipped = outcomes[i] === 'changed' ? this.#cache.get(f)?.result.skipped : undefined;
      if (skipped) this.#log.info({ file: f, reason: skipped }, 'not a job file; skipped'); // once per content
    }
    if (changed || initial) this.#emit(reason, !initial);
    // Content read while it was still being written (mtime just before the read) may be a partial
    // write whose last fs event was folded into one already seen: look once more, after a pause.
    const settling = files.filter((f, i) => outcomes[i] === 'held' || (outcomes[i] === 'changed' && this.#cache.isFresh(f, SETTLE_MS)));
    if (settling.length && !this.#stopped) {
      for (const f of settling) this.#pending.paths.add(f);
      this.#debouncer.trigger(false);
    }
    return changed;
  }

  async #relistOnce(reason: string, verify: boolean, initial: boolean): Promise<void> {
    const started = performance.now();
    if (await this.#followDir()) reason = 'symlink-swap';
    const signal = this.#abort.signal;
    let files: string[];
    try {
      let listed = await listJobFiles(this.#dir, this.#isJobFile, { signal });
      // The dir link swapped while it was listed: the listing may be of either tree; list the new one.
      for (let again = 0; again < 3 && (await this.#followDir()); again++) {
        reason = 'symlink-swap';
        listed = await listJobFiles(this.#dir, this.#isJobFile, { signal });
      }
      files = listed.files.filter((f) => !this.#exclude.has(f));
      this.#logLinks(listed.loops, listed.skipped);
      await this.#syncWatch(listed.watch);
    } catch (err) {
      if (signal.aborted) throw err;
      // No dir (yet, or any more): the first set is empty; later, what is in force stays (a vanished
      // dir is more likely a mount or sync hiccup than an order to stop everything).
      if (!this.#dirMissingWarned) this.#log.warn({ code: errnoCode(err), err: describeError(err) }, 'failed to list jobs dir');
      this.#dirMissingWarned = true;
      if (initial) this.#emit(reason, false);
      return;
    }
    let changed = this.#cache.retain(new Set(files)) > 0;
    changed = (await this.#readRevision()) || changed;
    // stop() does not wait for a file in flight (a parse may take until its deadline); the refresh finishes unobserved.
    const outcomes = await untilAborted(mapLimited(files, 8, signal, (f) => this.#cache.refresh(f, verify)), signal);
    changed = this.#afterRefresh(files, outcomes, reason, initial, changed);
    this.#log.debug({ reason, files: files.length, changed, ms: Math.round(performance.now() - started) }, 'relisted jobs dir');
  }

  /** Read the dir's revision (a few small reads); true when it changed. A problem is logged once until it changes. */
  async #readRevision(): Promise<boolean> {
    const look = await readJobsRevision(this.#dir);
    if (look.problem !== this.#revisionProblem) {
      this.#revisionProblem = look.problem;
      if (look.problem) this.#log.warn({ err: look.problem }, 'failed to read the jobs dir revision');
    }
    if (sameRevision(look.revision, this.#revision)) return false;
    this.#revision = look.revision;
    return true;
  }

  /** Say once (until it changes) which dir links were not followed and which subdirs could not be read. */
  #logLinks(loops: string[], skipped: { path: string; code: string }[]): void {
    const key = JSON.stringify([loops, skipped]);
    if (key === this.#loopsLogged) return;
    this.#loopsLogged = key;
    if (loops.length) this.#log.warn({ links: loops }, 'jobs dir holds links to dirs already walked (a loop or a second path); not followed');
    if (skipped.length) this.#log.warn({ dirs: skipped }, 'failed to read subdirs of the jobs dir; skipped');
  }

  #emit(reason: string, notify: boolean): void {
    const entries = this.#cache.all();
    const set = assembleSet(entries, this.#current.generation + 1, reason, this.#assembled);
    set.revision = this.#revision;
    this.#current = set;
    const invalid = set.files.filter((f) => !f.ok).length;
    this.#log.info({ generation: set.generation, reason, files: set.files.length, jobs: set.jobs.size, invalid, conflicts: set.conflicts.length }, 'desired set changed');
    if (!notify) return;
    for (const listener of this.#listeners) {
      try {
        listener(set);
      } catch (err) {
        this.#log.error({ err: describeError(err) }, 'desired set listener failed');
      }
    }
  }
}

function sameDir(a: DirIdentity | undefined, b: DirIdentity | undefined): boolean {
  if (!a || !b) return a === b;
  return a.real === b.real && a.dev === b.dev && a.ino === b.ino;
}

/** `p`, or a rejection with the signal's reason as soon as it is aborted. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => {}); // abandoned on abort: its own rejection (the abort reason) is nobody's business
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function mapLimited<T, R>(items: T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < items.length) {
      signal.throwIfAborted();
      const k = i++;
      out[k] = await fn(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
