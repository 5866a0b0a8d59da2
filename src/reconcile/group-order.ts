/**
 * The task worker's view of ordered groups (lifecycle): which instance a task acts as, what its
 * group's order asks of it now (`TaskOrder.step`, e.g. lifecycle-order.ts), and who must look
 * again when a task of the group changes state.
 *
 * Tasks of an ordered group that leave the desired set (file removed, count lowered) keep their
 * last instance here until their allocation has no record left: they stop in their group's
 * order, and poststop tasks run as that last instance ("linger") before the group is torn down.
 */
import type pino from 'pino';
import type { Store } from '../store/store.js';
import type { DesiredInstance } from './reconcile.js';
import { ACT, type OrderStep, type TaskOrder } from './hooks.js';
import type { Transition, WorkerEvent } from './transition.js';

export interface GroupOrdersOptions {
  store: Store;
  order: TaskOrder;
  logger: pino.Logger;
  /** Queue a sync of a task. */
  submit(id: string): void;
  /** Why an instance's allocation cannot get its ports (an edit that cannot be applied is no restart). */
  portsBlocked?(d: DesiredInstance): string | undefined;
}

export class GroupOrders {
  readonly #o: GroupOrdersOptions;
  #desired: ReadonlyMap<string, DesiredInstance> = new Map();
  /** Allocations with a desired task (made when an ordered group first asks after a new set). */
  #desiredAllocs: Set<string> | undefined;
  /** The last instance of tasks that left the desired set while their group is ordered. */
  readonly #leaving = new Map<string, DesiredInstance>();
  /** Tasks no longer desired that still run as their last instance (poststop of a removed group). */
  readonly #lingering = new Set<string>();
  /** Why each held task waits (logged once per reason). */
  readonly #held = new Map<string, string>();

  constructor(o: GroupOrdersOptions) {
    this.#o = o;
  }

  setDesired(desired: ReadonlyMap<string, DesiredInstance>): void {
    // forEach: a cold for…of over a Map allocates per entry (once per desired set, 1,000 entries).
    this.#desired.forEach((d, id) => {
      if (!desired.has(id) && this.#o.order.orders(d)) this.#leaving.set(id, d);
    });
    for (const id of this.#leaving.keys()) if (desired.has(id)) this.#leaving.delete(id);
    this.#desired = desired;
    this.#desiredAllocs = undefined;
    this.forgetLeft();
  }

  /** The instance a task acts as: its desired one, or its last one while it lingers. */
  want(id: string): DesiredInstance | undefined {
    return this.#desired.get(id) ?? (this.#lingering.has(id) ? this.#leaving.get(id) : undefined);
  }

  /** What the task's group order asks of it now; logs a new hold once. */
  step(id: string): OrderStep {
    const d = this.#desired.get(id) ?? this.#leaving.get(id);
    // Most groups are not ordered: no scan of the store on every sync of their tasks.
    if (!d || !this.#o.order.orders(d)) return this.#unheld(id);
    const { store } = this.#o;
    const self = store.get(id);
    const allocId = self?.allocId ?? d.allocId;
    const step = this.#o.order.step({
      instance: d,
      self,
      peers: store.ofAlloc(allocId).filter((x) => x.id !== id),
      leaving: !(this.#desiredAllocs ??= new Set([...this.#desired.values()].map((d) => d.allocId))).has(allocId),
      specChanged: (r) => {
        const want = this.#desired.get(r.id);
        return want !== undefined && want.hashes.restart !== r.hashes.restart && (r.handle === undefined || !this.#o.portsBlocked?.(want));
      },
    });
    if (step.kind === 'act' && step.lingers) this.#lingering.add(id);
    else this.#lingering.delete(id);
    if (step.kind === 'hold') this.#hold(id, d, step.reason, 'task held by its group order');
    else if (step.kind !== 'act' || !step.noStart) this.#held.delete(id);
    return step;
  }

  /** Before a start: may the task start now? (Logs why not, once.) */
  mayStart(id: string): boolean {
    const step = this.step(id);
    const why = step.kind === 'act' ? step.noStart : step.kind === 'hold' ? undefined : `group ${step.kind}`;
    const d = this.#desired.get(id) ?? this.#leaving.get(id);
    if (why !== undefined && d) this.#hold(id, d, why, 'task start held back by its group order');
    return step.kind === 'act' && !step.noStart;
  }

  /**
   * A restart of the task's allocation has run its course: every record of the allocation goes
   * back to `pending` at once (through `apply`, the worker's one write path), and each task looks
   * again, so the group starts anew in order. The one write to other tasks' records: the order
   * says `reset` only once no task of the allocation is alive, so none has anything in flight.
   */
  reset(id: string, reason: string, apply: (id: string, ev: WorkerEvent) => Transition): void {
    const allocId = this.#o.store.get(id)?.allocId ?? this.#desired.get(id)?.allocId;
    if (!allocId) return;
    const ids = this.#o.store.ofAlloc(allocId).map((x) => x.id);
    for (const x of ids) apply(x, { type: 'alloc-reset', reason });
    this.#o.logger.info({ allocId, reason, tasks: ids.length }, 'group restarts in order');
    for (const x of ids) if (x !== id) this.#o.submit(x);
  }

  /** A task of an ordered allocation changed state: every other task of it looks again. */
  wakePeers(id: string, allocId: string | undefined): void {
    const d = this.#desired.get(id) ?? this.#leaving.get(id);
    const alloc = allocId ?? d?.allocId;
    if (!alloc) return;
    for (const [lid, l] of this.#leaving) if (l.allocId === alloc && lid !== id) this.#o.submit(lid);
    if (!d || !this.#o.order.orders(d)) return;
    for (const [pid, p] of this.#desired) if (p.allocId === alloc && pid !== id) this.#o.submit(pid);
  }

  /** Forget the last instances of allocations that have no record left. */
  forgetLeft(): void {
    if (!this.#leaving.size) return;
    for (const [id, l] of this.#leaving) {
      if (this.#o.store.ofAlloc(l.allocId).length) continue;
      this.#leaving.delete(id);
      this.#lingering.delete(id);
      this.#held.delete(id);
    }
  }

  #unheld(id: string): OrderStep {
    this.#lingering.delete(id);
    this.#held.delete(id);
    return ACT;
  }

  #hold(id: string, d: DesiredInstance, reason: string, msg: string): void {
    if (this.#held.get(id) !== reason) this.#o.logger.info({ job: d.job.id, group: d.group.name, index: d.index, task: d.task.name, reason }, msg);
    this.#held.set(id, reason);
  }
}
