/**
 * The health of an allocation while a rollout waits for it (Nomad's alloc health tracker, on the
 * client). Three sources, after `update { health_check }`:
 *
 *  - `task_states` (here, pure): healthy since the last of its tasks started, once every task runs
 *    (an ephemeral prestart or poststart task may have completed instead; poststop tasks do not
 *    count); a restart moves "since" (the task's `startedAt` is its latest launch), so "healthy for
 *    min_healthy_time" means "running that long without a restart". A task that failed for good
 *    (its restart policy gave up) makes the allocation unhealthy at once.
 *  - `checks`: task states and the allocation's service checks (Nomad: all tasks running and every
 *    check passing). The checks come from an `AllocHealthSource` the agent plugs in; a source that
 *    knows nothing of an allocation (no checks) leaves task states alone to decide.
 *  - `manual`: never healthy by itself; `tendctl deployment promote` marks allocations healthy.
 */
import type { Group } from '../jobspec/model.js';
import type { TaskRecord } from '../store/store.js';

export type AllocHealth =
  /** Healthy without a break since `since` (epoch ms): it counts once min_healthy_time has passed. */
  | { status: 'healthy'; since: number }
  /** Not healthy yet (starting, restarting, checks not passing yet). */
  | { status: 'pending'; reason: string }
  /** Unhealthy for good: the rollout fails. */
  | { status: 'unhealthy'; reason: string };

/**
 * Where the health of an allocation's service checks comes from (the agent adapts
 * src/services/health.ts: src/agent/check-health.ts). `health` answers undefined for an
 * allocation of a group without checks (task states decide).
 */
export interface AllocHealthSource {
  health(allocId: string, group: Group): AllocHealth | undefined;
  /** `cb` is called when an allocation's health may have changed; returns an unsubscribe function. */
  onHealthChange(cb: (allocId: string) => void): () => void;
}

const isEphemeral = (lc: { hook: string; sidecar: boolean } | undefined): boolean => lc !== undefined && (lc.hook === 'prestart' || lc.hook === 'poststart') && !lc.sidecar;

/** `health_check = "task_states"`: the allocation's health from its tasks' records (those of `group`'s tasks). */
export function taskStatesHealth(group: Group, records: readonly Pick<TaskRecord, 'task' | 'state' | 'startedAt'>[]): AllocHealth {
  const byTask = new Map(records.map((r) => [r.task, r]));
  let since = 0;
  let pending: string | undefined;
  for (const t of group.tasks) {
    if (t.lifecycle?.hook === 'poststop') continue;
    const r = byTask.get(t.name);
    if (r?.state === 'failed') return { status: 'unhealthy', reason: `Unhealthy because of failed task "${t.name}"` };
    if (r?.state === 'complete' && isEphemeral(t.lifecycle)) continue;
    const started = r?.state === 'running' && r.startedAt ? Date.parse(r.startedAt) : NaN;
    if (Number.isNaN(started)) pending ??= `task "${t.name}" is ${r?.state ?? 'not started'}`;
    else since = Math.max(since, started);
  }
  return pending !== undefined ? { status: 'pending', reason: pending } : { status: 'healthy', since };
}

/** Both must be healthy (task states and checks): the later "since", the first reason not to be. */
export function combineHealth(a: AllocHealth, b: AllocHealth): AllocHealth {
  if (a.status === 'unhealthy') return a;
  if (b.status === 'unhealthy') return b;
  if (a.status === 'pending') return a;
  if (b.status === 'pending') return b;
  return { status: 'healthy', since: Math.max(a.since, b.since) };
}
