/**
 * The rollout controller: the version each allocation of a service job runs, and the job's
 * deployments (Nomad's deployment watcher, on one node). The planner (`rollout-plan.ts`, pure)
 * decides; this keeps what must outlive a step and an agent restart in the store (the job's
 * RolloutRecord: the deployment, the last stable version, a revert in force, and the jobs of the
 * versions still run), records the deployment's events, and wakes itself when a min_healthy_time or
 * a deadline is due.
 *
 * Where it plugs in: the desired set. The agent expands every job through `expand()`, which gives
 * each allocation the job of the version the rollout lets it run: an allocation waiting for its
 * turn keeps the version it runs (its tasks restart and update in place as that version says, and
 * the port book sees what it runs), and the task worker replaces it, in its group's order, once its
 * desired instance changes to the new version. auto_revert is the same seam: while a revert is in
 * force, the target is the last stable version instead of the file's. So the controller never
 * writes a task record: the worker stays their only writer.
 *
 * Inputs: `setJobs` (a new desired set; evaluates every job at once), `touch` (a task of the job
 * changed state: the worker's run ended), the checks' health source, its own timer, and the
 * operator (`fail`, `promote`). When the versions of allocations change, `onChange` asks the agent
 * to expand the desired set again.
 */
import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import type { Group, Job, UpdateStrategy } from '../jobspec/model.js';
import type { FileState } from '../source/source.js';
import { TASK_EVENT, type Deployment, type NewEvent, type RolloutRecord, type Store, type TaskRecord } from '../store/store.js';
import type { Clock } from '../clock.js';
import { TendError } from '../errors.js';
import type { DesiredInstance } from './reconcile.js';
import { expandAlloc } from './expand.js';
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

/** Timers never wait longer than this (a clock that jumps, a deadline of hours). */
const MAX_WAIT_MS = 60_000;
/** Task runs within this long share one evaluation; due times are rounded up to it (1,000 allocations turning healthy one by one). */
const COALESCE_MS = 100;

export interface RolloutsOptions {
  store: Store;
  clock: Clock;
  logger: pino.Logger;
  /** Health of the allocations' service checks (`health_check = "checks"`); absent: task states decide. */
  checks?: AllocHealthSource;
  /** The version of some allocation changed (a placement, a revert): expand the desired set again. */
  onChange(): void;
}

/** The groups of a job that roll out (service job, max_parallel > 0). */
function rollingGroups(job: Job): (Group & { update: UpdateStrategy })[] {
  if (job.type !== 'service') return [];
  return job.groups.filter((g): g is Group & { update: UpdateStrategy } => g.update !== undefined && g.update.maxParallel > 0);
}

/** Whether the job has deployments at all. */
export function rollsOut(job: Job): boolean {
  return rollingGroups(job).length > 0;
}

/** The revision of a file: the first 12 hex characters of its content's sha256 (as `sha256sum` prints). */
export function fileRevision(f: Pick<FileState, 'contentHash'>): string | undefined {
  return f.contentHash ? f.contentHash.slice(0, 12) : undefined;
}

type Assign = Map<string, Map<number, string>>;

export class Rollouts {
  readonly #o: RolloutsOptions;
  readonly #log: pino.Logger;
  /** Jobs in force that roll out, as their files give them. */
  #jobs = new Map<string, Job>();
  /** The file revision of each job's current version (kept while its file is invalid). */
  readonly #revisions = new Map<string, string>();
  /** What each job rolls out now: the file's job, or the stable one while a revert is in force. */
  readonly #targets = new Map<string, { job: Job; version: string }>();
  /** Jobs of the versions each job's allocations may run: version → job. */
  readonly #known = new Map<string, Map<string, Job>>();
  /** The version each allocation runs now: job → group → index → version. */
  readonly #assign = new Map<string, Assign>();
  readonly #dirty = new Set<string>();
  readonly #failNow = new Set<string>();
  readonly #wakeAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #scheduled = false;
  #live = false;
  #closed = false;
  readonly #unsubscribe: (() => void) | undefined;

  constructor(o: RolloutsOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'rollouts' });
    this.#unsubscribe = o.checks?.onHealthChange((allocId) => {
      if (!this.#wakeAt.size && !this.#o.store.rolloutAll().some((r) => r.deployment?.status === 'running')) return;
      const r = this.#o.store.all().find((x) => x.allocId === allocId);
      if (r) this.touch(r.job);
    });
  }

  /** The jobs in force (the set's and the children's); evaluates every job that rolls out now. */
  setJobs(jobs: Iterable<Job>, files: readonly FileState[]): void {
    const next = new Map<string, Job>();
    for (const j of jobs) if (rollsOut(j)) next.set(j.id, j);
    for (const f of files) {
      const rev = f.ok ? fileRevision(f) : undefined;
      if (rev) for (const j of f.jobs) this.#revisions.set(j.id, rev);
    }
    for (const id of this.#jobs.keys()) if (!next.has(id)) this.#forget(id);
    for (const r of this.#o.store.rolloutAll()) if (!next.has(r.job)) this.#o.store.deleteRollout(r.job);
    this.#jobs = next;
    for (const id of next.keys()) this.#dirty.add(id);
    // The caller expands the set right after: no onChange.
    this.#evaluateDirty(false);
  }

  /**
   * The desired instances of `jobs`: each allocation of a job that rolls out as the version the
   * rollout gives it, every other one as its job says.
   */
  expand(jobs: Iterable<Job>, nodeId = ''): Map<string, DesiredInstance> {
    const out = new Map<string, DesiredInstance>();
    for (const job of jobs) {
      const target = this.#targets.get(job.id)?.job ?? job;
      const assign = this.#assign.get(job.id);
      const known = this.#known.get(job.id);
      for (const g of target.groups) {
        for (let index = 0; index < g.count; index++) {
          const v = assign?.get(g.name)?.get(index);
          const j = v !== undefined ? known?.get(v) : undefined;
          const gv = j?.groups.find((x) => x.name === g.name);
          if (j && gv) expandAlloc(out, j, gv, index, nodeId);
          else expandAlloc(out, target, g, index, nodeId);
        }
      }
    }
    return out;
  }

  /** The job a job rolls out now: its file's, or the stable one while a revert is in force. */
  target(job: string): Job | undefined {
    return this.#targets.get(job)?.job;
  }

  /** An evaluation is scheduled (`touch`, `begin`) and has not run yet. */
  get pending(): boolean {
    return this.#scheduled;
  }

  /** Recovery is over: records say what runs; health is judged and allocations placed from now on. */
  begin(): void {
    this.#live = true;
    for (const id of this.#jobs.keys()) this.#dirty.add(id);
    this.#schedule();
  }

  /** A task of `job` changed: look again soon (coalesced). */
  touch(job: string): void {
    if (this.#closed || !this.#jobs.has(job)) return;
    if (this.#o.store.getRollout(job)?.deployment?.status !== 'running') return;
    this.#dirty.add(job);
    this.#schedule();
  }

  /** Look at every running deployment now (its timer; tests with a fake clock). */
  check(): void {
    for (const r of this.#o.store.rolloutAll()) if (r.deployment?.status === 'running' && this.#jobs.has(r.job)) this.#dirty.add(r.job);
    this.#evaluateDirty();
  }

  /** `tendctl deployment fail`: the running deployment fails (and reverts, with auto_revert). */
  fail(job: string): void {
    const d = this.#running(job, 'fail');
    this.#failNow.add(job);
    this.#dirty.add(job);
    this.#evaluateDirty();
    this.#log.info({ job, deployment: d.id }, 'deployment marked as failed by the operator');
  }

  /**
   * `tendctl deployment promote`: with health_check = "manual", every allocation of the running
   * deployment that runs its version is marked healthy (Nomad's allocation-health API). Returns how
   * many were.
   */
  promote(job: string): number {
    const d = this.#running(job, 'promote');
    const target = this.#targets.get(job);
    const fileJob = this.#jobs.get(job);
    if (!target || !fileJob) throw new TendError('E_JOB_NOT_FOUND', `failed to promote the deployment of ${job}: no job ${job} in force`, { details: { job } });
    const manual = rollingGroups(target.job).filter((g) => g.update.healthCheck === 'manual');
    if (!manual.length) {
      throw new TendError('E_BAD_REQUEST', `failed to promote the deployment of ${job}: expected a group with health_check = "manual", got none (tend has no canaries; other health checks decide by themselves)`);
    }
    const records = this.#o.store.all().filter((r) => r.job === job);
    const candidates = this.#candidates(job, target);
    const now = new Date(this.#o.clock.now()).toISOString();
    const groups = { ...d.groups };
    let n = 0;
    for (const g of manual) {
      const st = groups[g.name];
      if (!st) continue;
      const allocs = { ...st.allocs };
      for (const [index, recs] of byIndex(records, g.name)) {
        const e = allocs[index];
        if (!e || e.healthyAt || e.unhealthy || allocVersion(g.name, recs, candidates) !== target.version) continue;
        allocs[index] = { ...e, healthyAt: now };
        n++;
      }
      groups[g.name] = { ...st, allocs };
    }
    if (!n) throw new TendError('E_BAD_REQUEST', `failed to promote the deployment of ${job}: no allocation runs version ${d.version} yet`);
    const rec = this.#o.store.getRollout(job)!;
    this.#o.store.putRollout({ ...rec, deployment: { ...d, groups } });
    this.#event(fileJob, TASK_EVENT.AllocHealthy, `${n} allocation${n === 1 ? '' : 's'} marked healthy by the operator (deployment ${d.id})`, { deployment: d.id, count: n });
    this.#dirty.add(job);
    this.#evaluateDirty();
    return n;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
  }

  #running(job: string, verb: string): Deployment {
    if (!this.#jobs.has(job)) throw new TendError('E_JOB_NOT_FOUND', `failed to ${verb} the deployment of ${job}: no service job ${job} with rollouts in force`, { details: { job } });
    const d = this.#o.store.getRollout(job)?.deployment;
    if (d?.status !== 'running') throw new TendError('E_BAD_REQUEST', `failed to ${verb} the deployment of ${job}: expected a running deployment, got ${d ? `${d.status} (${d.description})` : 'none'}`);
    return d;
  }

  #forget(id: string): void {
    this.#targets.delete(id);
    this.#known.delete(id);
    this.#assign.delete(id);
    this.#wakeAt.delete(id);
    this.#revisions.delete(id);
  }

  /** A look soon: the task runs of the next few ms share one evaluation. */
  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    const t = setTimeout(() => {
      this.#scheduled = false;
      if (!this.#closed) this.#evaluateDirty();
    }, COALESCE_MS);
    t.unref?.();
  }

  /** Evaluate the dirty jobs; tell the agent when an allocation's version changed (`notify`). */
  #evaluateDirty(notify = true): void {
    if (!this.#dirty.size) return;
    const byJob = new Map<string, TaskRecord[]>();
    for (const id of this.#dirty) byJob.set(id, []);
    for (const r of this.#o.store.all()) byJob.get(r.job)?.push(r);
    this.#dirty.clear();
    let changed = false;
    for (const [id, records] of byJob) if (this.#jobs.has(id) && this.#evaluate(id, records)) changed = true;
    this.#arm();
    if (changed && notify && !this.#closed) this.#o.onChange();
  }

  /** Versions the job's allocations may run, the target first. */
  #candidates(id: string, target: { job: Job; version: string }): VersionCandidate[] {
    const out: VersionCandidate[] = [{ version: target.version, job: target.job }];
    for (const [version, job] of this.#known.get(id) ?? []) if (version !== target.version) out.push({ version, job });
    return out;
  }

  /** One job: its target, its deployment's step, a revert; returns whether an allocation's version changed. */
  #evaluate(id: string, records: TaskRecord[]): boolean {
    const fileJob = this.#jobs.get(id)!;
    const { store } = this.#o;
    const now = this.#o.clock.now();
    const iso = new Date(now).toISOString();
    const before = store.getRollout(id);
    const rec: RolloutRecord = before ? { ...before } : { job: id, versions: {} };
    const fileVersion = jobVersion(fileJob);
    const revision = this.#revisions.get(id);
    const known = new Map<string, Job>();
    for (const [v, j] of Object.entries(rec.versions ?? {})) if (usable(j)) known.set(v, j);
    known.set(fileVersion, fileJob);
    this.#known.set(id, known);
    const prevTarget = this.#targets.get(id);
    const prevAssign = this.#assign.get(id);

    // A revert lasts until the file's version changes.
    if (rec.reverted) {
      const stable = rec.stable && known.get(rec.stable.version);
      if (fileVersion !== rec.reverted.version || !stable) {
        this.#event(fileJob, TASK_EVENT.Deployment, `The file${revision ? ` (revision ${revision})` : ''} now gives version ${fileVersion}: the revert to version ${rec.stable?.version} ends`, { version: fileVersion });
        rec.reverted = undefined;
      } else if (revision && rec.reverted.fileRevision !== revision) {
        rec.reverted = { ...rec.reverted, fileRevision: revision };
      }
    }

    let step: ReturnType<typeof stepDeployment> | undefined;
    let target!: { job: Job; version: string };
    for (let pass = 0; pass < 2; pass++) {
      target = rec.reverted && rec.stable ? { job: known.get(rec.stable.version)!, version: rec.stable.version } : { job: fileJob, version: fileVersion };
      const groups = rollingGroups(target.job);
      const candidates = this.#candidates(id, target);
      const now_: GroupNow[] = groups.map((g) => ({ name: g.name, count: g.count, strategy: g.update, allocs: this.#allocsNow(g, target.version, byIndex(records, g.name), candidates) }));
      let deployment = rec.deployment;
      if (!deployment || deployment.version !== target.version) {
        if (deployment?.status === 'running') {
          deployment = { ...deployment, status: 'cancelled', description: DEPLOYMENT_DESCRIPTION.NewerJob, endedAt: iso };
          if (!deployment.quiet) this.#event(fileJob, TASK_EVENT.Deployment, `${deployment.description} (deployment ${deployment.id}, version ${deployment.version})`, { deployment: deployment.id, version: deployment.version, status: 'cancelled' });
        }
        deployment = this.#newDeployment(target, groups, now_, iso, Boolean(rec.reverted), rec.reverted ? rec.stable?.fileRevision : revision);
        if (!deployment.quiet) {
          const total = groups.reduce((n, g) => n + g.count, 0);
          const parallel = [...new Set(groups.map((g) => g.update.maxParallel))].join('/');
          const what = deployment.rollback ? `rolling back to version ${target.version}` : `version ${target.version}${deployment.fileRevision ? ` (file revision ${deployment.fileRevision})` : ''}`;
          this.#event(fileJob, TASK_EVENT.Deployment, `Deployment ${deployment.id} started: ${what}, ${total} allocation${total === 1 ? '' : 's'}, max_parallel ${parallel}`, { deployment: deployment.id, version: target.version, status: 'running' });
        }
      }
      let endedByUser = false;
      if (this.#failNow.delete(id) && deployment.status === 'running') {
        deployment = { ...deployment, status: 'failed', description: DEPLOYMENT_DESCRIPTION.FailedByUser, endedAt: iso };
        endedByUser = true;
      }
      step = stepDeployment({ now, deployment, groups: now_, known: new Set(known.keys()), hold: !this.#live });
      rec.deployment = step.deployment;
      this.#healthEvents(fileJob, step);
      for (const p of step.placed) this.#log.info({ job: id, group: p.group, index: p.index, version: target.version, deployment: step.deployment.id }, 'allocation placed by the rollout');
      const d = step.deployment;
      if (step.ended === 'successful' || (d.status === 'successful' && rec.stable?.version !== d.version)) {
        rec.stable = { version: d.version, at: iso, ...(d.fileRevision ? { fileRevision: d.fileRevision } : {}) };
        if (step.ended && !d.quiet) this.#event(fileJob, TASK_EVENT.Deployment, `${d.description} (deployment ${d.id}, version ${d.version})`, { deployment: d.id, version: d.version, status: d.status });
        if (step.ended) this.#log.info({ job: id, deployment: d.id, version: d.version }, 'deployment successful');
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
      rec.deployment = { ...d, description };
      this.#event(fileJob, TASK_EVENT.Deployment, `${description} (deployment ${d.id}, version ${d.version})`, { deployment: d.id, version: d.version, status: 'failed' });
      this.#log.warn({ job: id, deployment: d.id, version: d.version, reason: description }, 'deployment failed');
      if (!revert) break;
      rec.reverted = { version: d.version, ...(revision ? { fileRevision: revision } : {}), at: iso, reason: d.description };
    }

    const assign = this.#withRest(target, step!.assign);
    this.#targets.set(id, target);
    this.#assign.set(id, assign);
    if (step!.wakeAt !== undefined && rec.deployment?.status === 'running') this.#wakeAt.set(id, step!.wakeAt);
    else this.#wakeAt.delete(id);
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
    return prevTarget?.job !== target.job || !sameAssign(prevAssign, assign);
  }

  #newDeployment(target: { job: Job; version: string }, groups: readonly { name: string; count: number }[], now_: readonly GroupNow[], iso: string, rollback: boolean, fileRev: string | undefined): Deployment {
    // Nothing to replace: every allocation already runs the version (an agent start, another group's edit).
    const quiet = !rollback && now_.every((g) => {
      for (let i = 0; i < g.count; i++) if (g.allocs.get(i)?.version !== target.version) return false;
      return true;
    });
    const initial = !quiet && now_.every((g) => g.allocs.size === 0);
    const manual = rollingGroups(target.job).some((g) => g.update.healthCheck === 'manual');
    return {
      id: randomUUID().slice(0, 8),
      version: target.version,
      ...(fileRev ? { fileRevision: fileRev } : {}),
      ...(rollback ? { rollback: true } : {}),
      status: 'running',
      description: manual ? DEPLOYMENT_DESCRIPTION.RunningManual : DEPLOYMENT_DESCRIPTION.Running,
      startedAt: iso,
      groups: Object.fromEntries(groups.map((g) => [g.name, { desiredTotal: g.count, allocs: {} }])),
      ...(quiet ? { quiet: true } : {}),
      ...(initial ? { initial: true } : {}),
    };
  }

  /** The allocations of a group that have records, as the planner sees them. */
  #allocsNow(g: Group & { update: UpdateStrategy }, target: string, recs: Map<number, TaskRecord[]>, candidates: VersionCandidate[]): Map<number, AllocNow> {
    const out = new Map<number, AllocNow>();
    for (const [index, rs] of recs) {
      const version = allocVersion(g.name, rs, candidates)!;
      const live = rs.some((r) => LIVE.has(r.state));
      const health: AllocHealth = version === target ? this.#health(g, rs) : { status: 'pending', reason: 'not on the version rolled out' };
      out.set(index, { index, version, live, health });
    }
    return out;
  }

  #health(g: Group & { update: UpdateStrategy }, rs: TaskRecord[]): AllocHealth {
    if (g.update.healthCheck === 'manual') return { status: 'pending', reason: 'health_check = "manual": waiting for tendctl deployment promote' };
    const states = taskStatesHealth(g, rs);
    const checks = g.update.healthCheck === 'checks' ? this.#o.checks?.health(rs[0].allocId) : undefined;
    return checks ? combineHealth(states, checks) : states;
  }

  /** Groups that do not roll out (max_parallel = 0) and indexes the planner left out run the target. */
  #withRest(target: { job: Job; version: string }, assign: Assign): Assign {
    const out: Assign = new Map();
    for (const g of target.job.groups) {
      const a = assign.get(g.name);
      const m = new Map<number, string>();
      for (let i = 0; i < g.count; i++) m.set(i, a?.get(i) ?? target.version);
      out.set(g.name, m);
    }
    return out;
  }

  #healthEvents(job: Job, step: ReturnType<typeof stepDeployment>): void {
    const d = step.deployment;
    for (const u of step.unhealthy) {
      this.#event(job, TASK_EVENT.AllocUnhealthy, `Allocation ${u.group}[${u.index}] unhealthy: ${u.reason}`, { deployment: d.id, group: u.group, index: u.index });
      this.#log.warn({ job: job.id, group: u.group, index: u.index, reason: u.reason }, 'allocation unhealthy');
    }
    for (const h of step.healthy) this.#log.info({ job: job.id, group: h.group, index: h.index, deployment: d.id }, 'allocation healthy');
    // One event per step, for the allocations a rollout replaced (a new job's or an agent start's would flood the ring).
    if (!step.healthy.length || d.quiet || d.initial) return;
    const names = step.healthy.map((h) => `${h.group}[${h.index}]`);
    const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
    const healthy = Object.values(d.groups).reduce((n, g) => n + Object.values(g.allocs).filter((a) => a.healthyAt).length, 0);
    const total = Object.values(d.groups).reduce((n, g) => n + g.desiredTotal, 0);
    this.#event(job, TASK_EVENT.AllocHealthy, `Allocation${names.length === 1 ? '' : 's'} ${shown} healthy (${healthy}/${total})`, { deployment: d.id, allocs: names });
  }

  #event(job: Job, type: NewEvent['type'], message: string, details: Record<string, unknown>): void {
    this.#o.store.addEvent({ job: job.id, type, message, details: { ...details, file: job.file } });
  }

  /** One timer for the earliest due time of every running deployment. */
  #arm(): void {
    if (this.#closed) return;
    let at = Infinity;
    for (const t of this.#wakeAt.values()) at = Math.min(at, t);
    if (at !== Infinity) at = Math.ceil(at / COALESCE_MS) * COALESCE_MS;
    if (at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    if (at === Infinity) return;
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, at - this.#o.clock.now()));
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      this.check();
    }, wait + 1);
    this.#timer.unref?.();
  }
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

function byIndex(records: readonly TaskRecord[], group: string): Map<number, TaskRecord[]> {
  const out = new Map<number, TaskRecord[]>();
  for (const r of records) {
    if (r.group !== group) continue;
    const list = out.get(r.index);
    if (list) list.push(r);
    else out.set(r.index, [r]);
  }
  return out;
}

function sameAssign(a: Assign | undefined, b: Assign): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [g, m] of b) {
    const n = a.get(g);
    if (!n || n.size !== m.size) return false;
    for (const [i, v] of m) if (n.get(i) !== v) return false;
  }
  return true;
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
