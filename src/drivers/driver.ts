/**
 * The driver contract. A driver turns one task instance into a LaunchSpec
 * for the executor: it makes the task's dirs, fills runtime variables,
 * builds the environment and (for exec) the isolation settings. Drivers are
 * enabled by the agent config (`plugin "raw_exec" { config { enabled = true } }`)
 * and available when the executor's fingerprint says so; a task whose driver
 * is disabled or unavailable waits in `pending` with the reason.
 */
import type { DriverAvailability, DriverName, LaunchSpec } from '../executor/executor.js';
import type { Group, Job, NodeInfo, Task } from '../jobspec/model.js';

/** One task instance to prepare (the reconcile loop's desired instance satisfies it). */
export interface TaskInstance {
  job: Job;
  group: Group;
  task: Task;
  index: number;
  allocId: string;
  /** Executor id `<allocId>-<task>`. */
  execId: string;
}

export interface PrepareContext {
  node: NodeInfo;
  /** Environment of the agent, for `${env["X"]}` and the host env of raw_exec tasks. */
  agentEnv: Record<string, string | undefined>;
  /**
   * Reserve `count` exclusive CPUs for a task (the cgroup manager's cpuset
   * allocator, oci executor only); absent when the executor cannot pin CPUs.
   */
  reserveCores?(execId: string, count: number): number[];
}

export interface Driver {
  readonly name: DriverName;
  /** From the agent config. */
  readonly enabled: boolean;
  /** Enabled and fingerprinted: ok, or why not. */
  availability(): DriverAvailability;
  /** Make the task's dirs and resolve everything the executor needs. Throws TendError (E_SPEC_INVALID, E_USER_DENIED, …). */
  prepare(instance: TaskInstance, ctx: PrepareContext): Promise<LaunchSpec>;
}
