/**
 * A task as its hooks must see it: its runtime context with the dirs as the task sees them (an
 * exec task inside its root: `/`, `/alloc`; raw_exec: the host paths), so that what a hook
 * interpolates (`${NOMAD_TASK_DIR}`, `${NOMAD_PORT_x}`, `${meta.x}`) is what the task itself gets.
 */
import { interpolateTask, runtimeEnv, type RuntimeContext } from '../../jobspec/interpolate.js';
import type { NodeInfo, Task } from '../../jobspec/model.js';
import type { TaskDirs } from '../../drivers/alloc-dir.js';
import type { AllocatedPort } from '../../ports/ports.js';
import type { DesiredInstance } from '../reconcile.js';

/** How an exec task sees its dirs inside its root (raw_exec: the host paths). */
export const EXEC_VIEW = { taskDir: '/', allocDir: '/alloc' };

export interface TaskView {
  /** The task with every runtime reference filled. */
  task: Task;
  /** The dirs as the task sees them, when they differ from the host's (exec). */
  view: typeof EXEC_VIEW | undefined;
  /** NOMAD_* and the task's `env` block, as the task gets them. */
  env: Record<string, string>;
}

export function taskView(
  instance: DesiredInstance,
  dirs: Pick<TaskDirs, 'taskDir' | 'allocDir'>,
  ports: readonly AllocatedPort[] | undefined,
  node: NodeInfo,
  agentEnv: Record<string, string | undefined>,
): TaskView {
  const view = instance.task.driver === 'exec' ? EXEC_VIEW : undefined;
  const rctx: RuntimeContext = {
    job: instance.job,
    group: instance.group,
    task: instance.task,
    index: instance.index,
    allocId: instance.allocId,
    allocDir: view?.allocDir ?? dirs.allocDir,
    taskDir: view?.taskDir ?? dirs.taskDir,
    ...(ports?.length ? { ports } : {}),
    node,
    env: agentEnv,
  };
  const task = interpolateTask(rctx);
  return { task, view, env: { ...runtimeEnv(rctx), ...task.env } };
}
