/**
 * An allocation's health by its checks: what rolling updates wait for with
 * `update { health_check = "checks" }` (Nomad's deployment health, on one node).
 *
 *   import type { AllocHealth } from '../services/health.js';
 *   const h: AllocHealth = agent.health;          // one per agent
 *   h.health(allocId)                              // 'healthy' | 'unhealthy' | 'pending'
 *   const off = h.onHealthChange((allocId, health) => …);
 *
 * `health(allocId)`:
 *  - `pending`: the allocation has not registered all the checks its job file asks for yet (its
 *    tasks are starting, restarting, or not running), or a check has no result yet (and no
 *    `initial_status`);
 *  - `unhealthy`: a check is critical, or warning (unless it is `on_update = "ignore_warnings"`);
 *  - `healthy`: every check passes (warning allowed with `ignore_warnings`);
 *  - checks with `on_update = "ignore"` (readiness checks) never count.
 * An allocation whose group has no checks at all is never `healthy` here (nothing registers
 * checks for it): use `hasChecks(group)` first, and task states when it is false (as Nomad does
 * for `health_check = "checks"` without checks). `healthy` is a state, not a duration: the caller
 * times `min_healthy_time` from the change event.
 *
 * `onHealthChange(cb)` is called with the new health each time `health(allocId)` changes (also
 * when the allocation's services deregister: back to `pending`); it returns an unsubscribe
 * function. Callbacks run synchronously inside the catalog's update: keep them short.
 */
import type { Group, Task } from '../jobspec/model.js';
import type { ServiceCatalog } from './catalog.js';
import type { CheckRecord } from './services.js';

export type AllocHealthStatus = 'healthy' | 'unhealthy' | 'pending';

export interface AllocHealth {
  health(allocId: string): AllocHealthStatus;
  onHealthChange(cb: (allocId: string, health: AllocHealthStatus) => void): () => void;
}

/**
 * Whether a task's services count for its allocation: main tasks and sidecars do; init
 * (prestart), ephemeral poststart and poststop tasks do not (they do not serve while the
 * allocation runs).
 */
export function countsForAlloc(task: Pick<Task, 'lifecycle'>): boolean {
  const lc = task.lifecycle;
  return !lc || (lc.sidecar && lc.hook !== 'poststop');
}

/** The checks an allocation of `group` registers while it runs (group services and counting tasks' services). */
export function expectedChecks(group: Pick<Group, 'services' | 'tasks'>): number {
  let n = 0;
  for (const s of group.services ?? []) n += s.checks.length;
  for (const t of group.tasks) if (countsForAlloc(t)) for (const s of t.services ?? []) n += s.checks.length;
  return n;
}

/** Whether allocations of `group` have checks to be healthy by (else: task states). */
export function hasChecks(group: Pick<Group, 'services' | 'tasks'>): boolean {
  return expectedChecks(group) > 0;
}

/** The health of some check records, of which `expected` should be there. */
export function healthOf(records: readonly CheckRecord[], expected: number): AllocHealthStatus {
  let pending = records.length < expected || records.length === 0;
  for (const r of records) {
    const mode = r.spec.onUpdate;
    if (mode === 'ignore') continue;
    if (r.status === 'critical' || (r.status === 'warning' && mode !== 'ignore_warnings')) return 'unhealthy';
    if (r.status === 'pending') pending = true;
  }
  return pending ? 'pending' : 'healthy';
}

/** AllocHealth over the catalog; the services hook says how many checks each allocation expects. */
export class HealthTracker implements AllocHealth {
  readonly #catalog: ServiceCatalog;
  readonly #expected = new Map<string, number>();
  readonly #last = new Map<string, AllocHealthStatus>();
  readonly #listeners = new Set<(allocId: string, health: AllocHealthStatus) => void>();

  constructor(catalog: ServiceCatalog) {
    this.#catalog = catalog;
    catalog.onChange((c) => this.#check(c.allocId));
  }

  health(allocId: string): AllocHealthStatus {
    return healthOf(this.#catalog.recordsOfAlloc(allocId), this.#expected.get(allocId) ?? 0);
  }

  onHealthChange(cb: (allocId: string, health: AllocHealthStatus) => void): () => void {
    this.#listeners.add(cb);
    return () => void this.#listeners.delete(cb);
  }

  /** The allocation registers `n` checks when all of its tasks run (its current spec). */
  expect(allocId: string, n: number): void {
    if (this.#expected.get(allocId) === n) return;
    this.#expected.set(allocId, n);
    this.#check(allocId);
  }

  /** The allocation is gone. */
  forget(allocId: string): void {
    this.#expected.delete(allocId);
    this.#check(allocId);
    this.#last.delete(allocId);
  }

  #check(allocId: string): void {
    const now = this.health(allocId);
    const before = this.#last.get(allocId) ?? 'pending';
    if (now === before) return;
    this.#last.set(allocId, now);
    for (const l of this.#listeners) l(allocId, now);
  }
}
