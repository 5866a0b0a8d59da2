/**
 * When the node has converged on its jobs (`tendctl wait`, `restart -wait`):
 * a pure function of the API's views.
 *
 * A task is ready when it is in the state its job asks for:
 *  - a service job's main task, and any sidecar (prestart or poststart), is
 *    `running`, with every check of its services that counts for health
 *    (not `on_update = "ignore"`) `passing`;
 *  - a batch job's main task, and any task that is not a sidecar (prestart,
 *    poststart, poststop), is `complete`; a batch job's task stopped with its
 *    group (`dead`: its leader ended) is ready too, as is a poststop task that
 *    waits for its group's main tasks to end (`pending`).
 *  Anything `pending`, `starting`, `restarting` or `stopping` is on its way.
 *
 * Some things do not converge without an operator (`fatal`): a job file that
 * does not load (the last good version may run, but not what the file says), a
 * task whose driver is unavailable, a task `failed` (its restart policy gave
 * up, or it cannot be launched), a rollout that failed or was reverted. Port
 * waits, template waits, crash loops with restarts left and rollouts in
 * progress are not fatal: they may resolve by themselves, until a timeout.
 *
 * Jobs considered: those named (default: every job of the jobs dir). Children
 * of periodic and parameterized jobs are not (they run on a schedule or a
 * dispatch, not because of a file); nor are jobs not for this node (`excluded`).
 * A job whose file left the jobs dir has converged once its tasks are gone.
 */
import type { FileView, JobView, Plan, TaskView } from './api.js';

export type Readiness =
  | { kind: 'ready' }
  | { kind: 'progressing'; why: string }
  | { kind: 'fatal'; why: string };

/** One reason the node has not converged. */
export interface Problem {
  job: string;
  /** The task instance, when it is one task's. */
  task?: string;
  /** The job file, when it is a file's (it does not load). */
  file?: string;
  why: string;
  /** It will not resolve without an operator. */
  fatal: boolean;
  /** It may resolve without an event (the agent reads a file): look again now and then. */
  recheck?: boolean;
}

export interface Convergence {
  /** Every task considered is ready and nothing is in the way. */
  converged: boolean;
  /** Some problem is fatal. */
  failed: boolean;
  ready: number;
  total: number;
  /** What the tasks should be: `running`, `complete`, or `ready` when some of each. */
  label: 'running' | 'complete' | 'ready';
  /** Tasks not ready, by state ("pending" → 3). */
  notReady: Record<string, number>;
  /** Jobs considered. */
  jobs: string[];
  problems: Problem[];
}

const isBatch = (type: string) => type === 'batch' || type === 'sysbatch';

function exitText(t: TaskView): string {
  const e = t.lastExit;
  if (!e) return '';
  if (e.oomKilled) return 'OOM killed';
  if (e.signal) return `killed by ${e.signal}`;
  return e.code === null ? 'exit not recorded' : `exit code ${e.code}`;
}

/** The state a task should reach: `running` for a service job's main task and sidecars, else `complete`. */
export function targetState(t: Pick<TaskView, 'lifecycle'>, jobType: string): 'running' | 'complete' {
  const hook = t.lifecycle?.hook ?? 'main';
  return t.lifecycle?.sidecar === true || (hook === 'main' && !isBatch(jobType)) ? 'running' : 'complete';
}

/** Whether one task is where its job wants it (see the file's comment). */
export function taskReadiness(t: TaskView, jobType: string): Readiness {
  const hook = t.lifecycle?.hook ?? 'main';
  const batch = isBatch(jobType);
  const longLived = targetState(t, jobType) === 'running';
  switch (t.state) {
    case 'failed':
      return { kind: 'fatal', why: `failed${t.error ? `: ${t.error}` : ''}${t.lastExit ? ` (last ${exitText(t)})` : ''}` };
    case 'pending':
      if (t.error?.startsWith('driver ')) return { kind: 'fatal', why: t.error };
      if (hook === 'poststop' && t.waiting && !t.error) return { kind: 'ready' };
      return { kind: 'progressing', why: `pending${t.error ? `: ${t.error}` : t.waiting ? `: ${t.waiting}` : ''}` };
    case 'starting':
      return { kind: 'progressing', why: 'starting' };
    case 'restarting':
      return { kind: 'progressing', why: `restarting${t.lastExit ? ` after ${exitText(t)}` : ''}${t.restarts ? ` (${t.restarts} restart${t.restarts === 1 ? '' : 's'})` : ''}` };
    case 'stopping':
      return { kind: 'progressing', why: 'stopping' };
    case 'running': {
      if (!longLived) return { kind: 'progressing', why: 'running (waits to complete)' };
      const checks = (t.checks ?? []).filter((c) => c.mode !== 'readiness' && c.status !== 'passing');
      if (checks.length) return { kind: 'progressing', why: `running; check "${checks[0].name}" ${checks[0].status}${checks.length > 1 ? ` (+${checks.length - 1} more)` : ''}` };
      return { kind: 'ready' };
    }
    case 'complete':
      return { kind: 'ready' };
    case 'dead':
      if (batch) return { kind: 'ready' };
      return { kind: 'progressing', why: 'stopped' };
  }
  return { kind: 'progressing', why: t.state };
}

/** Where the jobs stand; `names`: only these jobs (default every job of the jobs dir). */
export function convergence(jobs: JobView[], files: FileView[], names?: string[]): Convergence {
  const inForce = new Set(files.flatMap((f) => f.jobs));
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const problems: Problem[] = [];
  const selected: JobView[] = [];
  if (names?.length) {
    for (const n of names) {
      const j = byId.get(n);
      if (j) selected.push(j);
      else problems.push({ job: n, why: `job ${n} is not known to the agent (yet)`, fatal: false, recheck: true });
    }
  } else {
    selected.push(...jobs.filter((j) => !j.parent));
  }
  const mentioned = new Set(selected.map((j) => j.id));
  for (const f of files) {
    if (f.ok) continue;
    if (names?.length && !f.jobs.some((j) => mentioned.has(j))) continue;
    const err = f.diagnostics.find((d) => d.severity === 'error');
    const where = err ? `${f.path}${err.line ? `:${err.line}` : ''}` : f.path;
    problems.push({ job: f.jobs[0] ?? f.path, file: f.path, why: `${where}: ${err?.message ?? 'invalid'}${f.lastGoodAt ? ' (its last good version stays in force)' : ''}`, fatal: true });
  }
  let ready = 0;
  let total = 0;
  const as = new Set<string>();
  const notReady: Record<string, number> = {};
  for (const j of selected) {
    if (j.status === 'excluded') continue;
    const gone = !inForce.has(j.id);
    if (!gone && j.deployment) {
      const d = j.deployment;
      if (d.reverted) problems.push({ job: j.id, why: `rollout of version ${d.reverted.version} failed and was reverted: ${d.reverted.reason}`, fatal: true });
      else if (d.status === 'failed') problems.push({ job: j.id, why: `rollout failed: ${d.description}`, fatal: true });
      else if (d.status === 'running') problems.push({ job: j.id, why: `rollout running: ${d.description}`, fatal: false });
    }
    for (const t of j.tasks) {
      if (gone) {
        // Its file left the jobs dir: what is left of it has to go.
        if (t.state === 'dead') continue;
        notReady[t.state] = (notReady[t.state] ?? 0) + 1;
        problems.push({ job: j.id, task: t.id, why: `${t.state}: its file left the jobs dir`, fatal: false });
        continue;
      }
      total++;
      as.add(targetState(t, j.type));
      const r = taskReadiness(t, j.type);
      if (r.kind === 'ready') {
        ready++;
        continue;
      }
      notReady[t.state] = (notReady[t.state] ?? 0) + 1;
      problems.push({ job: j.id, task: t.id, why: r.why, fatal: r.kind === 'fatal' });
    }
  }
  return {
    converged: problems.length === 0,
    failed: problems.some((p) => p.fatal),
    ready,
    total,
    label: as.size > 1 ? 'ready' : as.has('complete') ? 'complete' : 'running',
    notReady,
    // A job whose file left the jobs dir is one of them only while something of it is left.
    jobs: selected.filter((j) => inForce.has(j.id) || j.tasks.some((t) => t.state !== 'dead')).map((j) => j.id),
    problems,
  };
}

/**
 * Whether the views may change without an event: a stopped task's record is removed silently
 * (its file left the jobs dir, its count was lowered). Watchers look again soon while it holds.
 */
export function mayChangeSilently(jobs: JobView[], files: FileView[]): boolean {
  const inForce = new Set(files.flatMap((f) => f.jobs));
  return jobs.some((j) => j.tasks.some((t) => t.state === 'stopping' || (t.state === 'dead' && (!isBatch(j.type) || !inForce.has(j.id)))));
}

/**
 * The views corrected by a plan of the jobs dir as it is on disk now (`GET /v1/plan`): the agent
 * may not have read the latest files yet (a sync just wrote them). Changes it has not applied
 * keep the node from having converged, and make a failure they would replace not final; a file
 * fixed on disk is no longer a failure, one broken on disk is. Actions that wait for a rollout
 * are the rollout's (already a problem while it runs).
 */
export function withPlan(c: Convergence, plan: Pick<Plan, 'actions' | 'files'>, names?: string[]): Convergence {
  const wanted = (job: string) => !names?.length || names.includes(job) || c.jobs.includes(job);
  const pending = plan.actions.filter((a) => a.kind !== 'none' && !a.waits && wanted(a.job));
  const changed = new Set(pending.map((a) => a.job));
  const fixedOnDisk = new Set(plan.files.filter((f) => f.ok).map((f) => f.path));
  const problems: Problem[] = [];
  for (const p of c.problems) {
    if (p.file && fixedOnDisk.has(p.file)) continue;
    problems.push(p.fatal && changed.has(p.job) ? { ...p, fatal: false, why: `${p.why}; the jobs dir has changes for it not applied yet` } : p);
  }
  const known = new Set(c.problems.flatMap((p) => (p.file ? [p.file] : [])));
  for (const f of plan.files) {
    if (f.ok || known.has(f.path) || (names?.length && !f.jobs.some(wanted))) continue;
    const err = f.diagnostics.find((d) => d.severity === 'error');
    problems.push({ job: f.jobs[0] ?? f.path, file: f.path, why: `${f.path}${err?.line ? `:${err.line}` : ''}: ${err?.message ?? 'invalid'}`, fatal: true });
  }
  if (pending.length) {
    const counts = new Map<string, number>();
    for (const a of pending) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
    const what = [...counts].map(([k, n]) => `${n} to ${k}`).join(', ');
    problems.push({ job: [...changed].join(', '), why: `the jobs dir has changes the agent has not applied yet: ${what} (tendctl plan shows them)`, fatal: false, recheck: true });
  }
  return { ...c, problems, converged: problems.length === 0, failed: problems.some((p) => p.fatal) };
}
