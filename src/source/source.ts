/**
 * The job source: watches the jobs dir and always emits the *whole* desired
 * set (kubelet style). Watch events (inotify, fs-watch.ts) and a periodic relist only
 * decide *when* a new set is emitted; every emission is complete.
 *
 * A file that fails to load keeps its last good jobs in force (`lastGood`),
 * with its diagnostics visible. Two files defining one job id: the first by
 * path order wins; the clash is reported on both files.
 */
import type { Diagnostic, Job, NodeInfo } from '../jobspec/model.js';

/** The Git revision the jobs dir holds (revision.ts reads it; NodeView.jobsRevision shows it). */
export interface JobsRevision {
  /** The commit id, lower-case hex. */
  commit: string;
  /** Where it was read: the jobs dir's REVISION file, or its Git checkout. */
  source: 'REVISION' | 'git';
  /** ISO time the revision was applied (REVISION's applied_at; the ref file's mtime for a checkout). */
  appliedAt?: string;
}

export interface FileState {
  /** Absolute path as seen through the jobs dir (symlinks in the dir path are not resolved). */
  path: string;
  /** True when the current content loaded without error. */
  ok: boolean;
  diagnostics: Diagnostic[];
  /** Jobs in force from this file: the current content when ok, else the last good version (maybe none). */
  jobs: Job[];
  /** ISO time of the last good load, when the file is invalid and `jobs` comes from it. */
  lastGoodAt?: string;
  /** Jobs of this file whose constraints exclude the node. */
  excluded: { job: string; reason: string }[];
  /** Content hash of the current bytes (for "did anything change"). */
  contentHash: string;
  /** Files the job file's functions read (`file("conf/app.conf")`): a change to one reloads this file. */
  reads?: string[];
}

export interface DesiredSet {
  /** Monotonic generation, +1 per emission. */
  generation: number;
  /** Every job file, sorted by path. */
  files: FileState[];
  /** Jobs in force by id (conflicts resolved: first file by path wins). */
  jobs: Map<string, Job>;
  /** Job ids defined by more than one file: the winner and the losers. */
  conflicts: { job: string; winner: string; losers: string[] }[];
  /** Why the set changed: "initial", "watch", "resync", "symlink-swap". */
  reason: string;
  /**
   * The Git revision the jobs dir holds (its REVISION file, else its checkout; revision.ts), read
   * at every relist: a new revision is a new set even when no job file changed. Absent: not read
   * (scans of other dirs).
   */
  revision?: JobsRevision | null;
}

export interface JobSourceOptions {
  /** The jobs dir (may be a symlink that a sync tool swaps). */
  dir: string;
  node: NodeInfo;
  /** Debounce for bursts of fs events, ms (default 100). */
  debounceMs?: number;
  /** Periodic full relist, ms (default 30000). */
  resyncMs?: number;
  /** Variables passed to every file (agent has none by default). */
  vars?: Record<string, string>;
  /** Dirs besides the jobs dir whose trees job files may read with `file()` and friends (agent `client { job_file_dirs }`). */
  readDirs?: string[];
}

export interface JobSource {
  /** Load everything once, emit the initial set, then watch. */
  start(): Promise<DesiredSet>;
  /** Called with every new complete set after start (the initial set is start()'s result, not sent here). */
  onChange(listener: (set: DesiredSet) => void): () => void;
  /** The latest set. */
  current(): DesiredSet;
  /** Relist now (used by the periodic timer and by tests). */
  resync(reason?: string): Promise<DesiredSet>;
  stop(): Promise<void>;
}
