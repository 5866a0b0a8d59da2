/**
 * `update { … }` → the group's UpdateStrategy: the job's block and the group's merged field by
 * field (the group's win), over Nomad's defaults, checked as Nomad's `UpdateStrategy.Validate`
 * checks them. Service jobs always get a strategy (Nomad applies its default one when no block is
 * written); batch jobs get none (Nomad refuses `update` there: a warning here, and every instance
 * is replaced at once). What tend does with it: src/reconcile/rollouts.ts.
 */
import type { Body } from './check.js';
import { formatDuration } from './duration.js';
import type { HealthCheckMode, JobType, UpdateStrategy } from './model.js';

/** Nomad's default update strategy (`structs.DefaultUpdateStrategy`). */
export const DEFAULT_UPDATE: Readonly<UpdateStrategy> = {
  maxParallel: 1,
  healthCheck: 'checks',
  minHealthyTimeMs: 10_000,
  healthyDeadlineMs: 5 * 60_000,
  progressDeadlineMs: 10 * 60_000,
  autoRevert: false,
  staggerMs: 30_000,
  canary: 0,
  autoPromote: false,
};

/** Attribute name → strategy field. Values were type-checked by the schema (durations are ms). */
const FIELDS: Record<string, keyof UpdateStrategy> = {
  max_parallel: 'maxParallel',
  health_check: 'healthCheck',
  min_healthy_time: 'minHealthyTimeMs',
  healthy_deadline: 'healthyDeadlineMs',
  progress_deadline: 'progressDeadlineMs',
  auto_revert: 'autoRevert',
  stagger: 'staggerMs',
  canary: 'canary',
  auto_promote: 'autoPromote',
};

const HEALTH: readonly HealthCheckMode[] = ['checks', 'task_states', 'manual'];

/** Reports an error at an attribute of a block (or the block). */
export type UpdateProblem = (block: Body, attr: string | undefined, message: string) => void;

/**
 * The strategy of one group: `job` and `group` are the `update` blocks of the job and the group
 * (either may be absent). Undefined for batch jobs.
 */
export function buildUpdate(problem: UpdateProblem, type: JobType, job: Body | undefined, group: Body | undefined): UpdateStrategy | undefined {
  if (type === 'batch') return undefined;
  const out: UpdateStrategy = { ...DEFAULT_UPDATE };
  const from = new Map<keyof UpdateStrategy, Body>();
  for (const b of [job, group]) {
    if (!b) continue;
    for (const [attr, field] of Object.entries(FIELDS)) {
      const v = b.attrs[attr];
      if (v === undefined || v === null) continue;
      if (field === 'healthCheck' && !HEALTH.includes(v as HealthCheckMode)) continue; // reported by the schema
      (out as unknown as Record<string, unknown>)[field] = v;
      from.set(field, b);
    }
  }
  const at = (field: keyof UpdateStrategy): Body | undefined => from.get(field) ?? group ?? job;
  const attrOf = (field: keyof UpdateStrategy): string => Object.keys(FIELDS).find((k) => FIELDS[k] === field)!;
  const fail = (field: keyof UpdateStrategy, message: string): void => {
    const b = at(field);
    if (b) problem(b, from.has(field) ? attrOf(field) : undefined, message);
  };
  if (out.maxParallel < 0) fail('maxParallel', `expected max_parallel >= 0, got ${out.maxParallel}`);
  if (out.canary < 0) fail('canary', `expected canary >= 0, got ${out.canary}`);
  if (out.healthyDeadlineMs <= 0) fail('healthyDeadlineMs', `expected healthy_deadline > 0, got ${formatDuration(out.healthyDeadlineMs)}`);
  else if (out.minHealthyTimeMs >= out.healthyDeadlineMs) {
    fail(from.has('minHealthyTimeMs') ? 'minHealthyTimeMs' : 'healthyDeadlineMs', `expected min_healthy_time (${formatDuration(out.minHealthyTimeMs)}) to be less than healthy_deadline (${formatDuration(out.healthyDeadlineMs)})`);
  } else if (out.progressDeadlineMs !== 0 && out.healthyDeadlineMs >= out.progressDeadlineMs) {
    fail(
      from.has('healthyDeadlineMs') ? 'healthyDeadlineMs' : 'progressDeadlineMs',
      `expected healthy_deadline (${formatDuration(out.healthyDeadlineMs)}) to be less than progress_deadline (${formatDuration(out.progressDeadlineMs)}), or progress_deadline = 0`,
    );
  }
  if (from.has('staggerMs') && out.staggerMs <= 0) fail('staggerMs', `expected stagger > 0, got ${formatDuration(out.staggerMs)}`);
  return out;
}
