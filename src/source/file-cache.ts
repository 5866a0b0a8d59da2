/**
 * Per-file cache of load results, keyed by path and content hash, with the
 * file's last good version. A relist of unchanged files costs one stat each
 * (inode, size, mtime, ctime unchanged) or, when the stat changed or is too
 * recent to trust, a read and a hash; only new content is loaded.
 *
 * Only a regular file of at most MAX_JOB_FILE_BYTES is read (jobspec/read.ts):
 * a FIFO, a device or a socket under a job-file name, or a file too big, is
 * refused by its stat and shown as a failed file (its last good version, if
 * it had one, stays in force); it is never opened.
 *
 * A file whose functions read other files (`file("conf/app.conf")`,
 * `fileset(…)`) is loaded again when what one of those reads saw changed,
 * even when the job file's own bytes did not: each refresh hashes them
 * anew (they are few and small).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Diagnostic, Job, LoadResult } from '../jobspec/model.js';
import { describeError, errnoCode } from '../errors.js';
import { JobFileError, readJobFile, refuseStat } from '../jobspec/read.js';
import { currentReadHash } from '../jobspec/load.js';

/** Loads one file from its bytes (the watcher reads them, so hash and content always match). */
export type FileLoader = (file: string, text: string) => Promise<LoadResult>;

export interface CachedFile {
  path: string;
  /** `ino:size:mtimeMs:ctimeMs` when the bytes were read. */
  statKey: string;
  mtimeMs: number;
  readAtMs: number;
  /** sha256 of the bytes, hex; "" when the file could not be read. */
  contentHash: string;
  /** Result for the current bytes. */
  result: LoadResult;
  lastGood?: { jobs: Job[]; excluded: LoadResult['excluded']; at: string };
}

/** `held`: new bytes that drop jobs, read while the file was still being written; the old jobs stay until it settles. */
export type RefreshOutcome = 'unchanged' | 'changed' | 'gone' | 'held';

/** Counters, for tests and the "relist is cheap" claim. */
export interface CacheStats {
  stats: number;
  reads: number;
  loads: number;
  /** Files read by job files' functions, hashed again to see whether they changed. */
  readChecks?: number;
}

/** A stat newer than this before its read cannot be trusted to reveal a later same-size write (coarse mtime). */
const RACY_MS = 2000;

export function hashContent(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class FileCache {
  readonly #load: FileLoader;
  readonly #entries = new Map<string, CachedFile>();
  readonly counters: CacheStats = { stats: 0, reads: 0, loads: 0 };

  readonly #holdMs: number;

  /**
   * `holdMs`: new content that drops jobs the file had, read less than this after the file's
   * last write, is held (the old jobs stay in force) until a read finds the file settled. The
   * watcher reacts to the first fs event at once, so it may read a file that a slow writer
   * truncated and has only begun to write again: a prefix that still parses must not stop jobs.
   */
  constructor(load: FileLoader, opts: { holdMs?: number } = {}) {
    this.#load = load;
    this.#holdMs = opts.holdMs ?? 0;
  }

  get(path: string): CachedFile | undefined {
    return this.#entries.get(path);
  }

  /** Were the cached bytes read less than `withinMs` after the file's last write? */
  isFresh(path: string, withinMs: number): boolean {
    const e = this.#entries.get(path);
    return e !== undefined && e.readAtMs - e.mtimeMs < withinMs;
  }

  paths(): string[] {
    return [...this.#entries.keys()];
  }

  /** Every cached file (Array.from: no garbage per entry in this once-per-event walk). */
  all(): CachedFile[] {
    return Array.from(this.#entries.values());
  }

  /** Forget files that are no longer listed; returns how many were dropped. */
  retain(present: Set<string>): number {
    let dropped = 0;
    for (const p of this.#entries.keys()) {
      if (!present.has(p)) {
        this.#entries.delete(p);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Bring one file up to date. `verify` re-reads and re-hashes even when the
   * stat is unchanged (the periodic resync does, to catch what a stat hides).
   */
  async refresh(path: string, verify: boolean): Promise<RefreshOutcome> {
    const prev = this.#entries.get(path);
    let statKey: string;
    let mtimeMs: number;
    try {
      this.counters.stats++;
      // A stat of a job file is a few µs: synchronous, it costs ~5 ms of CPU for 1,000 files, where
      // the promise API costs 20–30 ms, every resync (issue 14: the idle agent's largest share).
      const st = statSync(path);
      const refused = refuseStat(st);
      if (refused) return this.#readFailed(path, prev, refused);
      statKey = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      mtimeMs = st.mtimeMs;
    } catch (err) {
      return this.#readFailed(path, prev, err);
    }
    const trusted = prev !== undefined && prev.contentHash !== '' && prev.readAtMs - prev.mtimeMs > RACY_MS;
    const readsChanged = prev !== undefined && this.#readsChanged(prev.result);
    if (prev && !verify && trusted && prev.statKey === statKey && !readsChanged) return 'unchanged';

    let bytes: Buffer;
    const readAtMs = Date.now();
    try {
      this.counters.reads++;
      bytes = (await readJobFile(path)).bytes;
    } catch (err) {
      return this.#readFailed(path, prev, err);
    }
    const contentHash = hashContent(bytes);
    if (prev && prev.contentHash === contentHash && !readsChanged) {
      prev.statKey = statKey;
      prev.mtimeMs = mtimeMs;
      prev.readAtMs = readAtMs;
      return 'unchanged';
    }
    const result = await this.#loadSafely(path, bytes.toString('utf8'));
    if (prev && readAtMs - mtimeMs < this.#holdMs && dropsJobs(prev, result)) {
      // Unknown hash and stat: the next refresh reads and loads again, and decides then.
      this.#entries.set(path, { ...prev, statKey: '', contentHash: '', mtimeMs, readAtMs });
      return 'held';
    }
    const entry: CachedFile = { path, statKey, mtimeMs, readAtMs, contentHash, result, lastGood: prev?.lastGood };
    if (result.ok) entry.lastGood = { jobs: result.jobs, excluded: result.excluded, at: new Date().toISOString() };
    this.#entries.set(path, entry);
    return 'changed';
  }

  /** Did anything the file's functions read change since it was loaded? */
  #readsChanged(result: LoadResult): boolean {
    if (!result.reads?.length) return false;
    this.counters.readChecks = (this.counters.readChecks ?? 0) + result.reads.length;
    return result.reads.some((r) => currentReadHash(r) !== r.hash);
  }

  async #loadSafely(path: string, text: string): Promise<LoadResult> {
    this.counters.loads++;
    try {
      return await this.#load(path, text);
    } catch (err) {
      // The loader promises never to throw for bad content; a throw is a bug, shown like a bad file.
      return failedResult(path, 'syntax', `failed to load ${path}: ${describeError(err)}`);
    }
  }

  #readFailed(path: string, prev: CachedFile | undefined, err: unknown): RefreshOutcome {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      this.#entries.delete(path);
      return prev ? 'gone' : 'unchanged';
    }
    // Unreadable (EACCES, EIO, …) or refused (a FIFO, too big): keep the last good version, show why.
    const message = err instanceof JobFileError ? err.message : `failed to read ${path}: ${describeError(err)}`;
    if (prev && prev.contentHash === '' && prev.result.diagnostics[0]?.message === message) return 'unchanged';
    this.#entries.set(path, {
      path,
      statKey: '',
      mtimeMs: 0,
      readAtMs: Date.now(),
      contentHash: '',
      result: failedResult(path, 'syntax', message),
      lastGood: prev?.lastGood,
    });
    return 'changed';
  }
}

/** Would `next` take away a job that the version in force (`prev`) has? */
function dropsJobs(prev: CachedFile, next: LoadResult): boolean {
  if (!next.ok) return false; // a failed load keeps the last good version anyway
  const inForce = prev.result.ok ? prev.result.jobs : (prev.lastGood?.jobs ?? []);
  const kept = new Set(next.jobs.map((j) => j.id));
  return inForce.some((j) => !kept.has(j.id));
}

function failedResult(file: string, kind: Diagnostic['kind'], message: string): LoadResult {
  const diagnostic: Diagnostic = { severity: 'error', kind, file, line: 0, column: 0, path: '', message };
  return { file, jobs: [], diagnostics: [diagnostic], ok: false, excluded: [] };
}
