/**
 * The task hooks this agent runs (the registry; the contract is src/reconcile/hooks.ts). A new
 * capability is a hook file beside the others and one line here.
 */
import type { NodeInfo } from '../jobspec/model.js';
import { emptyHooks, type TaskHooks } from '../reconcile/hooks.js';
import { allocDirHook } from '../reconcile/hooks/alloc-dir.js';
import { artifactHook } from '../reconcile/hooks/artifacts.js';
import { dispatchPayloadHook } from '../reconcile/hooks/dispatch-payload.js';
import { lifecycleOrder } from '../reconcile/hooks/lifecycle-order.js';
import { portsHook } from '../reconcile/hooks/ports.js';
import { templateHooks, type TemplateHookOptions } from '../reconcile/hooks/templates.js';
import { servicesHooks } from '../reconcile/hooks/services.js';
import type { LocalServices } from '../services/index.js';
import type { VariablePolicy, VariableStore } from '../vars/index.js';
import type { ArtifactClientConfig } from './config-model.js';

export interface HookOptions {
  dataDir: string;
  node: NodeInfo;
  agentEnv: Record<string, string | undefined>;
  artifacts: ArtifactClientConfig;
  /** The port book: an allocation's ports go with its last task. */
  ports?: { release(allocId: string): void };
  /** Nomad variables for templates, and the policies of the config as it is now. */
  variables?: VariableStore;
  policies?: () => readonly VariablePolicy[];
  /** `client { template { … } }`, as it is now. */
  template?: TemplateHookOptions['config'];
  /** The local service catalog and checks, and the default host network's address. */
  services?: LocalServices;
  nodeAddress?: string;
}

/** Without options (tests): only what needs no agent config (dispatch payloads, alloc dir teardown). */
export function taskHooks(o?: HookOptions): TaskHooks {
  const hooks = emptyHooks();
  // Before artifacts, as Nomad orders its hooks.
  hooks.prestart.push(dispatchPayloadHook);
  if (o) {
    hooks.prestart.push(artifactHook({ dataDir: o.dataDir, node: o.node, agentEnv: o.agentEnv, config: o.artifacts }));
    // After artifacts: a template's `source` may be a fetched file.
    const templates = templateHooks({ node: o.node, agentEnv: o.agentEnv, variables: o.variables, policies: o.policies, config: o.template, services: o.services?.catalog });
    hooks.prestart.push(templates);
    hooks.update.push(templates);
    hooks.stop.push(templates);
    hooks.exited.push(templates);
    hooks.teardown.push(templates);
  }
  if (o?.services) {
    // Before the alloc dir goes; deregistered before the kill signal (stop), as Nomad does.
    const services = servicesHooks({ runner: o.services.runner, health: o.services.health, node: o.node, agentEnv: o.agentEnv, nodeAddress: o.nodeAddress ?? '127.0.0.1' });
    hooks.poststart.push(services);
    hooks.update.push(services);
    hooks.stop.push(services);
    hooks.exited.push(services);
    hooks.teardown.push(services);
  }
  hooks.teardown.push(allocDirHook);
  if (o?.ports) hooks.teardown.push(portsHook(o.ports));
  hooks.order = lifecycleOrder;
  return hooks;
}
