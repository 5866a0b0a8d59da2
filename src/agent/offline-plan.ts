/**
 * `tendctl plan DIR` without a running agent: what the agent would do for
 * the files in DIR starting from nothing (every task a start).
 */
import type { FileView, Plan } from '../api/api.js';
import type { Job } from '../jobspec/model.js';
import { loadPaths } from '../jobspec/load.js';
import { expandJobs } from '../reconcile/expand.js';
import { diffAll } from '../reconcile/diff.js';

export async function offlinePlan(dir: string): Promise<Plan> {
  const results = await loadPaths([dir]);
  const jobs = new Map<string, Job>();
  const files: FileView[] = [];
  for (const r of results) {
    files.push({ path: r.file, ok: r.ok, jobs: r.jobs.map((j) => j.id), diagnostics: r.diagnostics, ...(r.reads?.length ? { reads: [...new Set(r.reads.map((x) => x.path))] } : {}) });
    if (r.ok) for (const j of r.jobs) if (!jobs.has(j.id)) jobs.set(j.id, j);
  }
  return { actions: diffAll(expandJobs(jobs.values()), [], { now: Date.now(), driverBlocked: () => undefined }), files };
}
