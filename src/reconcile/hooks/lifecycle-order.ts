/**
 * The order of a group that uses `lifecycle` (or `leader`), after Nomad's task coordinator and
 * alloc runner: each task's step comes from the group's plan (`planAlloc`, pure), under the
 * allocation's intent:
 *
 *  - `run`: prestart tasks first, main tasks once every prestart task has completed and every
 *    prestart sidecar runs, poststart tasks once the main tasks run; the group stops around a
 *    running task when its leader ended, a sibling failed for good, or only sidecars are left
 *    (stopped tasks go back to `pending` and stay there: the group has ended).
 *  - `stop` (no task of the allocation is desired: file removed, count lowered): the leader,
 *    then the other main tasks, then the sidecars; stopped tasks stay `dead` until the whole
 *    group has stopped; then poststop tasks run to completion with their last spec (if any task
 *    of the group ran); then every record is torn down together.
 *  - `restart` (a task whose spec changed has run in this run, or a desired task is `dead`: a
 *    stop or restart cut short by an edit or an agent restart): the same waves and poststop
 *    tasks, then every record goes back to `pending` and the group starts anew in order, with
 *    its new spec, prestart tasks included (Nomad replaces the allocation).
 *
 * Groups without `lifecycle` or `leader` are not ordered: their tasks act on their own.
 */
import type { TaskRecord } from '../../store/store.js';
import type { OrderContext, OrderStep, TaskOrder } from '../hooks.js';
import { ACT } from '../hooks.js';
import { intentOf, planAlloc, usesLifecycle, type TaskStatus } from '../lifecycle.js';

const LIVE = new Set(['starting', 'running', 'restarting', 'stopping']);

function isPoststop(tasks: readonly { name: string; lifecycle?: { hook: string } }[], name: string): boolean {
  return tasks.find((t) => t.name === name)?.lifecycle?.hook === 'poststop';
}

export const lifecycleOrder: TaskOrder = {
  orders: (instance) => usesLifecycle(instance.group.tasks),
  step(ctx: OrderContext): OrderStep {
    const { instance, self, peers, leaving } = ctx;
    const tasks = instance.group.tasks;
    if (!usesLifecycle(tasks)) return ACT;
    const name = instance.task.name;
    const inGroup = new Set(tasks.map((t) => t.name));
    // A task removed from a group that stays (an edit) just goes.
    if (!inGroup.has(name)) return ACT;
    const records: Readonly<TaskRecord>[] = [...peers, ...(self ? [self] : [])].filter((r) => inGroup.has(r.task));
    const states: Record<string, TaskStatus | undefined> = {};
    for (const r of records) states[r.task] = { state: r.state };
    const intent = leaving ? 'stop' : intentOf(true, records.map((r) => ({ status: { state: r.state }, specChanged: r.state === 'dead' || ctx.specChanged(r) })));
    const plan = planAlloc({ tasks, states, intent });
    const me = plan.tasks.find((t) => t.name === name);
    if (!me) return ACT;
    const alive = self !== undefined && LIVE.has(self.state);
    if (me.mustStop) return { kind: 'stop', reason: `group stops: ${plan.reason ?? plan.phase}`, then: intent === 'run' ? 'pending' : 'dead' };
    if (intent === 'run') return me.mayStart ? ACT : { kind: 'act', noStart: me.reason ?? `group is in phase ${plan.phase}` };
    // Stopping or restarting: the poststop tasks run to completion, the rest waits for the group.
    if (plan.phase === 'done') {
      if (intent === 'restart') return { kind: 'reset', reason: plan.reason ?? 'the group restarts' };
      // Torn down: poststop records last (a group without them looks as if poststop never ran).
      const body = records.some((r) => r.task !== name && !isPoststop(tasks, r.task));
      return me.role.hook === 'poststop' && body ? { kind: 'hold', reason: 'torn down after the other tasks' } : ACT;
    }
    if (me.mayStart || (alive && me.role.hook === 'poststop')) return { kind: 'act', lingers: leaving };
    return { kind: 'hold', reason: me.reason ?? `group is in phase ${plan.phase}` };
  },
};
