/**
 * `tendctl plan DIR` without a running agent: what the agent would do for
 * the files in DIR starting from nothing (every task a start). DIR is read
 * as the agent's job source reads it (source/scan.ts).
 */
import type { Plan } from '../api/api.js';
import { scanPaths } from '../source/scan.js';
import { expandJobs } from '../reconcile/expand.js';
import { diffAll } from '../reconcile/diff.js';

export async function offlinePlan(dir: string): Promise<Plan> {
  const { set } = await scanPaths([dir]);
  const files = set.files.map((f) => ({ path: f.path, ok: f.ok, jobs: f.jobs.map((j) => j.id), diagnostics: f.diagnostics }));
  return { actions: diffAll(expandJobs(set.jobs.values()), [], { now: Date.now(), driverBlocked: () => undefined }), files };
}
