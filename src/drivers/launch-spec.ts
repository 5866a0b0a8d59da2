/**
 * What both drivers share when turning an instance into a LaunchSpec: task
 * dirs, runtime interpolation, the NOMAD_* environment, the user, logs and
 * resources. Driver-specific parts (host env, isolation, cwd inside a root)
 * are passed in.
 */
import path from 'node:path';
import type { DriverName, ExecIsolation, LaunchSpec, TaskResources } from '../executor/executor.js';
import type { Task } from '../jobspec/model.js';
import { interpolateTask, runtimeEnv, type RuntimeContext } from '../jobspec/interpolate.js';
import type { PrepareContext, TaskInstance, TaskSetup } from './driver.js';
import { ensureTaskDirs, type LogsView } from './alloc-dir.js';
import { hostEnv, type EnvFilter } from './host-env.js';
import { lookupUser, type ResolvedUser } from './user.js';

const MiB = 1024 * 1024;

export interface BuildOptions {
  driver: DriverName;
  dataDir: string;
  isRoot: boolean;
  /** Pass the agent's environment (minus the denylist) to the task. */
  withHostEnv: boolean;
  /** Which host variables reach the task (client options env.denylist / env.allowlist). */
  envFilter?: EnvFilter;
  /** The user when the task sets none (exec: "nobody", Nomad's rule; raw_exec: the agent's). */
  defaultUser?: string;
  /** How tasks see their logs (by executor: oci binds, plain links). */
  logsView?: LogsView;
  /** A link or file a task planted at one of its dirs was replaced. */
  onReplaced?(path: string, kind: string): void;
  /** Default pids.max (task `pids_limit` overrides). */
  pidsLimit?: number;
  noCgroups?: boolean;
  /** Called with the resolved user, before the dirs are made (exec: denied uids and gids). */
  checkUser?(user: ResolvedUser): void;
  /** Builds the isolation of an exec task from the interpolated task. */
  isolation?(task: TaskInstance['task']): ExecIsolation;
  /** Paths as the task sees them (exec: inside the root). Default: host paths. */
  taskView?: { allocDir: string; taskDir: string };
}

/** The task's user (looked up when the agent is root) and its dirs, made and owned by that user. */
export async function setupTask(inst: TaskInstance, opts: BuildOptions): Promise<TaskSetup> {
  const name = inst.task.user ?? opts.defaultUser;
  // Looked up once: for the check (denied uids) even when not root, for the task's owner when root.
  const looked = name && (opts.isRoot || opts.checkUser) ? await lookupUser(name) : undefined;
  if (looked) opts.checkUser?.(looked);
  const user = opts.isRoot ? looked : undefined;
  const dirs = await ensureTaskDirs(opts.dataDir, inst.allocId, inst.task.name, { owner: user, logsView: opts.logsView, onReplaced: opts.onReplaced });
  return { dirs, ...(user ? { user } : {}) };
}

/** What the executor enforces for a task's `resources` (launch and in-place update). `cores: []` returns pinned CPUs to the pool. */
export function taskResources(task: Pick<Task, 'resources' | 'config'>, cores: number[] | undefined, defaultPidsLimit?: number): TaskResources {
  const r = task.resources;
  return {
    cpuShares: r.cpu,
    memoryBytes: r.memoryMB * MiB,
    memoryMaxBytes: (r.memoryMaxMB ?? r.memoryMB) * MiB,
    ...(cores ? { cores } : {}),
    pidsLimit: task.config.pidsLimit ?? defaultPidsLimit,
  };
}

export async function buildLaunchSpec(inst: TaskInstance, ctx: PrepareContext, opts: BuildOptions): Promise<LaunchSpec> {
  const { dirs, user } = ctx.setup ?? (await setupTask(inst, opts));
  const view = opts.taskView ?? { allocDir: dirs.allocDir, taskDir: dirs.taskDir };
  const want = inst.task.resources.cores;
  const cores = want && ctx.reserveCores ? ctx.reserveCores(inst.execId, want) : undefined;
  const rctx: RuntimeContext = {
    job: inst.job,
    group: inst.group,
    task: inst.task,
    index: inst.index,
    allocId: inst.allocId,
    allocDir: view.allocDir,
    taskDir: view.taskDir,
    cores,
    ...(ctx.ports?.length ? { ports: ctx.ports } : {}),
    node: ctx.node,
    env: ctx.agentEnv,
  };
  const task = interpolateTask(rctx);
  const env = { ...(opts.withHostEnv ? hostEnv(ctx.agentEnv, opts.envFilter) : {}), ...runtimeEnv(rctx), ...task.env, ...ctx.setup?.env };
  let command = task.config.command;
  // A relative path (e.g. from an artifact) is relative to the task dir; a bare name is looked up on PATH.
  if (opts.driver === 'raw_exec' && command.includes('/') && !path.isAbsolute(command)) command = path.join(dirs.taskDir, command);
  const r = task.resources;
  return {
    id: inst.execId,
    identity: { job: inst.job.id, group: inst.group.name, index: inst.index, task: inst.task.name, allocId: inst.allocId },
    driver: opts.driver,
    command,
    args: task.config.args,
    env,
    user,
    allocDir: dirs.allocDir,
    taskDir: dirs.taskDir,
    cwd: view.taskDir,
    logDir: dirs.logDir,
    logKey: dirs.key,
    logs: { maxFiles: task.logs.maxFiles, maxFileSizeBytes: task.logs.maxFileSizeMB * MiB },
    resources: taskResources(task, cores, opts.pidsLimit),
    isolation: opts.isolation?.(task),
    noCgroups: opts.noCgroups || undefined,
  };
}
