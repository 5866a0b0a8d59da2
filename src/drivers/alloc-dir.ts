/**
 * Allocation dirs, as Nomad lays them out:
 *
 *   <dataDir>/alloc/<allocId>/alloc/{logs,data,tmp}    shared by the group's tasks
 *   <dataDir>/alloc/<allocId>/<task>/{local,secrets,tmp}
 *
 * Made on first start of a task, chowned to the task's user when the agent
 * is root, removed when the allocation is stopped.
 */
import { chown, chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

export interface TaskDirs {
  /** `<dataDir>/alloc/<allocId>`. */
  root: string;
  /** Shared `alloc/` dir. */
  allocDir: string;
  logDir: string;
  taskDir: string;
  localDir: string;
  secretsDir: string;
  tmpDir: string;
}

export function allocRoot(dataDir: string, allocId: string): string {
  return path.join(dataDir, 'alloc', allocId);
}

export function taskDirs(dataDir: string, allocId: string, task: string): TaskDirs {
  const root = allocRoot(dataDir, allocId);
  const allocDir = path.join(root, 'alloc');
  const taskDir = path.join(root, task);
  return {
    root,
    allocDir,
    logDir: path.join(allocDir, 'logs'),
    taskDir,
    localDir: path.join(taskDir, 'local'),
    secretsDir: path.join(taskDir, 'secrets'),
    tmpDir: path.join(taskDir, 'tmp'),
  };
}

/** Creates the dirs (idempotent). `owner` is applied to what the task writes (all but logs/) when given. */
export async function ensureTaskDirs(dataDir: string, allocId: string, task: string, owner?: { uid: number; gid: number }): Promise<TaskDirs> {
  const d = taskDirs(dataDir, allocId, task);
  await mkdir(d.logDir, { recursive: true, mode: 0o755 });
  for (const sub of ['data', 'tmp']) await mkdir(path.join(d.allocDir, sub), { recursive: true, mode: 0o777 });
  await mkdir(d.localDir, { recursive: true, mode: 0o755 });
  await mkdir(d.secretsDir, { recursive: true, mode: 0o700 });
  await mkdir(d.tmpDir, { recursive: true, mode: 0o777 });
  // mkdir's mode is masked by umask: make tmp dirs world-writable with the sticky bit as /tmp.
  await chmod(d.tmpDir, 0o1777);
  await chmod(path.join(d.allocDir, 'tmp'), 0o1777);
  if (owner) {
    for (const p of [d.taskDir, d.localDir, d.secretsDir, d.tmpDir, path.join(d.allocDir, 'data')]) await chown(p, owner.uid, owner.gid);
  }
  return d;
}

/** Removes the whole allocation (all its tasks' dirs and logs). Idempotent. */
export async function removeAllocDir(dataDir: string, allocId: string): Promise<void> {
  await rm(allocRoot(dataDir, allocId), { recursive: true, force: true });
}
