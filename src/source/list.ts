/**
 * Listing the jobs dir: every job file under it (subdirectories included),
 * sorted by path, with paths as seen through the dir as given (a symlinked
 * dir is followed, not resolved). Hidden files and dirs are skipped; which
 * names count as job files is the loader's call (`isJobFile`).
 *
 * Each directory is entered once, known by (dev, inode), so links back to an
 * ancestor (or to the dir itself) end the walk instead of multiplying it, and
 * each file is listed once per path. A job-file name that is not a regular
 * file (a FIFO, a device, a socket) is listed too: the file cache refuses it
 * by its stat, with a diagnostic, and never opens it. The walk checks its
 * abort signal at every directory and every 256 entries.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';

export interface ListResult {
  files: string[];
  /**
   * What to watch, by real path, without following links: every directory
   * walked (the root first; its entries only) and the target of every linked
   * job file.
   */
  watch: string[];
  /** Subdirectories that could not be read (path and errno code), skipped. */
  skipped: { path: string; code: string }[];
  /** Directory links not followed because their target was already walked (a loop, or a second path to one dir). */
  loops: string[];
}

export interface ListOptions {
  /** Stops the walk (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

/** Is a path below `dir` inside a hidden file or dir? (The dir's own path does not count.) */
export function isHiddenBelow(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  if (rel === '' ) return false;
  const parts = rel.startsWith('..') || path.isAbsolute(rel) ? [path.basename(p)] : rel.split(path.sep);
  return parts.some(isHiddenName);
}

/**
 * List job files under `dir`. Throws the fs error when `dir` itself cannot be
 * read (ENOENT, ENOTDIR, EACCES): the caller decides what a missing dir means.
 */
export async function listJobFiles(dir: string, isJobFile: (name: string) => boolean, opts: ListOptions = {}): Promise<ListResult> {
  const out: ListResult = { files: [], watch: [], skipped: [], loops: [] };
  const seen = new Set<string>();
  const signal = opts.signal;
  /** `real` is the dir's real path when known (a plain subdir of a walked dir), else it is resolved. */
  const walk = async (d: string, isRoot: boolean, real: string | undefined): Promise<void> => {
    signal?.throwIfAborted();
    let entries;
    try {
      const st = await fs.stat(d);
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) {
        out.loops.push(d);
        return;
      }
      seen.add(key);
      real ??= await fs.realpath(d);
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (err) {
      if (isRoot) throw err;
      out.skipped.push({ path: d, code: errnoCode(err) ?? 'EUNKNOWN' });
      return;
    }
    out.watch.push(real);
    entries.sort((a, b) => comparePaths(a.name, b.name)); // the same tree is walked, and claimed, in the same order
    let n = 0;
    for (const e of entries) {
      if (++n % 256 === 0) signal?.throwIfAborted();
      if (isHiddenName(e.name)) continue;
      const p = path.join(d, e.name);
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) {
        let target: string;
        try {
          isDir = (await fs.stat(p)).isDirectory();
          target = await fs.realpath(p);
        } catch {
          continue; // dangling link
        }
        if (isDir) await walk(p, false, target);
        else if (isJobFile(e.name)) {
          out.files.push(p);
          out.watch.push(target);
        }
      } else if (isDir) await walk(p, false, path.join(real, e.name));
      else if (isJobFile(e.name)) out.files.push(p);
    }
  };
  await walk(dir, true, undefined);
  out.files.sort(comparePaths);
  return out;
}

/** Path order used for "first file wins": plain code-unit order, like Go's sort.Strings. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
