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
import type { AllocatedPort } from '../ports/ports.js';
import type { TaskDirs } from './alloc-dir.js';
import type { ResolvedUser } from './user.js';

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
  /** The task's dirs and user, as `Driver.setup` made them (prepare makes them itself when absent). */
  setup?: TaskSetup;
  /** The allocation's ports (host mode: nothing to set up, the task gets their variables). */
  ports?: readonly AllocatedPort[];
}

/** What exists once a task's dirs are made: the dirs, and who the task runs as (undefined: the agent's user). */
export interface TaskSetup {
  dirs: TaskDirs;
  user?: ResolvedUser;
  /** Environment the prestart hooks add (template `env = true`): applied last, over the task's env. */
  env?: Record<string, string>;
}

export interface Driver {
  readonly name: DriverName;
  /** From the agent config. */
  readonly enabled: boolean;
  /** Enabled and fingerprinted: ok, or why not. */
  availability(): DriverAvailability;
  /**
   * Resolve (and check) the task's user and make its dirs, owned by that user: what the prestart
   * hooks work in. Throws TendError (E_USER_DENIED, …). Optional: without it the dirs are made by
   * `prepare`, and hooks get their paths before they exist.
   */
  setup?(instance: TaskInstance): Promise<TaskSetup>;
  /** Resolve everything the executor needs (and make the dirs, unless `ctx.setup`). Throws TendError (E_SPEC_INVALID, E_USER_DENIED, …). */
  prepare(instance: TaskInstance, ctx: PrepareContext): Promise<LaunchSpec>;
}
