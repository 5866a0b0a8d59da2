/**
 * One look at a jobs dir, the way the agent's source sees it, for the tools
 * that do not watch: `tendctl validate`, `tendctl plan` offline, and the
 * agent's `plan(dir)`. Directories are walked by listJobFiles (the source's
 * walk: recursion, hidden names, links, each dir once); files named directly
 * are taken as they are. Each file is loaded by the jobspec loader, files
 * that are not job files (job-file.ts) are set apart, and the set is
 * assembled as the source assembles it (assembleSet: a job id defined twice
 * goes to the first file by path).
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { LoadOptions, LoadResult } from '../jobspec/model.js';
import { isJobFile } from '../jobspec/files.js';
import { loadFile } from '../jobspec/load.js';
import { errnoCode } from '../errors.js';
import type { DesiredSet } from './source.js';
import { assembleSet } from './assemble.js';
import { listJobFiles } from './list.js';

export interface ScanResult {
  /** Job files (not the skipped ones), sorted by path, with the jobs in force: as in the agent's desired set. */
  set: DesiredSet;
  /** Files with a job-file name that are not job files, and why. */
  skipped: { path: string; reason: string }[];
  /** Directories not walked: unreadable (errno code) or a link to a dir already walked ("loop"). */
  dirs: { path: string; reason: string }[];
}

export interface ScanOptions extends LoadOptions {
  /** Absolute paths never treated as job files (the agent's own config file). */
  exclude?: string[];
}

/** The files the agent would read under each path (with the dir they were found in): a dir is walked, a file is itself. */
export async function listPaths(paths: string[], opts: { exclude?: string[] } = {}): Promise<{ files: { file: string; root?: string }[]; dirs: ScanResult['dirs'] }> {
  const exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));
  const files: { file: string; root?: string }[] = [];
  const dirs: ScanResult['dirs'] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch {
      // a missing path is reported by the loader, as a file it failed to read
    }
    if (!isDir) {
      files.push({ file: p });
      continue;
    }
    try {
      const listed = await listJobFiles(p, isJobFile);
      files.push(...listed.files.filter((f) => !exclude.has(f)).map((file) => ({ file, root: p })));
      dirs.push(...listed.skipped.map((s) => ({ path: s.path, reason: `failed to read dir: ${s.code}; skipped` })));
      dirs.push(...listed.loops.map((l) => ({ path: l, reason: 'a link to a dir already walked; not followed' })));
    } catch (err) {
      dirs.push({ path: p, reason: `failed to read dir: ${errnoCode(err) ?? String(err)}` });
    }
  }
  const seen = new Set<string>();
  return { files: files.filter((f) => !seen.has(f.file) && seen.add(f.file)), dirs };
}

/**
 * Load what the agent would load from `paths`. A file found in a dir may
 * read (file functions) inside that dir, as the agent's may inside its jobs
 * dir, and in `readDirs`. Never throws for bad content.
 */
export async function scanPaths(paths: string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const { exclude, ...load } = opts;
  const { files, dirs } = await listPaths(paths, { exclude });
  const results: LoadResult[] = await Promise.all(files.map((f) => loadFile(f.file, f.root ? { ...load, readDirs: [f.root, ...(load.readDirs ?? [])] } : load)));
  const skipped = results.filter((r) => r.skipped !== undefined).map((r) => ({ path: r.file, reason: r.skipped! }));
  const entries = results.map((result) => ({ path: result.file, statKey: '', mtimeMs: 0, readAtMs: 0, contentHash: '', result }));
  return { set: assembleSet(entries, 1, 'scan'), skipped, dirs };
}
