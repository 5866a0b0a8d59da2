/**
 * Turning the per-file cache into the complete desired set: job files by path,
 * last good versions for invalid files, and job ids defined twice resolved
 * in favour of the first file by path (the losers get an error diagnostic;
 * nothing is torn down because of the clash).
 */
import type { Diagnostic, Job } from '../jobspec/model.js';
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

/** Files that are not job files (`result.skipped`: a renovate.json, an agent config) are left out of the set. */
export function assembleSet(entries: CachedFile[], generation: number, reason: string): DesiredSet {
  const files = entries
    .filter((e) => e.result.skipped === undefined)
    .map(fileStateOf)
    .sort((a, b) => comparePaths(a.path, b.path));
  const jobs = new Map<string, Job>();
  const winners = new Map<string, string>();
  const conflicts = new Map<string, { job: string; winner: string; losers: string[] }>();
  for (const file of files) {
    const inForce: Job[] = [];
    for (const job of file.jobs) {
      const winner = winners.get(job.id);
      if (winner === undefined) {
        winners.set(job.id, file.path);
        jobs.set(job.id, job);
        inForce.push(job);
        continue;
      }
      if (winner === file.path) continue; // the same id twice in one file is the loader's to report
      let c = conflicts.get(job.id);
      if (!c) conflicts.set(job.id, (c = { job: job.id, winner, losers: [] }));
      if (!c.losers.includes(file.path)) c.losers.push(file.path);
      file.diagnostics.push(conflictDiagnostic(file.path, job, winner));
      file.ok = false;
    }
    file.jobs = inForce;
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
