/**
 * The task hooks this agent runs (the registry; the contract is src/reconcile/hooks.ts). A new
 * capability is a hook file beside the others and one line here.
 */
import type { NodeInfo } from '../jobspec/model.js';
import { emptyHooks, type TaskHooks } from '../reconcile/hooks.js';
import { allocDirHook } from '../reconcile/hooks/alloc-dir.js';
import { artifactHook } from '../reconcile/hooks/artifacts.js';
import { lifecycleOrder } from '../reconcile/hooks/lifecycle-order.js';
import { portsHook } from '../reconcile/hooks/ports.js';
import type { ArtifactClientConfig } from './config-model.js';

export interface HookOptions {
  dataDir: string;
  node: NodeInfo;
  agentEnv: Record<string, string | undefined>;
  artifacts: ArtifactClientConfig;
  /** The port book: an allocation's ports go with its last task. */
  ports?: { release(allocId: string): void };
}

/** Without options (tests): only what needs no agent config (alloc dir teardown). */
export function taskHooks(o?: HookOptions): TaskHooks {
  const hooks = emptyHooks();
  if (o) hooks.prestart.push(artifactHook({ dataDir: o.dataDir, node: o.node, agentEnv: o.agentEnv, config: o.artifacts }));
  hooks.teardown.push(allocDirHook);
  if (o?.ports) hooks.teardown.push(portsHook(o.ports));
  hooks.order = lifecycleOrder;
  return hooks;
}
