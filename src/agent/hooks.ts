/**
 * The task hooks this agent runs (the registry; the contract is src/reconcile/hooks.ts). A new
 * capability is a hook file beside the others and one line here.
 */
import { emptyHooks, type TaskHooks } from '../reconcile/hooks.js';
import { allocDirHook } from '../reconcile/hooks/alloc-dir.js';

export function taskHooks(): TaskHooks {
  const hooks = emptyHooks();
  hooks.teardown.push(allocDirHook);
  return hooks;
}
