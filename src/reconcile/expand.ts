/**
 * Expands the desired set into task instances: every job in force, every
 * group × count index, every task. Identity: `job/group[index]/task`, with
 * an allocation id stable per job/group/index (so it survives agent restarts).
 */
import { createHash } from 'node:crypto';
import { segmentOf } from '../safe-fs.js';
import type { Group, Job } from '../jobspec/model.js';
import type { DesiredInstance } from './reconcile.js';
import { computeHashes } from './spec-hash.js';

export function instanceId(job: string, group: string, index: number, task: string): string {
  return `${job}/${group}[${index}]/${task}`;
}

export { parseInstanceId } from './instance-id.js';

/**
 * A uuid-shaped id derived from the node id (unique per data dir, so two
 * agents on one machine never share ids), job, group and index.
 */
export function allocIdOf(job: string, group: string, index: number, nodeId = ''): string {
  const key = `${nodeId}\0${job}\0${group}\0${index}`;
  let id = allocIds.get(key);
  if (id === undefined) {
    const x = createHash('sha256').update(key).digest('hex');
    id = `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
    // Every expand asks again for every allocation: remembered, within a bound.
    if (allocIds.size >= ALLOC_ID_CACHE) allocIds.clear();
    allocIds.set(key, id);
  }
  return id;
}

const ALLOC_ID_CACHE = 100_000;
const allocIds = new Map<string, string>();

/** `<allocId>-<task>` with the task name made one safe segment (segmentOf: distinct names stay distinct), a path segment and container id. */
export function execIdOf(allocId: string, task: string): string {
  return `${allocId}-${segmentOf(task)}`;
}

export function expandJobs(jobs: Iterable<Job>, nodeId = ''): Map<string, DesiredInstance> {
  const out = new Map<string, DesiredInstance>();
  for (const job of jobs) {
    for (const group of job.groups) {
      for (let index = 0; index < group.count; index++) expandAlloc(out, job, group, index, nodeId);
    }
  }
  return out;
}

/** The instances of one allocation (`index` of `group`, as `job` gives it) into `out`. */
export function expandAlloc(out: Map<string, DesiredInstance>, job: Job, group: Group, index: number, nodeId = ''): void {
  const allocId = allocIdOf(job.id, group.name, index, nodeId);
  for (const task of group.tasks) {
    const id = instanceId(job.id, group.name, index, task.name);
    out.set(id, {
      id,
      job,
      group,
      task,
      index,
      allocId,
      execId: execIdOf(allocId, task.name),
      file: job.file,
      hashes: computeHashes(job, group, task),
    });
  }
}

/** What a record and a view of an instance both carry: its identity, driver, file and resources as the spec gives them. */
export function instanceFields(d: DesiredInstance) {
  return {
    id: d.id,
    job: d.job.id,
    group: d.group.name,
    index: d.index,
    task: d.task.name,
    allocId: d.allocId,
    driver: d.task.driver,
    file: d.file,
    resources: { cpu: d.task.resources.cpu, memoryMB: d.task.resources.memoryMB, memoryMaxMB: d.task.resources.memoryMaxMB } as { cpu: number; memoryMB: number; memoryMaxMB?: number; cores?: number[] },
  };
}
