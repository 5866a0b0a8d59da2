/**
 * One step of one job's rollout (the controller, rollouts.ts, calls it when something changed):
 * which version the job rolls out now (the file's, or the last stable one while a revert is in
 * force), its deployment started, cancelled, judged and placed by the planner (rollout-plan.ts),
 * the version each allocation runs from here on, and on failure the revert (auto_revert). It reads
 * the task records and writes only the job's RolloutRecord and the deployment's events.
 */
import { copied, merged } from '../objects.js';
import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import type { Group, Job, UpdateStrategy } from '../jobspec/model.js';
import { TASK_EVENT, type Deployment, type NewEvent, type RolloutRecord, type Store, type TaskRecord } from '../store/store.js';
import { combineHealth, taskStatesHealth, type AllocHealth, type AllocHealthSource } from './rollout-health.js';
import {
  DEPLOYMENT_DESCRIPTION,
  allocVersion,
  jobVersion,
  noRollbackTarget,
  rollbackNoop,
  rollingBack,
  stepDeployment,
  type AllocNow,
  type GroupNow,
  type VersionCandidate,
} from './rollout-plan.js';

const LIVE = new Set(['starting', 'running', 'stopping']);

/** group → index → version. */
export type Assign = Map<string, Map<number, string>>;

export type RollingGroup = Group & { update: UpdateStrategy };

/** The groups of a job that roll out (service job, max_parallel > 0). */
export function rollingGroups(job: Job): RollingGroup[] {
  if (job.type !== 'service') return [];
  return job.groups.filter((g): g is RollingGroup => g.update !== undefined && g.update.maxParallel > 0);
}

export interface JobStepInput {
  store: Store;
  log: pino.Logger;
  /** Health of service checks (health_check = "checks"). */
  checks?: AllocHealthSource;
  now: number;
  /** The job as its file gives it now. */
  fileJob: Job;
  /** The revision of that file (`fileRevision`), when known. */
  revision?: string;
  /** The job's task records. */
  records: readonly TaskRecord[];
  /** Recovery is over (before, records may be stale: nothing is judged or placed). */
  live: boolean;
  /** The operator fails the running deployment (`tendctl deployment fail`). */
  fail?: boolean;
}

export interface JobStep {
  /** What the job rolls out: the file's job, or the stable one while a revert is in force. */
  target: { job: Job; version: string };
  /** Jobs of the versions its allocations may run: version → job. */
  known: Map<string, Job>;
  /** The version each allocation runs now. */
  assign: Assign;
  /** When to look again (a running deployment's min_healthy_time or deadline). */
  wakeAt?: number;
}

/** Versions an allocation may run, the target first. */
export function candidatesOf(target: { job: Job; version: string }, known: ReadonlyMap<string, Job>): VersionCandidate[] {
  const out: VersionCandidate[] = [{ version: target.version, job: target.job }];
  for (const [version, job] of known) if (version !== target.version) out.push({ version, job });
  return out;
}

/** One step of a job: its target, its deployment's step, a revert. Writes the job's RolloutRecord and events. */
export function stepJob(i: JobStepInput): JobStep {
  const { fileJob, store, now, records, revision } = i;
  const id = fileJob.id;
  const iso = new Date(now).toISOString();
  const before = store.getRollout(id);
  const rec: RolloutRecord = before ? copied(before) : { job: id, versions: {} };
  const fileVersion = jobVersion(fileJob);
  const known = new Map<string, Job>();
  for (const [v, j] of Object.entries(rec.versions ?? {})) if (usable(j)) known.set(v, j);
  known.set(fileVersion, fileJob);
  const ev = (type: NewEvent['type'], message: string, details: Record<string, unknown>) => event(store, fileJob, type, message, details);

  // A revert lasts until the file's version changes.
  if (rec.reverted) {
    const stable = rec.stable && known.get(rec.stable.version);
    if (fileVersion !== rec.reverted.version || !stable) {
      ev(TASK_EVENT.Deployment, `The file${revision ? ` (revision ${revision})` : ''} now gives version ${fileVersion}: the revert to version ${rec.stable?.version} ends`, { version: fileVersion });
      rec.reverted = undefined;
    } else if (revision && rec.reverted.fileRevision !== revision) {
      rec.reverted = merged(rec.reverted, { fileRevision: revision });
    }
  }

  let step: ReturnType<typeof stepDeployment> | undefined;
  // The operator's fail is for the deployment running now, not for the rollback it starts.
  let failNow = i.fail ?? false;
  let target!: { job: Job; version: string };
  for (let pass = 0; pass < 2; pass++) {
    target = rec.reverted && rec.stable ? { job: known.get(rec.stable.version)!, version: rec.stable.version } : { job: fileJob, version: fileVersion };
    const groups = rollingGroups(target.job);
    const candidates = candidatesOf(target, known);
    const now_: GroupNow[] = groups.map((g) => ({ name: g.name, count: g.count, strategy: g.update, allocs: allocsNow(g, target.version, byIndex(records, g.name), candidates, i.checks) }));
    let deployment = rec.deployment;
    if (!deployment || deployment.version !== target.version) {
      if (deployment?.status === 'running') {
        deployment = merged(deployment, { status: 'cancelled' as const, description: DEPLOYMENT_DESCRIPTION.NewerJob, endedAt: iso });
        if (!deployment.quiet) ev(TASK_EVENT.Deployment, `${deployment.description} (deployment ${deployment.id}, version ${deployment.version})`, { deployment: deployment.id, version: deployment.version, status: 'cancelled' });
      }
      deployment = newDeployment(target, groups, now_, iso, Boolean(rec.reverted), rec.reverted ? rec.stable?.fileRevision : revision);
      if (!deployment.quiet) {
        const total = groups.reduce((n, g) => n + g.count, 0);
        const parallel = [...new Set(groups.map((g) => g.update.maxParallel))].join('/');
        const what = deployment.rollback ? `rolling back to version ${target.version}` : `version ${target.version}${deployment.fileRevision ? ` (file revision ${deployment.fileRevision})` : ''}`;
        ev(TASK_EVENT.Deployment, `Deployment ${deployment.id} started: ${what}, ${total} allocation${total === 1 ? '' : 's'}, max_parallel ${parallel}`, { deployment: deployment.id, version: target.version, status: 'running' });
      }
    }
    let endedByUser = false;
    if (failNow && deployment.status === 'running') {
      deployment = merged(deployment, { status: 'failed' as const, description: DEPLOYMENT_DESCRIPTION.FailedByUser, endedAt: iso });
      endedByUser = true;
      failNow = false;
    }
    step = stepDeployment({ now, deployment, groups: now_, known: new Set(known.keys()), hold: !i.live });
    rec.deployment = step.deployment;
    healthEvents(store, i.log, fileJob, step);
    for (const p of step.placed) i.log.info({ job: id, group: p.group, index: p.index, version: target.version, deployment: step.deployment.id }, 'allocation placed by the rollout');
    const d = step.deployment;
    if (step.ended === 'successful' || (d.status === 'successful' && rec.stable?.version !== d.version)) {
      rec.stable = { version: d.version, at: iso, ...(d.fileRevision ? { fileRevision: d.fileRevision } : {}) };
      if (step.ended && !d.quiet) ev(TASK_EVENT.Deployment, `${d.description} (deployment ${d.id}, version ${d.version})`, { deployment: d.id, version: d.version, status: d.status });
      if (step.ended) i.log.info({ job: id, deployment: d.id, version: d.version }, 'deployment successful');
    }
    if (step.ended !== 'failed' && !endedByUser) break;
    // Failed: put back the last stable version (auto_revert), or stay as it is.
    const autoRevert = groups.some((g) => g.update.autoRevert);
    let description: string = d.description;
    let revert = false;
    if (autoRevert && !d.rollback) {
      if (!rec.stable || !known.has(rec.stable.version)) description = noRollbackTarget(description);
      else if (rec.stable.version === d.version) description = rollbackNoop(description, rec.stable.version);
      else {
        description = rollingBack(description, rec.stable.version);
        revert = true;
      }
    }
    rec.deployment = merged(d, { description });
    ev(TASK_EVENT.Deployment, `${description} (deployment ${d.id}, version ${d.version})`, { deployment: d.id, version: d.version, status: 'failed' });
    i.log.warn({ job: id, deployment: d.id, version: d.version, reason: description }, 'deployment failed');
    if (!revert) break;
    rec.reverted = { version: d.version, ...(revision ? { fileRevision: revision } : {}), at: iso, reason: d.description };
  }

  const assign = withRest(target, step!.assign);
  // Jobs of the versions still needed: the target, the stable one, and each one an allocation runs.
  // A version's job is the latest seen with it: the stable one follows its file's edits in place.
  const keep = new Set<string>([target.version, ...(rec.stable ? [rec.stable.version] : [])]);
  for (const g of assign.values()) for (const v of g.values()) keep.add(v);
  const versions: Record<string, Job> = {};
  for (const v of keep) {
    const j = known.get(v);
    if (j) versions[v] = j;
  }
  rec.versions = versions;
  if (!before || !sameRecord(before, rec)) store.putRollout(rec);
  return { target, known, assign, ...(step!.wakeAt !== undefined && rec.deployment?.status === 'running' ? { wakeAt: step!.wakeAt } : {}) };
}

function newDeployment(target: { job: Job; version: string }, groups: readonly { name: string; count: number }[], now_: readonly GroupNow[], iso: string, rollback: boolean, fileRev: string | undefined): Deployment {
  // Nothing to replace: every allocation already runs the version (an agent start, another group's edit).
  const quiet = !rollback && now_.every((g) => {
    for (let i = 0; i < g.count; i++) if (g.allocs.get(i)?.version !== target.version) return false;
    return true;
  });
  const initial = !quiet && now_.every((g) => g.allocs.size === 0);
  const manual = rollingGroups(target.job).some((g) => g.update.healthCheck === 'manual');
  // Optional fields set one by one, not spread into the literal (objects.ts: a class per deployment).
  const d: Deployment = { id: randomUUID().slice(0, 8), version: target.version, status: 'running', description: manual ? DEPLOYMENT_DESCRIPTION.RunningManual : DEPLOYMENT_DESCRIPTION.Running, startedAt: iso, groups: {} };
  if (fileRev) d.fileRevision = fileRev;
  if (rollback) d.rollback = true;
  for (const g of groups) d.groups[g.name] = { desiredTotal: g.count, allocs: {} };
  if (quiet) d.quiet = true;
  if (initial) d.initial = true;
  return d;
}

/** The allocations of a group that have records, as the planner sees them. */
function allocsNow(g: RollingGroup, target: string, recs: ReadonlyMap<number, TaskRecord[]>, candidates: VersionCandidate[], checks: AllocHealthSource | undefined): Map<number, AllocNow> {
  const out = new Map<number, AllocNow>();
  for (const [index, rs] of recs) {
    const version = allocVersion(g.name, rs, candidates)!;
    const live = rs.some((r) => LIVE.has(r.state));
    const health: AllocHealth = version === target ? healthOf(g, rs, checks) : { status: 'pending', reason: 'not on the version rolled out' };
    out.set(index, { index, version, live, health });
  }
  return out;
}

/** An allocation's health by its group's health_check (checks fall back to task states for an allocation the source does not know). */
function healthOf(g: RollingGroup, rs: TaskRecord[], source: AllocHealthSource | undefined): AllocHealth {
  if (g.update.healthCheck === 'manual') return { status: 'pending', reason: 'health_check = "manual": waiting for tendctl deployment promote' };
  const states = taskStatesHealth(g, rs);
  const checks = g.update.healthCheck === 'checks' ? source?.health(rs[0].allocId, g) : undefined;
  return checks ? combineHealth(states, checks) : states;
}

/** Groups that do not roll out (max_parallel = 0) and indexes the planner left out run the target. */
function withRest(target: { job: Job; version: string }, assign: Assign): Assign {
  const out: Assign = new Map();
  for (const g of target.job.groups) {
    const a = assign.get(g.name);
    const m = new Map<number, string>();
    for (let i = 0; i < g.count; i++) m.set(i, a?.get(i) ?? target.version);
    out.set(g.name, m);
  }
  return out;
}

function healthEvents(store: Store, log: pino.Logger, job: Job, step: ReturnType<typeof stepDeployment>): void {
  const d = step.deployment;
  for (const u of step.unhealthy) {
    event(store, job, TASK_EVENT.AllocUnhealthy, `Allocation ${u.group}[${u.index}] unhealthy: ${u.reason}`, { deployment: d.id, group: u.group, index: u.index });
    log.warn({ job: job.id, group: u.group, index: u.index, reason: u.reason }, 'allocation unhealthy');
  }
  for (const h of step.healthy) log.info({ job: job.id, group: h.group, index: h.index, deployment: d.id }, 'allocation healthy');
  // One event per step, for the allocations a rollout replaced (a new job's or an agent start's would flood the ring).
  if (!step.healthy.length || d.quiet || d.initial) return;
  const names = step.healthy.map((h) => `${h.group}[${h.index}]`);
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  const healthy = Object.values(d.groups).reduce((n, g) => n + Object.values(g.allocs).filter((a) => a.healthyAt).length, 0);
  const total = Object.values(d.groups).reduce((n, g) => n + g.desiredTotal, 0);
  event(store, job, TASK_EVENT.AllocHealthy, `Allocation${names.length === 1 ? '' : 's'} ${shown} healthy (${healthy}/${total})`, { deployment: d.id, allocs: names });
}

export function event(store: Store, job: Job, type: NewEvent['type'], message: string, details: Record<string, unknown>): void {
  store.addEvent({ job: job.id, type, message, details: merged(details, { file: job.file }) });
}

const checked = new WeakMap<object, boolean>();

/** A job read back from the store that can still be expanded and hashed (one written by another tend may not). */
function usable(job: Job): boolean {
  let ok = checked.get(job);
  if (ok === undefined) {
    try {
      jobVersion(job);
      ok = true;
    } catch {
      ok = false;
    }
    checked.set(job, ok);
  }
  return ok;
}

export function byIndex(records: readonly TaskRecord[], group: string): Map<number, TaskRecord[]> {
  const out = new Map<number, TaskRecord[]>();
  for (const r of records) {
    if (r.group !== group) continue;
    const list = out.get(r.index);
    if (list) list.push(r);
    else out.set(r.index, [r]);
  }
  return out;
}

/**
 * Records equal: the deployment by identity (the planner returns the one it got when nothing
 * changed), jobs by identity (a job that followed its file's edit is written again).
 */
function sameRecord(a: RolloutRecord, b: RolloutRecord): boolean {
  if (a.deployment !== b.deployment) return false;
  const ka = Object.keys(a.versions ?? {});
  const kb = Object.keys(b.versions);
  if (ka.length !== kb.length || kb.some((k) => a.versions[k] !== b.versions[k])) return false;
  return JSON.stringify([a.stable, a.reverted]) === JSON.stringify([b.stable, b.reverted]);
}
