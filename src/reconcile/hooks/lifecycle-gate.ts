/**
 * The start gate of `lifecycle` ordering (Nomad's task lifecycle): a task of a group that uses
 * `lifecycle` starts only when the group's plan (lifecycle.ts, pure) lets it: prestart tasks
 * first, main tasks once every prestart task has completed and every prestart sidecar runs,
 * poststart tasks once the main tasks run. And the group stops around a running task when
 * Nomad's rules say so: its leader ended, a sibling failed for good, or only sidecars are left
 * (main tasks first, then sidecars). Groups without `lifecycle` (or `leader`) are not gated.
 * The worker asks again whenever a task of the allocation changes state.
 *
 * Poststop tasks run once the group has ended that way. A group whose job file is removed
 * stops in order too (stopTurn): the leader, then the other main tasks, then the sidecars.
 * Not yet: poststop for a removed group, and an ordered restart of an edited one.
 */
import type { TaskRecord } from '../../store/store.js';
import type { GateResult, StartGate } from '../hooks.js';
import { planAlloc, usesLifecycle, type TaskStatus } from '../lifecycle.js';
import type { DesiredInstance } from '../reconcile.js';

function statesOf(allocation: readonly Readonly<TaskRecord>[], except?: string): Record<string, TaskStatus | undefined> {
  const states: Record<string, TaskStatus | undefined> = {};
  for (const r of allocation) if (r.task !== except) states[r.task] = { state: r.state };
  return states;
}

export const lifecycleGate: StartGate = {
  orders: (instance) => usesLifecycle(instance.group.tasks),
  mustStop(instance, self, allocation) {
    const tasks = instance.group.tasks;
    if (!usesLifecycle(tasks)) return undefined;
    const states = statesOf(allocation);
    states[self.task] = { state: self.state };
    const plan = planAlloc({ tasks, states, intent: 'run' });
    const me = plan.tasks.find((t) => t.name === instance.task.name);
    return me?.mustStop ? `group stops: ${plan.reason ?? plan.phase}` : undefined;
  },
  stopTurn(instance, self, allocation) {
    const tasks = instance.group.tasks;
    if (!usesLifecycle(tasks)) return undefined;
    const states = statesOf(allocation);
    states[self.task] = { state: self.state };
    const plan = planAlloc({ tasks, states, intent: 'stop' });
    const me = plan.tasks.find((t) => t.name === instance.task.name);
    return !me || me.mustStop || plan.phase !== 'stopping' ? undefined : (me.reason ?? 'waiting for its turn to stop');
  },
  mayStart(instance: DesiredInstance, allocation: readonly Readonly<TaskRecord>[]): GateResult {
    const tasks = instance.group.tasks;
    if (!usesLifecycle(tasks)) return { ok: true };
    const states = statesOf(allocation, instance.task.name);
    const plan = planAlloc({ tasks, states, intent: 'run' });
    const me = plan.tasks.find((t) => t.name === instance.task.name);
    return !me || me.mayStart ? { ok: true } : { ok: false, reason: me.reason ?? `group is in phase ${plan.phase}` };
  },
};
