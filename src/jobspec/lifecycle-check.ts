/**
 * Group-level checks of `lifecycle` and `leader`, as Nomad's job validation
 * makes them (nomad/structs: TaskGroup.Validate, TaskLifecycleConfig.Validate):
 *  - `lifecycle` needs a `hook` (Nomad's HCL schema requires it);
 *  - a group needs at least one main task (a task without `lifecycle`);
 *  - at most one task of a group may be `leader`;
 *  - `sidecar` on a poststop task has no effect (Nomad accepts and ignores
 *    it): a warning.
 */
import type { Body } from './check.js';
import type { Reporter } from './diagnostics.js';
import type { Task } from './model.js';

/**
 * `owner`: the group's body (or the task's, for a task written directly under
 * the job); `bodies` and `tasks`: the group's tasks, checked and built, in the
 * same order.
 */
export function checkLifecycle(r: Reporter, owner: Body, bodies: readonly Body[], tasks: readonly Task[]): void {
  let leader: string | undefined;
  let mains = 0;
  bodies.forEach((b, i) => {
    const t = tasks[i];
    const lc = b.blocks.lifecycle?.[0];
    if (!lc) mains++;
    else if (!lc.written.has('hook')) {
      r.error('schema', lc.steps, undefined, 'missing required field "hook" in lifecycle: expected "prestart", "poststart" or "poststop"');
    } else if (t?.lifecycle?.hook === 'poststop' && t.lifecycle.sidecar) {
      r.warn('schema', lc.steps, 'sidecar', '"sidecar" has no effect on a poststop task: it runs once, after the main tasks stop');
    }
    if (t?.leader) {
      if (leader !== undefined) r.error('schema', b.steps, 'leader', `expected at most one leader task per group, got "${leader}" and "${t.name}"`);
      else leader = t.name;
    }
  });
  if (bodies.length > 0 && mains === 0) {
    r.error('schema', owner.steps, undefined, 'expected at least one main task (a task without a lifecycle block), got only prestart, poststart and poststop tasks');
  }
}
