/**
 * Child jobs: what periodic jobs (periodic.ts) and parameterized jobs (dispatch.ts) share. Neither
 * parent runs on its own; each run is a child job of its own, added to the desired set the agent
 * expands so that the ordinary task worker runs it, with Nomad's ids:
 *
 *   <parent>/periodic-<unix seconds>            a launch of a periodic job
 *   <parent>/dispatch-<unix seconds>-<8 hex>    a dispatch of a parameterized job
 *
 * A child is finished once each of its task instances has a record that is complete, failed or
 * dead; its parent's record then keeps its exits, the child leaves the desired set (its task
 * records and alloc dirs go, as for any job no longer desired), and the last KEEP_FINISHED
 * finished children stay listed (Nomad keeps child jobs until its job GC). Pure functions only:
 * each launcher owns its records.
 */
import type { Job } from '../jobspec/model.js';
import type { ChildFinish, ChildRun, TaskRecord } from '../store/store.js';

/** Finished children kept per parent (Nomad keeps child jobs until its job GC). */
export const KEEP_FINISHED = 5;

export type ChildKind = 'periodic' | 'dispatch';

const PERIODIC_RE = /^(.+)\/periodic-(\d+)$/;
const DISPATCH_RE = /^(.+)\/dispatch-(\d+)-([0-9a-f]{8})$/;

/** `<parent>/periodic-<unix seconds>` (Nomad's periodic child id). */
export function periodicChildId(parent: string, atMs: number): string {
  return `${parent}/periodic-${Math.floor(atMs / 1000)}`;
}

/** `<parent>/dispatch-<unix seconds>-<suffix>` (Nomad's dispatched child id; the suffix is 8 hex digits). */
export function dispatchChildId(parent: string, atMs: number, suffix: string): string {
  if (!/^[0-9a-f]{8}$/.test(suffix)) throw new Error(`dispatch id suffix: expected 8 hex digits, got ${JSON.stringify(suffix)}`);
  return `${parent}/dispatch-${Math.floor(atMs / 1000)}-${suffix}`;
}

/** The parent, kind and launch time of a child job id; undefined when the id is not one. */
export function parseChildJobId(id: string): { parent: string; kind: ChildKind; atMs: number } | undefined {
  const p = PERIODIC_RE.exec(id);
  if (p) return { parent: p[1], kind: 'periodic', atMs: Number(p[2]) * 1000 };
  const d = DISPATCH_RE.exec(id);
  if (d) return { parent: d[1], kind: 'dispatch', atMs: Number(d[2]) * 1000 };
  return undefined;
}

/** The job id at the root of a chain of children (`a/dispatch-…/periodic-…` → `a`); the id itself when it is no child. */
export function rootJobId(id: string): string {
  for (let p = parseChildJobId(id); p; p = parseChildJobId(id)) id = p.parent;
  return id;
}

/** Does the job run as its file says (true), or only through its children (periodic, parameterized)? Nomad's IsPeriodicActive / IsParameterized. */
export function runsOnItsOwn(job: Job): boolean {
  return !job.periodic && !job.parameterized;
}

/**
 * A child job: the parent as it is now, with the child's id and name, batch semantics, the block
 * that made it a parent dropped, and what the dispatch gave it (meta merged over the job's meta, as
 * Nomad's dispatch merges it; the payload). A dispatched child of a job that is also periodic keeps
 * `periodic`: it launches children of its own (as Nomad).
 */
export function childJob(parent: Job, id: string, drop: 'periodic' | 'parameterized', given: { meta?: Record<string, string>; payload?: string } = {}): Job {
  const rest: Job = { ...parent };
  delete rest[drop];
  return {
    ...rest,
    id,
    name: id,
    type: 'batch',
    parent: parent.id,
    ...(given.meta ? { meta: { ...parent.meta, ...given.meta } } : {}),
    ...(given.payload !== undefined ? { payload: given.payload } : {}),
  };
}

/** Task instances a job expands to (all groups × count × tasks). */
export function instancesOf(job: Job): number {
  return job.groups.reduce((n, g) => n + g.count * g.tasks.length, 0);
}

/** Task records of child jobs of one kind, by child job id. */
export function childRecords(records: Iterable<TaskRecord>, kind: ChildKind): Map<string, TaskRecord[]> {
  const out = new Map<string, TaskRecord[]>();
  for (const rec of records) {
    if (parseChildJobId(rec.job)?.kind !== kind) continue;
    const list = out.get(rec.job) ?? [];
    list.push(rec);
    out.set(rec.job, list);
  }
  return out;
}

const TERMINAL = new Set(['complete', 'failed', 'dead']);

/**
 * How a child ended, when it has: each of its `expected` instances has a record and every record
 * is complete, failed or dead. `failed` when one failed, `complete` when all completed, else `dead`.
 */
export function finishOf(records: readonly TaskRecord[], expected: number, nowMs: number): ChildFinish | undefined {
  if (records.length < expected || !records.every((x) => TERMINAL.has(x.state))) return undefined;
  const status = records.some((x) => x.state === 'failed') ? 'failed' : records.every((x) => x.state === 'complete') ? 'complete' : 'dead';
  return {
    at: new Date(nowMs).toISOString(),
    status,
    exits: records
      .map((x) => ({ task: x.id, state: x.state, code: x.lastExit?.code ?? null, ...(x.lastExit?.signal ? { signal: x.lastExit.signal } : {}) }))
      .sort((a, b) => (a.task < b.task ? -1 : 1)),
  };
}

/** Every unfinished child and the last `keep` finished ones, in order. */
export function keepLastFinished<C extends ChildRun>(children: C[], keep = KEEP_FINISHED): C[] {
  const finished = children.filter((c) => c.finished);
  const drop = new Set(finished.slice(0, Math.max(0, finished.length - keep)).map((c) => c.id));
  return drop.size ? children.filter((c) => !drop.has(c.id)) : children;
}

/**
 * Settle a parent's children: each unfinished child whose records show it ended gets its
 * `finished` (and `onFinish` runs for it); then only the last `KEEP_FINISHED` finished ones stay.
 * `specOf` gives the child's job (undefined: it runs until its parent goes, e.g. a periodic
 * dispatched child). Returns the children to keep, or undefined when nothing changed.
 */
export function settleChildren<C extends ChildRun>(
  children: C[],
  records: ReadonlyMap<string, TaskRecord[]>,
  nowMs: number,
  specOf: (c: C) => Job | undefined,
  onFinish: (c: C) => void,
): C[] | undefined {
  let touched = false;
  for (const c of children) {
    if (c.finished) continue;
    const spec = specOf(c);
    if (!spec) continue;
    const finished = finishOf(records.get(c.id) ?? [], instancesOf(spec), nowMs);
    if (!finished) continue;
    c.finished = finished;
    onFinish(c);
    touched = true;
  }
  return touched ? keepLastFinished(children) : undefined;
}
