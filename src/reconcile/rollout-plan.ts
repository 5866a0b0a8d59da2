/**
 * The rollout planner (pure): which version each allocation of a job runs now, and where its
 * deployment stands, from the allocations' task records, the deployment so far and the groups'
 * `update` strategies (Nomad's reconciler and deployment watcher, on one node).
 *
 * Versions. A job's version is a hash of what needs new processes when it changes (the tasks'
 * restart hashes, group by group): an edit of resources, kill_timeout or the restart policy only,
 * or of the count, is no new version and no rollout. An allocation runs the version whose group
 * its task records match (`allocVersion`).
 *
 * A step, for each group that rolls out (max_parallel > 0), while the deployment runs:
 *  1. health: every allocation on the target version is judged once (`AllocHealth`, from its
 *     health source): healthy once it stayed so for min_healthy_time; unhealthy when it failed
 *     for good or is not healthy by healthy_deadline after it was placed (not with "manual").
 *     Any unhealthy allocation fails the deployment (tend has no rescheduling: Nomad would replace
 *     it until progress_deadline); so does a progress_deadline passed without an allocation
 *     turning healthy.
 *  2. placement: an allocation with no record (new, or a count raised) or running a version that
 *     cannot be run again (unknown) gets the target at once. Of the others on an older version,
 *     those not serving (no task running: crashed, restarting, failed) are replaced at once, the
 *     serving ones at most max_parallel minus the placed allocations not healthy yet. A placed
 *     allocation keeps the target; the rest keep their version.
 *  3. the deployment succeeds when every allocation of every group is on the target and healthy.
 * Once the deployment has ended (successful, failed), nothing is replaced any more: allocations keep
 * the version they run (new ones get the target) until the next version.
 */
import { copied, merged } from '../objects.js';
import { createHash } from 'node:crypto';
import type { Group, Job, UpdateStrategy } from '../jobspec/model.js';
import type { Deployment, DeploymentAlloc, DeploymentGroup, TaskRecord } from '../store/store.js';
import { formatDuration } from '../jobspec/duration.js';
import { computeHashes } from './spec-hash.js';
import type { AllocHealth } from './rollout-health.js';

/** The version of an allocation whose records match no version that can be run again. */
export const UNKNOWN_VERSION = 'unknown';

/** Nomad's deployment status descriptions. */
export const DEPLOYMENT_DESCRIPTION = {
  Running: 'Deployment is running',
  RunningManual: 'Deployment is running; allocations wait for tendctl deployment promote (health_check = "manual")',
  Successful: 'Deployment completed successfully',
  NewerJob: 'Cancelled due to newer version of job',
  StoppedJob: 'Cancelled because job is stopped',
  FailedAllocations: 'Failed due to unhealthy allocations',
  ProgressDeadline: 'Failed due to progress deadline',
  FailedByUser: 'Deployment marked as failed',
} as const;

export const rollingBack = (description: string, version: string): string => `${description} - rolling back to job version ${version}`;
export const noRollbackTarget = (description: string): string => `${description} - no stable job version to auto revert to`;
export const rollbackNoop = (description: string, version: string): string => `${description} - not rolling back to stable job version ${version} as current job has same specification`;

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);
const versionCache = new WeakMap<Group, { job: Job; version: string }>();

/** The group's version: its tasks' restart hashes. */
export function groupVersion(job: Job, group: Group): string {
  const hit = versionCache.get(group);
  if (hit?.job === job) return hit.version;
  const version = hash(group.tasks.map((t) => `${t.name}=${computeHashes(job, group, t).restart}`).sort().join('\n'));
  versionCache.set(group, { job, version });
  return version;
}

/** The job's version: its groups' versions (8 hex characters). */
export function jobVersion(job: Job): string {
  return hash(job.groups.map((g) => `${g.name}=${groupVersion(job, g)}`).sort().join('\n'));
}

/** A version of the job an allocation may run: the target first, then the others known. */
export interface VersionCandidate {
  version: string;
  job: Job;
}

/**
 * The version whose group `group` the records run (each record's restart hash is that of its task
 * there), the first of `candidates` that fits; UNKNOWN_VERSION when none; undefined without records.
 */
export function allocVersion(group: string, records: readonly Pick<TaskRecord, 'task' | 'hashes'>[], candidates: readonly VersionCandidate[]): string | undefined {
  if (!records.length) return undefined;
  for (const c of candidates) {
    const g = c.job.groups.find((x) => x.name === group);
    if (!g) continue;
    const fits = records.every((r) => {
      const t = g.tasks.find((x) => x.name === r.task);
      return t !== undefined && computeHashes(c.job, g, t).restart === r.hashes.restart;
    });
    if (fits) return c.version;
  }
  return UNKNOWN_VERSION;
}

/** What the planner knows of one allocation now (absent from the map: it has no record). */
export interface AllocNow {
  index: number;
  /** The version its records run (UNKNOWN_VERSION: none that can be run again). */
  version: string;
  /** A task of it runs, starts or stops: it serves (or is being replaced). */
  live: boolean;
  /** Its health, as its source judges it (only read when it runs the target version). */
  health: AllocHealth;
}

export interface GroupStepInput {
  now: number;
  target: string;
  count: number;
  strategy: UpdateStrategy;
  /** Versions that can be run again (their jobs are known). */
  known: ReadonlySet<string>;
  /** The allocations with records, by index. */
  allocs: ReadonlyMap<number, AllocNow>;
  /** The group's state in the deployment so far (undefined: it joins now). */
  state: DeploymentGroup | undefined;
  /** The deployment runs (else nothing is judged or replaced). */
  running: boolean;
  /** No placement of allocations that have a version to keep (another group failed the deployment). */
  halt?: boolean;
}

export interface GroupStep {
  /** The version each index runs now. */
  assign: Map<number, string>;
  state: DeploymentGroup;
  /** Turned healthy in this step. */
  healthy: number[];
  unhealthy: { index: number; reason: string }[];
  /** Placed in this step (the target from now on). */
  placed: number[];
  /** Every allocation is on the target and healthy. */
  done: boolean;
  failed?: 'allocations' | 'progress';
  /** When a min_healthy_time or a deadline is due (epoch ms). */
  wakeAt?: number;
}

function unhealthyReason(h: AllocHealth, s: UpdateStrategy): string {
  const base = `Task not running for min_healthy_time of ${formatDuration(s.minHealthyTimeMs)} by healthy_deadline of ${formatDuration(s.healthyDeadlineMs)}`;
  return h.status === 'pending' ? `${base} (${h.reason})` : base;
}

export function stepGroup(i: GroupStepInput): GroupStep {
  const { now, target, strategy: s } = i;
  const iso = new Date(now).toISOString();
  const allocs: Record<string, DeploymentAlloc> = {};
  for (const [k, v] of Object.entries(i.state?.allocs ?? {})) if (Number(k) < i.count) allocs[k] = copied(v);
  let requireProgressBy = i.state?.requireProgressBy ?? (s.progressDeadlineMs > 0 ? new Date(now + s.progressDeadlineMs).toISOString() : undefined);
  const out: GroupStep = { assign: new Map(), state: { desiredTotal: i.count, allocs }, healthy: [], unhealthy: [], placed: [], done: false };
  const wake = (at: number) => {
    if (at > now && (out.wakeAt === undefined || at < out.wakeAt)) out.wakeAt = at;
  };

  // 1. Health of the allocations on the target.
  if (i.running) {
    for (let index = 0; index < i.count; index++) {
      const a = i.allocs.get(index);
      if (a?.version !== target) continue;
      const e = (allocs[index] ??= { placedAt: iso });
      if (e.healthyAt || e.unhealthy) continue;
      const h = a.health;
      if (h.status === 'unhealthy') {
        e.unhealthy = h.reason;
        out.unhealthy.push({ index, reason: h.reason });
        continue;
      }
      if (h.status === 'healthy' && now - h.since >= s.minHealthyTimeMs) {
        e.healthyAt = iso;
        out.healthy.push(index);
        continue;
      }
      if (h.status === 'healthy') wake(h.since + s.minHealthyTimeMs);
      if (s.healthCheck === 'manual') continue;
      const deadline = Date.parse(e.placedAt) + s.healthyDeadlineMs;
      if (now < deadline) {
        wake(deadline);
        continue;
      }
      e.unhealthy = unhealthyReason(h, s);
      out.unhealthy.push({ index, reason: e.unhealthy });
    }
    if (out.healthy.length && s.progressDeadlineMs > 0) requireProgressBy = new Date(now + s.progressDeadlineMs).toISOString();
    if (Object.values(allocs).some((e) => e.unhealthy)) out.failed = 'allocations';
  }
  if (requireProgressBy) out.state.requireProgressBy = requireProgressBy;
  const allHealthy = (): boolean => {
    for (let index = 0; index < i.count; index++) if (!allocs[index]?.healthyAt || i.allocs.get(index)?.version !== target) return false;
    return true;
  };
  if (i.running && !out.failed && requireProgressBy && !allHealthy()) {
    const by = Date.parse(requireProgressBy);
    if (now >= by) out.failed = 'progress';
    else wake(by);
  }

  // 2. Placement.
  const placing = i.running && !out.failed && !i.halt;
  const waiting: AllocNow[] = [];
  for (let index = 0; index < i.count; index++) {
    const a = i.allocs.get(index);
    const keeps = a !== undefined && a.version !== target && a.version !== UNKNOWN_VERSION && i.known.has(a.version);
    if (keeps && !allocs[index]) {
      waiting.push(a);
      continue;
    }
    out.assign.set(index, target);
    if (i.running && !allocs[index]) {
      allocs[index] = { placedAt: iso };
      out.placed.push(index);
    }
  }
  // In flight: placed (new ones included) and not healthy yet.
  let inFlight = 0;
  for (const e of Object.values(allocs)) if (!e.healthyAt && !e.unhealthy) inFlight++;
  let allowed = Math.max(0, s.maxParallel - inFlight);
  // Those not serving first: replacing them costs no capacity.
  waiting.sort((a, b) => Number(a.live) - Number(b.live) || a.index - b.index);
  for (const a of waiting) {
    if (placing && (!a.live || allowed > 0)) {
      if (a.live) allowed--;
      allocs[a.index] = { placedAt: iso };
      out.placed.push(a.index);
      out.assign.set(a.index, target);
    } else {
      out.assign.set(a.index, a.version);
    }
  }
  out.done = i.running && !out.failed && allHealthy();
  return out;
}

/** One group of the target version that rolls out, with its allocations now. */
export interface GroupNow {
  name: string;
  count: number;
  strategy: UpdateStrategy;
  allocs: ReadonlyMap<number, AllocNow>;
}

export interface DeploymentStepInput {
  now: number;
  deployment: Deployment;
  groups: readonly GroupNow[];
  known: ReadonlySet<string>;
  /** Recovery is not over (records may be stale): nothing is judged or placed, allocations keep what they run. */
  hold?: boolean;
}

export interface DeploymentStep {
  deployment: Deployment;
  /** Whether `deployment` differs from the one passed in (to be written). */
  changed: boolean;
  /** group → index → version. */
  assign: Map<string, Map<number, string>>;
  healthy: { group: string; index: number }[];
  unhealthy: { group: string; index: number; reason: string }[];
  placed: { group: string; index: number }[];
  /** The deployment ended in this step. */
  ended?: 'successful' | 'failed';
  wakeAt?: number;
}

/** One step of a deployment: every group judged, then placed (none if a group failed it). */
export function stepDeployment(i: DeploymentStepInput): DeploymentStep {
  const d = i.deployment;
  const running = d.status === 'running' && !i.hold;
  const run = (halt: boolean) => i.groups.map((g) => ({ g, st: stepGroup({ now: i.now, target: d.version, count: g.count, strategy: g.strategy, known: i.known, allocs: g.allocs, state: d.groups[g.name], running, halt }) }));
  let steps = run(false);
  const failed = steps.some((x) => x.st.failed === 'allocations') ? 'allocations' : steps.some((x) => x.st.failed === 'progress') ? 'progress' : undefined;
  if (failed && steps.some((x) => x.st.placed.length)) steps = run(true);
  const out: DeploymentStep = { deployment: d, changed: false, assign: new Map(), healthy: [], unhealthy: [], placed: [] };
  const groups: Record<string, DeploymentGroup> = {};
  for (const { g, st } of steps) {
    groups[g.name] = st.state;
    out.assign.set(g.name, st.assign);
    for (const index of st.healthy) out.healthy.push({ group: g.name, index });
    for (const u of st.unhealthy) out.unhealthy.push({ group: g.name, ...u });
    for (const index of st.placed) out.placed.push({ group: g.name, index });
    if (st.wakeAt !== undefined && (out.wakeAt === undefined || st.wakeAt < out.wakeAt)) out.wakeAt = st.wakeAt;
  }
  let next: Deployment = merged(d, { groups });
  if (running && failed) {
    next = merged(next, { status: 'failed' as const, description: failed === 'allocations' ? DEPLOYMENT_DESCRIPTION.FailedAllocations : DEPLOYMENT_DESCRIPTION.ProgressDeadline, endedAt: new Date(i.now).toISOString() });
    out.ended = 'failed';
    out.wakeAt = undefined;
  } else if (running && steps.every((x) => x.st.done)) {
    next = merged(next, { status: 'successful' as const, description: DEPLOYMENT_DESCRIPTION.Successful, endedAt: new Date(i.now).toISOString() });
    out.ended = 'successful';
    out.wakeAt = undefined;
  }
  out.changed = !sameDeployment(d, next);
  out.deployment = out.changed ? next : d;
  return out;
}

/** Field by field (a deployment of 1,000 allocations is compared after every task's run). */
function sameDeployment(a: Deployment, b: Deployment): boolean {
  if (a.status !== b.status || a.description !== b.description || a.endedAt !== b.endedAt) return false;
  const ga = Object.keys(a.groups);
  if (ga.length !== Object.keys(b.groups).length) return false;
  for (const name of ga) {
    const x = a.groups[name];
    const y = b.groups[name];
    if (!y || x.desiredTotal !== y.desiredTotal || x.requireProgressBy !== y.requireProgressBy) return false;
    const keys = Object.keys(x.allocs);
    if (keys.length !== Object.keys(y.allocs).length) return false;
    for (const k of keys) {
      const p = x.allocs[k];
      const q = y.allocs[k];
      if (!q || p.placedAt !== q.placedAt || p.healthyAt !== q.healthyAt || p.unhealthy !== q.unhealthy) return false;
    }
  }
  return true;
}
