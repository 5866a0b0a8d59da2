// Placeholder signatures; the loader work replaces the bodies.
import type { Job, Group, Task, NodeInfo } from './model.js';

/** What is known about one task instance at launch. */
export interface RuntimeContext {
  job: Job;
  group: Group;
  task: Task;
  index: number;
  allocId: string;
  /** Paths as the task sees them (host paths for raw_exec, in-root paths for exec). */
  allocDir: string;
  taskDir: string;
  /** Exclusive cores assigned (NOMAD_CPU_CORES). */
  cores?: number[];
  node: NodeInfo;
  /** The agent's environment, for `${env["X"]}`. */
  env: Record<string, string | undefined>;
}

/** The NOMAD_* variables of the instance (NOMAD_JOB_NAME, NOMAD_ALLOC_DIR, NOMAD_CPU_LIMIT, NOMAD_META_*, …). */
export function runtimeEnv(_ctx: RuntimeContext): Record<string, string> {
  throw new Error('not implemented');
}
/**
 * Fill every runtime reference in the task's command, args, env, user, driver
 * config, template/artifact fields; returns a new Task. Throws TendError
 * E_SPEC_INVALID naming the field for a reference that cannot be resolved.
 */
export function interpolateTask(_ctx: RuntimeContext): Task {
  throw new Error('not implemented');
}
