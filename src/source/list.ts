/**
 * Listing the jobs dir: every job file under it (subdirectories included),
 * sorted by path, with paths as seen through the dir as given (a symlinked
 * dir is followed, not resolved). Hidden files and dirs are skipped; which
 * names count as job files is the loader's call (`isJobFile`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';

export interface ListResult {
  files: string[];
  /** Subdirectories that could not be read (path and errno code), skipped. */
  skipped: { path: string; code: string }[];
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
export async function listJobFiles(dir: string, isJobFile: (name: string) => boolean): Promise<ListResult> {
  const files: string[] = [];
  const skipped: ListResult['skipped'] = [];
  const seen = new Set<string>();
  const walk = async (d: string, isRoot: boolean): Promise<void> => {
    let entries;
    try {
      const st = await fs.stat(d);
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) return; // a symlink loop
      seen.add(key);
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (err) {
      if (isRoot) throw err;
      skipped.push({ path: d, code: errnoCode(err) ?? 'EUNKNOWN' });
      return;
    }
    for (const e of entries) {
      if (isHiddenName(e.name)) continue;
      const p = path.join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = await fs.stat(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // dangling link
        }
      }
      if (isDir) await walk(p, false);
      else if (isFile && isJobFile(e.name)) files.push(p);
    }
  };
  await walk(dir, true);
  files.sort(comparePaths);
  return { files, skipped };
}

/** Path order used for "first file wins": plain code-unit order, like Go's sort.Strings. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
