/**
 * The reconcile contract: the desired set is expanded into task instances
 * (`job/group[index]/task`, count → indexes), each with spec hashes; the
 * diff compares them with the store's records and yields one action per
 * instance. The same diff drives the agent's passes and `tendctl plan`.
 *
 * Passes are level-triggered: a pass diffs every task, or only the tasks of the
 * jobs a file event changed (the agent's delta path); what changed is cheap to
 * find because hashes are cached per task object.
 */
import type { Group, Job, Task } from '../jobspec/model.js';
import type { SpecHashes, TaskRecord } from '../store/store.js';

export type PlanActionKind = 'start' | 'stop' | 'restart' | 'update' | 'none';

/** One line of a plan (`tendctl plan`, the API's JSON). */
export interface PlanAction {
  kind: PlanActionKind;
  task: string; // instance id
  job: string;
  /** For restart: fields that force it (["args", "env.FOO"]); for update: changed resources. */
  fields?: string[];
  reason?: string;
  /** Why it is not done now: its allocation waits for its turn in a rollout (or the rollout failed). */
  waits?: string;
  /** Every field that differs between what runs and the file, old → new (a new task: only when asked for all). */
  changes?: FieldChange[];
}

/**
 * What a changed field does when applied: `restart` needs a new process, `in-place` is applied
 * to the running one (resources, templates re-rendered), `stored` is only kept for later (the
 * kill signal and timeout, the restart policy).
 */
export type FieldEffect = 'restart' | 'in-place' | 'stored';

/** One field of a plan's diff. */
export interface FieldChange {
  /** `args`, `env.FOO`, `resources.memory`, … (names as in `fields`). */
  field: string;
  change: 'added' | 'removed' | 'changed';
  effect: FieldEffect;
  /** The value in force (JSON), absent when added, hidden or not recorded. */
  old?: unknown;
  /** The value in the file (JSON), absent when removed or hidden. */
  new?: unknown;
  /**
   * Why a value is missing: `secret` (env and artifact values: shown when asked; template data:
   * never), `unrecorded` (the running spec's values were not kept: launched by an older agent, or
   * its record rebuilt from the task).
   */
  hidden?: 'secret' | 'unrecorded';
}

/** What a plan shows beyond the actions. */
export interface PlanDetail {
  /** Env and artifact values (template data never), and every field of a task to start. */
  verbose?: boolean;
}

export interface DesiredInstance {
  /** `job/group[index]/task`. */
  id: string;
  job: Job;
  group: Group;
  task: Task;
  index: number;
  /** Stable per job/group/index (a hash), shared by the group's tasks. */
  allocId: string;
  /** Executor id `<allocId>-<task>`: a path segment and an OCI container id. */
  execId: string;
  file: string;
  hashes: SpecHashes;
  /** The jobs dir's commit (its REVISION file or Git checkout) when this instance was last desired: named by its events. */
  revision?: string;
}

/** What to do for one instance, decided from (desired, record, now). */
export interface Decision {
  kind: PlanActionKind;
  /** Fields that force a restart, or the resources updated in place. */
  fields?: string[];
  reason?: string;
}

/** The part of a record the diff reads. */
export type ActualInstance = Pick<TaskRecord, 'id' | 'job' | 'hashes' | 'state' | 'nextRestartAt' | 'error' | 'handle'>;

export interface DiffOptions {
  /** Epoch ms (restart timers). */
  now: number;
  /** Why a driver cannot run tasks, or undefined when it can. */
  driverBlocked(driver: string): string | undefined;
  /**
   * Why the instance's allocation cannot get its ports for its current spec (the port book), or
   * undefined when it has them or asks for none. A running task whose edit is blocked keeps running.
   */
  allocBlocked?(d: DesiredInstance): string | undefined;
}

