/**
 * Parameterized jobs (Nomad's `job dispatch`, on one node). A job with a `parameterized` block never
 * runs at load; each dispatch adds a child job `<job>/dispatch-<unix seconds>-<8 hex>` (a batch copy
 * of the job without the block, the dispatch meta merged over the job's meta, the payload kept for
 * its tasks' `dispatch_payload { file }`) to the desired set the agent expands, so the ordinary task
 * worker runs it.
 *
 *   - a dispatch is checked as Nomad's server checks it: payload "forbidden" refuses a payload,
 *     "required" refuses none, at most 16 KiB; every meta_required key given, no key outside
 *     meta_required ∪ meta_optional;
 *   - the child's meta and payload are kept in the job's dispatch record, so an agent restart runs
 *     a child not yet finished (or waiting to restart) with the same input;
 *   - finished children keep their exits and leave the desired set; the last KEEP_FINISHED stay
 *     listed; their payloads are dropped (child-jobs.ts, shared with periodic children);
 *   - the parent leaving the desired set (file removed, no longer parameterized) stops its
 *     children and drops its record;
 *   - a parameterized job that is also periodic: each dispatched child is a periodic job itself
 *     (Nomad's); it never finishes on its own, and the agent hands it to the periodic launcher.
 *
 * The launcher is the only writer of dispatch records; it reads task records, never writes them.
 */
import { randomBytes } from 'node:crypto';
import type pino from 'pino';
import type { Job } from '../jobspec/model.js';
import type { DispatchChild, DispatchRecord, Store } from '../store/store.js';
import { TASK_EVENT } from '../store/store.js';
import type { Clock } from '../clock.js';
import { TendError } from '../errors.js';
import { execStringProblem } from '../jobspec/names.js';
import { childJob, childRecords, dispatchChildId, keepLastFinished, parseChildJobId, settleChildren } from './child-jobs.js';

/** Largest payload a dispatch may carry (Nomad's DispatchPayloadSizeLimit, 16 KiB). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/** What one dispatch gives the child. */
export interface DispatchRequest {
  meta?: Record<string, string>;
  /** An empty payload counts as none (as Nomad). */
  payload?: Buffer;
}

/**
 * What is wrong with a dispatch of `job` (its `parameterized` block), as Nomad's server words it
 * with the expected and given values; undefined when it may run. Checked in Nomad's order:
 * payload, then meta.
 */
export function dispatchProblem(job: Job, req: DispatchRequest): string | undefined {
  const p = job.parameterized;
  if (!p) return `expected a parameterized job, got a job without a parameterized block`;
  const size = req.payload?.length ?? 0;
  if (p.payload === 'forbidden' && size > 0) return `payload provided but forbidden (parameterized { payload = "forbidden" }), got ${size} bytes`;
  if (p.payload === 'required' && size === 0) return `payload not provided but required (parameterized { payload = "required" })`;
  if (size > MAX_PAYLOAD_BYTES) return `payload exceeds maximum size: expected at most ${MAX_PAYLOAD_BYTES} bytes (16 KiB, as Nomad), got ${size} bytes`;
  const meta = req.meta ?? {};
  const allowed = new Set([...p.metaRequired, ...p.metaOptional]);
  const unpermitted = Object.keys(meta).filter((k) => !allowed.has(k)).sort();
  if (unpermitted.length) {
    const expected = allowed.size ? `keys of meta_required or meta_optional (${[...allowed].join(', ')})` : 'no meta (the job declares no meta_required or meta_optional)';
    return `dispatch request included unpermitted metadata keys: [${unpermitted.join(', ')}]; expected ${expected}`;
  }
  const missing = p.metaRequired.filter((k) => !(k in meta));
  if (missing.length) return `dispatch did not provide required meta keys: [${missing.join(', ')}]`;
  for (const [k, v] of Object.entries(meta)) {
    const why = execStringProblem(`meta ${k}`, v);
    if (why) return why;
  }
  return undefined;
}

/** The child a dispatch record describes: the parent as it is now, with the dispatch's meta and payload. */
export function dispatchedJob(parent: Job, child: Pick<DispatchChild, 'id' | 'meta' | 'payload'>): Job {
  return childJob(parent, child.id, 'parameterized', { meta: child.meta, ...(child.payload !== undefined ? { payload: child.payload } : {}) });
}

export interface DispatchLauncherOptions {
  store: Store;
  clock: Clock;
  logger: pino.Logger;
  /** The set of children to run changed (a dispatch, a child finished, a parent gone): the agent expands again. */
  onChange(): void;
  /** The 8 hex digits that make two dispatches of one second distinct (default: random, as Nomad's uuid prefix). */
  suffix?(): string;
}

export class DispatchLauncher {
  readonly #o: DispatchLauncherOptions;
  readonly #log: pino.Logger;
  /** Parameterized jobs in force, by id. */
  readonly #jobs = new Map<string, Job>();
  /** Every job in force by id (to tell "not parameterized" from "no such job"): the set's map itself, no copy per set. */
  #inForce: ReadonlyMap<string, Job> = new Map();
  /** Each unfinished child's job as dispatched (its spec then), by child id; rebuilt from the parent after an agent restart. */
  readonly #launched = new Map<string, Job>();
  #checkScheduled = false;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(opts: DispatchLauncherOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'dispatch' });
    // A child's task ending is recorded as an event: check whether the child has finished.
    this.#unsubscribe = opts.store.subscribe((e) => {
      if (e.job && parseChildJobId(e.job)?.kind === 'dispatch') this.#scheduleCheck();
    });
  }

  /** The jobs of the desired set (the agent calls this with every set); a parameterized job gone takes its children with it. */
  setJobs(jobs: Iterable<Job> | ReadonlyMap<string, Job>): void {
    if (this.#closed) return;
    const byId = jobs instanceof Map ? (jobs as ReadonlyMap<string, Job>) : new Map([...(jobs as Iterable<Job>)].map((j) => [j.id, j]));
    const seen = new Set<string>();
    byId.forEach((job) => {
      if (!job.parameterized) return;
      seen.add(job.id);
      this.#jobs.set(job.id, job);
    });
    this.#inForce = byId;
    for (const id of [...this.#jobs.keys()]) if (!seen.has(id)) this.#forget(id);
    // Records of parameterized jobs no longer in force (the file went while the agent was down).
    for (const r of this.#o.store.dispatchAll()) if (!seen.has(r.job)) this.#forget(r.job);
  }

  /** Child jobs to run now: each parameterized job's children that have not finished. */
  children(): Job[] {
    const out: Job[] = [];
    for (const [id, job] of this.#jobs) {
      for (const c of this.#o.store.getDispatch(id)?.children ?? []) {
        if (!c.finished) out.push(this.#launched.get(c.id) ?? dispatchedJob(job, c));
      }
    }
    return out;
  }

  isParameterized(job: string): boolean {
    return this.#jobs.has(job);
  }

  /**
   * Dispatch a child of `job` (`tendctl job dispatch`): its id. Throws E_JOB_NOT_FOUND for a job
   * not in force, E_BAD_REQUEST for one that is not parameterized or a request it refuses.
   */
  dispatch(job: string, req: DispatchRequest = {}): string {
    const fail = (code: 'E_JOB_NOT_FOUND' | 'E_BAD_REQUEST', why: string) => new TendError(code, `failed to dispatch ${job}: ${why}`, { details: { job } });
    if (this.#closed) throw fail('E_BAD_REQUEST', 'the agent is shutting down');
    const j = this.#jobs.get(job);
    if (!j) {
      if (this.#inForce.has(job)) throw fail('E_BAD_REQUEST', 'expected a parameterized job, got a job without a parameterized block');
      throw fail('E_JOB_NOT_FOUND', `no job ${job} in force`);
    }
    const why = dispatchProblem(j, req);
    if (why) throw fail('E_BAD_REQUEST', why);
    const now = this.#o.clock.now();
    const r = this.#record(job);
    const taken = new Set(r.children.map((c) => c.id));
    let id: string | undefined;
    for (let i = 0; i < 32 && (id === undefined || taken.has(id)); i++) id = dispatchChildId(job, now, this.#suffix());
    if (id === undefined || taken.has(id)) throw new TendError('E_INTERNAL', `failed to dispatch ${job}: no free child id`);
    const payload = req.payload?.length ? req.payload : undefined;
    const child: DispatchChild = {
      id,
      launchedAt: new Date(now).toISOString(),
      meta: { ...(req.meta ?? {}) },
      ...(payload ? { payload: payload.toString('base64'), payloadBytes: payload.length } : {}),
    };
    r.children.push(child);
    r.children = keepLastFinished(r.children);
    this.#launched.set(id, dispatchedJob(j, child));
    this.#o.store.putDispatch(r);
    this.#o.store.addEvent({
      job,
      file: j.file,
      type: TASK_EVENT.JobDispatched,
      message: `dispatched ${id}${payload ? ` with a ${payload.length}-byte payload` : ''}${Object.keys(child.meta).length ? ` and meta ${Object.keys(child.meta).sort().join(', ')}` : ''}`,
      details: { child: id, meta: Object.keys(child.meta).sort(), payloadBytes: payload?.length ?? 0 },
    });
    this.#log.info({ job, child: id, payloadBytes: payload?.length ?? 0 }, 'job dispatched');
    this.#o.onChange();
    return id;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
  }

  #suffix(): string {
    return this.#o.suffix?.() ?? randomBytes(4).toString('hex');
  }

  #record(job: string): DispatchRecord {
    return this.#o.store.getDispatch(job) ?? { job, children: [] };
  }

  #forget(id: string): void {
    this.#jobs.delete(id);
    for (const c of this.#o.store.getDispatch(id)?.children ?? []) this.#launched.delete(c.id);
    if (this.#o.store.getDispatch(id)) {
      this.#o.store.deleteDispatch(id);
      this.#log.info({ job: id }, 'parameterized job gone: its children stop');
    }
  }

  #scheduleCheck(): void {
    if (this.#checkScheduled || this.#closed) return;
    this.#checkScheduled = true;
    setImmediate(() => {
      this.#checkScheduled = false;
      this.checkFinished();
    });
  }

  /** Mark children whose tasks have all ended as finished (their exits kept, their payload dropped), and let them leave the desired set. */
  checkFinished(): void {
    // No such job, no child to settle: no scan of every record (each pass asks).
    if (this.#closed || this.#jobs.size === 0) return;
    const byJob = childRecords(this.#o.store.all(), 'dispatch');
    let changed = false;
    for (const [id, job] of this.#jobs) {
      const r = this.#o.store.getDispatch(id);
      if (!r) continue;
      const kept = settleChildren(
        r.children,
        byJob,
        this.#o.clock.now(),
        (c) => {
          const spec = this.#launched.get(c.id) ?? dispatchedJob(job, c);
          return spec.periodic ? undefined : spec; // a periodic child runs until its parent goes (as Nomad)
        },
        (c) => {
          delete c.payload;
          this.#launched.delete(c.id);
        },
      );
      if (kept) {
        r.children = kept;
        this.#o.store.putDispatch(r);
        changed = true;
      }
    }
    if (changed) this.#o.onChange();
  }
}
