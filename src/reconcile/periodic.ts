/**
 * Periodic jobs (Nomad's periodic dispatcher, on one node). A job with a `periodic` block never
 * runs at load; the launcher keeps one timer per such job and, when a launch is due, adds a child
 * job `<job>/periodic-<unix seconds>` (a batch copy of the job, without the block) to the desired
 * set the agent expands, so the ordinary task worker runs it.
 *
 *   - `prohibit_overlap`: a due launch is skipped while a child has not finished;
 *   - `force` launches one now, whatever prohibit_overlap says (as `nomad job periodic force`);
 *   - a child is finished once each of its tasks is complete, failed or dead (child-jobs.ts, shared
 *     with dispatched children): its exits are written to the job's periodic record and the child
 *     leaves the desired set; the last KEEP_FINISHED stay listed;
 *   - launches due while the agent was down are not caught up (as Nomad): the record says how
 *     many were missed;
 *   - the parent leaving the desired set (file removed, no longer periodic) stops its children;
 *   - a job that is also parameterized never launches (Nomad's IsPeriodicActive): each child
 *     dispatched from it is a periodic job of its own, handed in with the set by the agent.
 *
 * The launcher is the only writer of periodic records; it reads task records, never writes them.
 */
import type pino from 'pino';
import type { Job, Periodic } from '../jobspec/model.js';
import { compileCron } from '../jobspec/cron.js';
import type { PeriodicChild, PeriodicRecord, Store } from '../store/store.js';
import { TASK_EVENT } from '../store/store.js';
import type { Clock } from '../clock.js';
import { TendError } from '../errors.js';
import { childJob as makeChild, childRecords, keepLastFinished, parseChildJobId, periodicChildId, settleChildren } from './child-jobs.js';

export { KEEP_FINISHED } from './child-jobs.js';
/** Longest timer armed at once: a launch further away is re-armed from there (setTimeout's limit is ~24.8 days). */
const MAX_TIMER_MS = 3_600_000;
/** Missed launches are counted up to this many. */
const MISSED_CAP = 10_000;

/** `<parent>/periodic-<unix seconds>` (Nomad's child job id). */
export const childJobId = periodicChildId;

/** The next launch strictly after `afterMs` (epoch ms), over all crons; undefined when disabled or never. */
export function nextLaunch(p: Periodic, afterMs: number): number | undefined {
  if (!p.enabled) return undefined;
  let best: number | undefined;
  for (const expr of p.crons) {
    let next: Date | null;
    try {
      next = compileCron(expr, p.timeZone).nextRun(new Date(afterMs));
    } catch {
      continue; // rejected at load; a job in force has valid crons
    }
    if (next && (best === undefined || next.getTime() < best)) best = next.getTime();
  }
  return best;
}

/** How many launches fall in (fromMs, toMs], counted up to `cap`. */
export function launchesBetween(p: Periodic, fromMs: number, toMs: number, cap = MISSED_CAP): number {
  let n = 0;
  for (let t = nextLaunch(p, fromMs); t !== undefined && t <= toMs && n < cap; t = nextLaunch(p, t)) n++;
  return n;
}

/** A child run: the job as it is now, with the child's id, batch semantics and no periodic block. */
export function childJob(parent: Job, id: string): Job {
  return makeChild(parent, id, 'periodic');
}

export interface PeriodicLauncherOptions {
  store: Store;
  clock: Clock;
  logger: pino.Logger;
  /** The set of children to run changed (a launch, a child finished): the agent expands again. */
  onChange(): void;
}

export class PeriodicLauncher {
  readonly #o: PeriodicLauncherOptions;
  readonly #log: pino.Logger;
  /** Periodic jobs in force, by id. */
  readonly #jobs = new Map<string, Job>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout; spec: string }>();
  /** Each running child's job as launched (its spec at launch), by child id; rebuilt from the parent after an agent restart. */
  readonly #launched = new Map<string, Job>();
  #checkScheduled = false;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(opts: PeriodicLauncherOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'periodic' });
    // A child's task ending is recorded as an event: check whether the child has finished.
    this.#unsubscribe = opts.store.subscribe((e) => {
      if (e.job && parseChildJobId(e.job)?.kind === 'periodic') this.#scheduleCheck();
    });
  }

  /**
   * The periodic jobs of the desired set (the agent calls this with every set). A job seen for the
   * first time by this agent gets its timer and, when the store knows it, its missed launches
   * counted; a job gone takes its children with it.
   */
  setJobs(jobs: Iterable<Job>): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    const seen = new Set<string>();
    for (const job of jobs) {
      if (!job.periodic || job.parameterized) continue;
      seen.add(job.id);
      const first = !this.#jobs.has(job.id);
      this.#jobs.set(job.id, job);
      if (first) this.#watch(job, now);
      this.#arm(job);
    }
    for (const id of [...this.#jobs.keys()]) if (!seen.has(id)) this.#forget(id);
    // Records of periodic jobs no longer in force (the file went while the agent was down).
    for (const r of this.#o.store.periodicAll()) if (!seen.has(r.job)) this.#forget(r.job);
  }

  /** Child jobs to run now: each periodic job's children that have not finished. */
  children(): Job[] {
    const out: Job[] = [];
    for (const [id, job] of this.#jobs) {
      for (const c of this.#o.store.getPeriodic(id)?.children ?? []) {
        if (!c.finished) out.push(this.#launched.get(c.id) ?? childJob(job, c.id));
      }
    }
    return out;
  }

  /** Ids of the periodic jobs in force. */
  isPeriodic(job: string): boolean {
    return this.#jobs.has(job);
  }

  /** Next scheduled launch (epoch ms) of a periodic job in force; undefined when disabled or never. */
  next(job: string): number | undefined {
    const j = this.#jobs.get(job);
    return j?.periodic ? nextLaunch(j.periodic, this.#o.clock.now()) : undefined;
  }

  /** Launch a child of `job` now, whatever prohibit_overlap says (`nomad job periodic force`). */
  force(job: string): string {
    const j = this.#jobs.get(job);
    if (!j?.periodic) throw new TendError('E_JOB_NOT_FOUND', `failed to force a launch of ${job}: no periodic job ${job} in force`, { details: { job } });
    if (!j.periodic.enabled) throw new TendError('E_BAD_REQUEST', `failed to force a launch of ${job}: expected an enabled periodic job, got enabled = false`, { details: { job } });
    return this.#launch(j, this.#o.clock.now(), true);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
  }

  /** First sight of a job in this agent's life: count what was due while no agent watched it. */
  #watch(job: Job, now: number): void {
    const r = this.#o.store.getPeriodic(job.id);
    const nowIso = new Date(now).toISOString();
    if (!r) {
      this.#o.store.putPeriodic({ job: job.id, children: [], watchingSince: nowIso });
      return;
    }
    const from = Math.max(Date.parse(r.lastDueAt ?? '') || 0, Date.parse(r.watchingSince ?? '') || 0);
    const missed = from > 0 ? launchesBetween(job.periodic!, from, now) : 0;
    if (missed > 0) {
      r.missed = { count: missed, from: new Date(from).toISOString(), to: nowIso };
      this.#o.store.addEvent({ job: job.id, file: job.file, type: TASK_EVENT.PeriodicMissed, message: `${missed} launch${missed === 1 ? '' : 'es'} due while the agent was down not run (not caught up, as Nomad)`, details: { ...r.missed } });
      this.#log.info({ job: job.id, missed }, 'periodic launches missed while the agent was down');
    }
    r.watchingSince = nowIso;
    this.#o.store.putPeriodic(r);
  }

  /** (Re)arm the job's timer for its next launch; unchanged when the schedule and target are the same. */
  #arm(job: Job): void {
    const p = job.periodic!;
    const spec = JSON.stringify([p.crons, p.timeZone, p.enabled]);
    const cur = this.#timers.get(job.id);
    if (cur && cur.spec === spec) return;
    if (cur) clearTimeout(cur.timer);
    this.#timers.delete(job.id);
    const now = this.#o.clock.now();
    const at = nextLaunch(p, now);
    if (at === undefined) return;
    const timer = setTimeout(() => this.#fire(job.id, at, spec), Math.min(MAX_TIMER_MS, Math.max(0, at - now)));
    timer.unref?.();
    this.#timers.set(job.id, { at, timer, spec });
  }

  #fire(id: string, at: number, spec: string): void {
    this.#timers.delete(id);
    const job = this.#jobs.get(id);
    if (this.#closed || !job?.periodic) return;
    const now = this.#o.clock.now();
    if (now < at) {
      // A long wait is armed in steps; a timer that fired early waits the rest.
      const timer = setTimeout(() => this.#fire(id, at, spec), Math.min(MAX_TIMER_MS, at - now));
      timer.unref?.();
      this.#timers.set(id, { at, timer, spec });
      return;
    }
    try {
      this.#due(job, at);
    } catch (err) {
      this.#log.error({ job: id, err: (err as Error).message }, 'periodic launch failed');
    }
    this.#arm(job);
  }

  /** A scheduled launch time came: launch, or skip when a child still runs and overlap is prohibited. */
  #due(job: Job, at: number): void {
    const r = this.#record(job.id);
    r.lastDueAt = new Date(at).toISOString();
    const running = r.children.find((c) => !c.finished);
    if (job.periodic!.prohibitOverlap && running) {
      r.lastSkipped = { at: r.lastDueAt, running: running.id };
      this.#o.store.putPeriodic(r);
      this.#o.store.addEvent({ job: job.id, file: job.file, type: TASK_EVENT.PeriodicSkipped, message: `launch skipped: ${running.id} still runs (prohibit_overlap)`, details: { running: running.id } });
      this.#log.info({ job: job.id, running: running.id }, 'periodic launch skipped: a child still runs');
      return;
    }
    this.#o.store.putPeriodic(r);
    this.#launch(job, at, false);
  }

  #launch(job: Job, at: number, forced: boolean): string {
    const r = this.#record(job.id);
    const taken = new Set(r.children.map((c) => c.id));
    let t = at;
    while (taken.has(childJobId(job.id, t))) t += 1000; // two launches within one second (a force)
    const id = childJobId(job.id, t);
    const child: PeriodicChild = { id, launchedAt: new Date(this.#o.clock.now()).toISOString(), ...(forced ? { forced: true } : {}) };
    r.children.push(child);
    this.#launched.set(id, childJob(job, id));
    r.children = keepLastFinished(r.children);
    this.#o.store.putPeriodic(r);
    this.#o.store.addEvent({ job: job.id, file: job.file, type: TASK_EVENT.PeriodicLaunched, message: `launched ${id}${forced ? ' (forced)' : ''}`, details: { child: id, forced } });
    this.#log.info({ job: job.id, child: id, forced }, 'periodic child launched');
    this.#o.onChange();
    return id;
  }

  #record(job: string): PeriodicRecord {
    return this.#o.store.getPeriodic(job) ?? { job, children: [] };
  }

  #forget(id: string): void {
    const t = this.#timers.get(id);
    if (t) clearTimeout(t.timer);
    this.#timers.delete(id);
    this.#jobs.delete(id);
    for (const c of this.#o.store.getPeriodic(id)?.children ?? []) this.#launched.delete(c.id);
    this.#o.store.deletePeriodic(id);
  }

  #scheduleCheck(): void {
    if (this.#checkScheduled || this.#closed) return;
    this.#checkScheduled = true;
    setImmediate(() => {
      this.#checkScheduled = false;
      this.checkFinished();
    });
  }

  /** Mark children whose tasks have all ended as finished (their exits kept), and let them leave the desired set. */
  checkFinished(): void {
    // No such job, no child to settle: no scan of every record (each pass asks).
    if (this.#closed || this.#jobs.size === 0) return;
    const byJob = childRecords(this.#o.store.all(), 'periodic');
    let changed = false;
    for (const [id, job] of this.#jobs) {
      const r = this.#o.store.getPeriodic(id);
      if (!r) continue;
      const kept = settleChildren(r.children, byJob, this.#o.clock.now(), (c) => this.#launched.get(c.id) ?? job, (c) => this.#launched.delete(c.id));
      if (kept) {
        r.children = kept;
        this.#o.store.putPeriodic(r);
        changed = true;
      }
    }
    if (changed) this.#o.onChange();
  }
}
