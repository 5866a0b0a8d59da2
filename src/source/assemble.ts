/**
 * Turning the per-file cache into the complete desired set: job files by path,
 * last good versions for invalid files, and job ids defined twice resolved
 * in favour of the first file by path (the losers get an error diagnostic;
 * nothing is torn down because of the clash).
 */
import type { Diagnostic, Job, LoadResult } from '../jobspec/model.js';
import type { DesiredSet, FileState } from './source.js';
import type { CachedFile } from './file-cache.js';
import { comparePaths } from './list.js';

export function fileStateOf(entry: CachedFile): FileState {
  const { result, lastGood } = entry;
  const state: FileState = {
    path: entry.path,
    ok: result.ok,
    diagnostics: [...result.diagnostics],
    jobs: result.ok ? result.jobs : (lastGood?.jobs ?? []),
    excluded: result.ok ? result.excluded : (lastGood?.excluded ?? []),
    contentHash: entry.contentHash,
  };
  if (!result.ok && lastGood) state.lastGoodAt = lastGood.at;
  if (result.reads?.length) state.reads = [...new Set(result.reads.map((r) => r.path))];
  return state;
}

/**
 * What one assembly keeps for the next (the watcher's): each file's state while its load result is
 * the same object, and the files' order while no path comes or goes. One event among 1,000 files
 * then builds one file's state and sorts nothing (issue 14).
 */
export class AssembleCache {
  readonly states = new WeakMap<LoadResult, { lastGood: CachedFile['lastGood']; contentHash: string; state: FileState }>();
  /** Paths of the last assembly's files, sorted, and where each is. */
  sorted: string[] = [];
  index = new Map<string, number>();
}

/** How many new paths are put in place one by one before a plain sort is cheaper. */
const INSERT_MAX = 64;

function stateOf(entry: CachedFile, cache: AssembleCache | undefined): FileState {
  if (!cache) return fileStateOf(entry);
  const hit = cache.states.get(entry.result);
  if (hit && hit.lastGood === entry.lastGood && hit.contentHash === entry.contentHash) return hit.state;
  const state = fileStateOf(entry);
  cache.states.set(entry.result, { lastGood: entry.lastGood, contentHash: entry.contentHash, state });
  return state;
}

/** The paths of `files` sorted, from the last assembly's order when the paths are nearly the same. */
function sortedPaths(paths: string[], cache: AssembleCache | undefined): string[] {
  if (!cache) return paths.sort(comparePaths);
  const added = paths.filter((p) => !cache.index.has(p));
  let sorted: string[];
  if (!added.length && cache.sorted.length === paths.length) return cache.sorted;
  if (added.length > INSERT_MAX || added.length + cache.sorted.length - paths.length > INSERT_MAX) {
    sorted = paths.sort(comparePaths);
  } else {
    const present = new Set(paths);
    sorted = cache.sorted.length + added.length === paths.length ? [...cache.sorted] : cache.sorted.filter((p) => present.has(p));
    for (const p of added) {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (comparePaths(sorted[mid], p) < 0) lo = mid + 1;
        else hi = mid;
      }
      sorted.splice(lo, 0, p);
    }
  }
  if (sorted !== cache.sorted) {
    cache.sorted = sorted;
    cache.index = new Map(sorted.map((p, i) => [p, i]));
  }
  return sorted;
}

/**
 * Files that are not job files (`result.skipped`: a renovate.json, an agent config) are left out of
 * the set. With a cache, a file's state object is shared with the last set while its load result is
 * the same (states are not changed once made: a file in a conflict gets a copy).
 */
export function assembleSet(entries: CachedFile[], generation: number, reason: string, cache?: AssembleCache): DesiredSet {
  // Indexed loops: this runs once per event over every file, never hot enough to be optimised,
  // where each step of a for…of allocates (issue 14).
  const byPath = new Map<string, CachedFile>();
  for (let i = 0; i < entries.length; i++) if (entries[i].result.skipped === undefined) byPath.set(entries[i].path, entries[i]);
  const files = sortedPaths(Array.from(byPath.keys()), cache).map((p) => stateOf(byPath.get(p)!, cache));
  const jobs = new Map<string, Job>();
  const winners = new Map<string, string>();
  const conflicts = new Map<string, { job: string; winner: string; losers: string[] }>();
  for (let i = 0; i < files.length; i++) {
    let file = files[i];
    const inForce: Job[] = [];
    for (let k = 0; k < file.jobs.length; k++) {
      const job = file.jobs[k];
      const winner = winners.get(job.id);
      if (winner === undefined) {
        winners.set(job.id, file.path);
        jobs.set(job.id, job);
        inForce.push(job);
        continue;
      }
      if (winner === file.path) continue; // the same id twice in one file is the loader's to report
      if (files[i] === file) files[i] = file = { ...file, diagnostics: [...file.diagnostics] };
      let c = conflicts.get(job.id);
      if (!c) conflicts.set(job.id, (c = { job: job.id, winner, losers: [] }));
      if (!c.losers.includes(file.path)) c.losers.push(file.path);
      file.diagnostics.push(conflictDiagnostic(file.path, job, winner));
      file.ok = false;
    }
    if (inForce.length !== file.jobs.length) {
      if (files[i] === file) files[i] = file = { ...file };
      file.jobs = inForce;
    }
  }
  return { generation, files, jobs, conflicts: [...conflicts.values()], reason };
}

function conflictDiagnostic(file: string, job: Job, winner: string): Diagnostic {
  return {
    severity: 'error',
    kind: 'schema',
    file,
    line: job.pos?.line ?? 0,
    column: job.pos?.column ?? 0,
    path: `job "${job.id}"`,
    message: `job "${job.id}" is already defined in ${winner}`,
  };
}
