/**
 * The start gate of `lifecycle` ordering (Nomad's task lifecycle): a task of a group that uses
 * `lifecycle` starts only when the group's plan (lifecycle.ts, pure) lets it: prestart tasks
 * first, main tasks once every prestart task has completed and every prestart sidecar runs,
 * poststart tasks once the main tasks run. Groups without `lifecycle` (or `leader`) are not
 * gated. The worker asks again whenever a task of the allocation changes state.
 */
import type { TaskRecord } from '../../store/store.js';
import type { GateResult, StartGate } from '../hooks.js';
import { planAlloc, usesLifecycle, type TaskStatus } from '../lifecycle.js';
import type { DesiredInstance } from '../reconcile.js';

export const lifecycleGate: StartGate = {
  mayStart(instance: DesiredInstance, allocation: readonly Readonly<TaskRecord>[]): GateResult {
    const tasks = instance.group.tasks;
    if (!usesLifecycle(tasks)) return { ok: true };
    const states: Record<string, TaskStatus | undefined> = {};
    for (const r of allocation) if (r.task !== instance.task.name) states[r.task] = { state: r.state };
    const plan = planAlloc({ tasks, states, intent: 'run' });
    const me = plan.tasks.find((t) => t.name === instance.task.name);
    return !me || me.mayStart ? { ok: true } : { ok: false, reason: me.reason ?? `group is in phase ${plan.phase}` };
  },
};
