/**
 * A task's identity as an executor keeps it beside the task (and reads it back in `list()`):
 * checked on the way in, so a damaged or foreign file never becomes a record. Tasks launched
 * before the identity was kept still carry it in their environment (the NOMAD_* variables).
 */
import type { DriverName, TaskIdentity } from './executor.js';

/** The identity when `x` is a well-formed one, else undefined. */
export function asIdentity(x: unknown): TaskIdentity | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const o = x as Record<string, unknown>;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (!str(o.job) || !str(o.group) || !str(o.task) || !str(o.allocId)) return undefined;
  if (typeof o.index !== 'number' || !Number.isInteger(o.index) || o.index < 0) return undefined;
  return { job: o.job as string, group: o.group as string, index: o.index, task: o.task as string, allocId: o.allocId as string };
}

/** The identity the NOMAD_* variables of a task's environment name (the job's id is NOMAD_JOB_ID). */
export function identityFromEnv(env: Record<string, string> | undefined): TaskIdentity | undefined {
  if (!env) return undefined;
  const index = /^\d+$/.test(env.NOMAD_ALLOC_INDEX ?? '') ? Number(env.NOMAD_ALLOC_INDEX) : -1;
  return asIdentity({ job: env.NOMAD_JOB_ID, group: env.NOMAD_GROUP_NAME, index, task: env.NOMAD_TASK_NAME, allocId: env.NOMAD_ALLOC_ID });
}

export function asDriver(x: unknown): DriverName | undefined {
  return x === 'exec' || x === 'raw_exec' ? x : undefined;
}

/** A JSON object (the caller's notes), else undefined. */
export function asNotes(x: unknown): Record<string, unknown> | undefined {
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}
