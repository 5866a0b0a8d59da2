/**
 * `tendctl plan DIR` without a running agent: what the agent would do for
 * the files in DIR starting from nothing (every task a start). DIR is read
 * as the agent's job source reads it (source/scan.ts).
 */
import type { FileView, Plan, PlanDetail } from '../api/api.js';
import type { FileState } from '../source/source.js';
import { scanPaths } from '../source/scan.js';
import { expandJobs } from '../reconcile/expand.js';
import { diffAll } from '../reconcile/diff.js';
import { runsOnItsOwn } from '../reconcile/child-jobs.js';

/** A file of the desired set as the API shows it. */
export function fileView(f: FileState): FileView {
  return { path: f.path, ok: f.ok, jobs: f.jobs.map((j) => j.id), diagnostics: f.diagnostics, ...(f.reads?.length ? { reads: f.reads } : {}), ...(f.lastGoodAt ? { lastGoodAt: f.lastGoodAt } : {}) };
}

export async function offlinePlan(dir: string, detail: PlanDetail = {}): Promise<Plan> {
  const { set } = await scanPaths([dir]);
  // Periodic and parameterized jobs start nothing at load (their children run on schedule, on dispatch).
  return { actions: diffAll(expandJobs([...set.jobs.values()].filter(runsOnItsOwn)), [], { now: Date.now(), driverBlocked: () => undefined }, detail), files: set.files.map(fileView) };
}
