/**
 * The rollout controller: the version each allocation of a service job runs, and the job's
 * deployments (Nomad's deployment watcher, on one node). The planner (`rollout-plan.ts`, pure)
 * decides; one job's step (`rollout-job.ts`) keeps what must outlive it and an agent restart in
 * the store (the job's RolloutRecord: the deployment, the last stable version, a revert in force,
 * and the jobs of the versions still run) and records the deployment's events; this holds what
 * each job rolls out now, decides when to look again (task runs, a min_healthy_time or a deadline
 * due, the checks' health) and takes the operator's requests.
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
import { merged } from '../objects.js';
import type pino from 'pino';
import type { Job } from '../jobspec/model.js';
import type { FileState } from '../source/source.js';
import { TASK_EVENT, type Deployment, type Store, type TaskRecord } from '../store/store.js';
import type { Clock } from '../clock.js';
import { TendError } from '../errors.js';
import type { DesiredInstance } from './reconcile.js';
import { expandAlloc } from './expand.js';
import type { AllocHealthSource } from './rollout-health.js';
import { allocVersion } from './rollout-plan.js';
import { byIndex, candidatesOf, event, rollingGroups, stepJob, type Assign } from './rollout-job.js';

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

/** Whether the job has deployments at all. */
export function rollsOut(job: Job): boolean {
  return rollingGroups(job).length > 0;
}

/** The revision of a file: the first 12 hex characters of its content's sha256 (as `sha256sum` prints). */
export function fileRevision(f: Pick<FileState, 'contentHash'>): string | undefined {
  return f.contentHash ? f.contentHash.slice(0, 12) : undefined;
}

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
  /** Each job's instances at the last expand, with what they were made from. */
  readonly #expanded = new Map<string, { job: Job; target: Job; known: Map<string, Job> | undefined; assign: Assign | undefined; nodeId: string; instances: DesiredInstance[] }>();
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
      const r = this.#o.store.ofAlloc(allocId)[0];
      if (r) this.touch(r.job);
    });
  }

  /** The jobs in force (the set's and the children's); evaluates the jobs that are new or changed. */
  setJobs(jobs: Iterable<Job>, files: readonly FileState[]): void {
    // Only what changed is looked at again (a new file's job is a new object; the file cache keeps
    // the others): one edited file among 1,000 steps one job, not 1,000 (issue 14).
    const ids = new Set<string>();
    const changed: Job[] = [];
    for (const j of jobs) {
      ids.add(j.id);
      if (this.#jobs.get(j.id) !== j) changed.push(j);
    }
    this.updateJobs(changed, [...this.#jobs.keys()].filter((id) => !ids.has(id)), files);
    // Records of jobs no longer in force that rolled out before (the file went while the agent was down).
    for (const r of this.#o.store.rolloutAll()) if (!this.#jobs.has(r.job)) this.#o.store.deleteRollout(r.job);
  }

  /**
   * `setJobs` for a set that differs from the last one only in `changed` (new or edited jobs, or
   * jobs that no longer roll out) and `removed` (ids): what one file event costs is one job's, not
   * the whole set's (issue 14). Returns the ids of every job stepped now (the changed ones and any a
   * task event had left dirty): their instances are to be expanded again. The caller expands the set
   * right after: no onChange.
   */
  updateJobs(changed: readonly Job[], removed: readonly string[], files: readonly FileState[]): Set<string> {
    for (const id of removed) {
      if (!this.#jobs.has(id)) continue;
      this.#jobs.delete(id);
      this.#forget(id);
    }
    for (const id of removed) if (this.#o.store.getRollout(id)) this.#o.store.deleteRollout(id);
    const revised = new Set<string>();
    for (const j of changed) {
      if (!rollsOut(j)) {
        if (this.#jobs.delete(j.id)) this.#forget(j.id);
        if (this.#o.store.getRollout(j.id)) this.#o.store.deleteRollout(j.id);
        continue;
      }
      if (this.#jobs.get(j.id) !== j) this.#dirty.add(j.id);
      this.#jobs.set(j.id, j);
      revised.add(j.id);
    }
    if (revised.size) {
      for (const f of files) {
        if (!f.ok) continue;
        const rev = fileRevision(f);
        if (rev) for (const j of f.jobs) if (revised.has(j.id)) this.#revisions.set(j.id, rev);
      }
    }
    const stepped = new Set(this.#dirty);
    this.#evaluateDirty(false);
    return stepped;
  }

  /** The instances of one job as `expand` gives them (cached the same way); see `expand`. */
  expandJob(job: Job, nodeId = ''): DesiredInstance[] {
    const target = this.#targets.get(job.id)?.job ?? job;
    const assign = this.#assign.get(job.id);
    const known = this.#known.get(job.id);
    // A job whose file, target and versions are as at the last expand gives the same instances (issue 14:
    // every new desired set expanded every allocation of every job).
    const hit = this.#expanded.get(job.id);
    if (hit && hit.job === job && hit.target === target && hit.known === known && hit.nodeId === nodeId && (hit.assign === assign || (assign && hit.assign && sameAssign(hit.assign, assign)))) {
      return hit.instances;
    }
    const mine = new Map<string, DesiredInstance>();
    for (const g of target.groups) {
      for (let index = 0; index < g.count; index++) {
        const v = assign?.get(g.name)?.get(index);
        const j = v !== undefined ? known?.get(v) : undefined;
        const gv = j?.groups.find((x) => x.name === g.name);
        if (j && gv) expandAlloc(mine, j, gv, index, nodeId);
        else expandAlloc(mine, target, g, index, nodeId);
      }
    }
    const instances = [...mine.values()];
    this.#expanded.set(job.id, { job, target, known, assign, nodeId, instances });
    return instances;
  }

  /** A job left the set: its cached instances go. */
  forgetExpanded(id: string): void {
    this.#expanded.delete(id);
  }

  /**
   * The desired instances of `jobs`: each allocation of a job that rolls out as the version the
   * rollout gives it, every other one as its job says.
   */
  expand(jobs: Iterable<Job>, nodeId = ''): Map<string, DesiredInstance> {
    const out = new Map<string, DesiredInstance>();
    const seen = new Set<string>();
    for (const job of jobs) {
      seen.add(job.id);
      for (const d of this.expandJob(job, nodeId)) out.set(d.id, d);
    }
    for (const id of this.#expanded.keys()) if (!seen.has(id)) this.#expanded.delete(id);
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

  /**
   * The timer: only the deployments whose due time has come. Task events (`touch`) and check
   * results look at a job on their own; the timer is for deadlines alone (issue 14: 1,000 new
   * deployments waiting out min_healthy_time, each timer looked at every one of them, ~15 % of a
   * core for the 10 s after a converge).
   */
  #checkDue(): void {
    const now = this.#o.clock.now();
    for (const [id, at] of this.#wakeAt) if (at <= now && this.#jobs.has(id)) this.#dirty.add(id);
    // Nothing due yet (a wait cut at MAX_WAIT_MS, a clock a little behind the timer): wait again.
    if (!this.#dirty.size) this.#arm();
    else this.#evaluateDirty();
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
    const records = this.#o.store.ofJob(job);
    const candidates = candidatesOf(target, this.#known.get(job) ?? new Map());
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
        allocs[index] = merged(e, { healthyAt: now });
        n++;
      }
      groups[g.name] = merged(st, { allocs });
    }
    if (!n) throw new TendError('E_BAD_REQUEST', `failed to promote the deployment of ${job}: no allocation runs version ${d.version} yet`);
    const rec = this.#o.store.getRollout(job)!;
    this.#o.store.putRollout(merged(rec, { deployment: merged(d, { groups }) }));
    event(this.#o.store, fileJob, TASK_EVENT.AllocHealthy, `${n} allocation${n === 1 ? '' : 's'} marked healthy by the operator (deployment ${d.id})`, { deployment: d.id, count: n });
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
    for (const id of this.#dirty) byJob.set(id, this.#o.store.ofJob(id));
    this.#dirty.clear();
    let changed = false;
    for (const [id, records] of byJob) if (this.#jobs.has(id) && this.#evaluate(id, records)) changed = true;
    this.#arm();
    if (changed && notify && !this.#closed) this.#o.onChange();
  }

  /** One job's step (rollout-job.ts); returns whether the version of one of its allocations changed. */
  #evaluate(id: string, records: TaskRecord[]): boolean {
    const prevTarget = this.#targets.get(id);
    const prevAssign = this.#assign.get(id);
    const step = stepJob({
      store: this.#o.store,
      log: this.#log,
      checks: this.#o.checks,
      now: this.#o.clock.now(),
      fileJob: this.#jobs.get(id)!,
      revision: this.#revisions.get(id),
      records,
      live: this.#live,
      fail: this.#failNow.delete(id),
    });
    this.#known.set(id, step.known);
    this.#targets.set(id, step.target);
    this.#assign.set(id, step.assign);
    if (step.wakeAt !== undefined) this.#wakeAt.set(id, step.wakeAt);
    else this.#wakeAt.delete(id);
    return prevTarget?.job !== step.target.job || !sameAssign(prevAssign, step.assign);
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
      this.#checkDue();
    }, wait + 1);
    this.#timer.unref?.();
  }
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

