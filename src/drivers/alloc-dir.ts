/**
 * Allocation dirs, as Nomad lays them out, plus a log dir out of the tasks' reach:
 *
 *   <dataDir>/alloc/<allocId>/                          agent only (0711)
 *   <dataDir>/alloc/<allocId>/alloc/                    shared by the group's tasks (exec: /alloc, rw)
 *   <dataDir>/alloc/<allocId>/alloc/{data,tmp}          task-writable (0777, 1777)
 *   <dataDir>/alloc/<allocId>/alloc/logs                where tasks see the logs (read-only, see below)
 *   <dataDir>/alloc/<allocId>/<task>/                   agent only (0755; raw_exec's cwd)
 *   <dataDir>/alloc/<allocId>/<task>/{local,secrets,tmp} the task's (owned by its user)
 *   <dataDir>/logs/<allocId>/                           the log files, conmon's log, FIFOs: agent only
 *
 * Every path is built from the alloc id (a hash) and the task's segment
 * (segmentOf: a name from a job file is never a path). The dirs a task can
 * write are made and fixed up through dir fds without following links
 * (safe-fs.ts): a link a task planted is replaced, never followed, and modes
 * and owners are set with fchmod/fchown. The log files live where no task can
 * write: the oci executor binds that dir read-only over `alloc/logs`; under the
 * plain executor (no mounts) `alloc/logs` is a symlink to it.
 */
import { mkdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertSegment, DirFd, fileKind, pathUnder, removeTreeUnder, segmentOf, type Owner } from '../safe-fs.js';

export interface TaskDirs {
  /** `<dataDir>/alloc/<allocId>`. */
  root: string;
  /** Shared `alloc/` dir. */
  allocDir: string;
  /** Agent-only dir of the log files (`<dataDir>/logs/<allocId>`). */
  logDir: string;
  /** Where tasks find the logs: `alloc/logs`. */
  allocLogsDir: string;
  taskDir: string;
  localDir: string;
  secretsDir: string;
  tmpDir: string;
  /** The task's path segment (its name, made safe): also the log files' prefix. */
  key: string;
}

/** How `alloc/logs` shows the agent-only log dir to tasks. */
export type LogsView = 'mount' | 'link';

export function allocRoot(dataDir: string, allocId: string): string {
  return pathUnder(dataDir, 'alloc', allocId);
}

export function logDirOf(dataDir: string, allocId: string): string {
  return pathUnder(dataDir, 'logs', allocId);
}

export function taskDirs(dataDir: string, allocId: string, task: string): TaskDirs {
  const root = allocRoot(dataDir, allocId);
  const key = segmentOf(task);
  const allocDir = pathUnder(root, 'alloc');
  const taskDir = pathUnder(root, key);
  return {
    root,
    allocDir,
    logDir: logDirOf(dataDir, allocId),
    allocLogsDir: pathUnder(allocDir, 'logs'),
    taskDir,
    localDir: pathUnder(taskDir, 'local'),
    secretsDir: pathUnder(taskDir, 'secrets'),
    tmpDir: pathUnder(taskDir, 'tmp'),
    key,
  };
}

export interface EnsureOptions {
  /** Owner of what the task writes (local, secrets, tmp, alloc/data) when the agent is root. */
  owner?: Owner;
  logsView?: LogsView;
  /** A non-dir a task planted at one of the dirs was replaced (for a warning). */
  onReplaced?(path: string, kind: string): void;
}

/** Creates the dirs, or repairs what a task did to them (idempotent, link-safe). */
export async function ensureTaskDirs(dataDir: string, allocId: string, task: string, o: EnsureOptions = {}): Promise<TaskDirs> {
  const d = taskDirs(dataDir, allocId, task);
  // The log dir and the alloc root: only the agent writes there, a plain mkdir -p is safe.
  // Their parents are 0711: a local user cannot list the alloc ids (a task user can still pass through).
  // Synchronous, as DirFd's calls are (safe-fs.ts): a few µs each where they exist, which is every
  // restart of the task and every task but its allocation's first.
  for (const parent of [path.dirname(d.logDir), path.dirname(d.root)]) mkdirSync(parent, { recursive: true, mode: 0o711 });
  mkdirSync(d.logDir, { recursive: true, mode: 0o755 });
  mkdirSync(d.root, { recursive: true, mode: 0o711 });
  const root = await DirFd.openTrusted(d.root);
  const opened: DirFd[] = [root];
  try {
    const replaced = (dir: DirFd) => (name: string, kind: string) => o.onReplaced?.(path.join(dir.path, name), kind);
    const alloc = await root.ensureDir('alloc', { mode: 0o755, owner: agentOwner(), onReplaced: replaced(root) });
    opened.push(alloc);
    opened.push(await alloc.ensureDir('data', { mode: 0o777, owner: o.owner, onReplaced: replaced(alloc) }));
    opened.push(await alloc.ensureDir('tmp', { mode: 0o1777, onReplaced: replaced(alloc) }));
    if (o.logsView === 'link') await ensureLink(alloc, 'logs', d.logDir, replaced(alloc));
    else opened.push(await alloc.ensureDir('logs', { mode: 0o755, owner: agentOwner(), onReplaced: replaced(alloc) }));
    const taskDir = await root.ensureDir(d.key, { mode: 0o755, owner: agentOwner(), onReplaced: replaced(root) });
    opened.push(taskDir);
    opened.push(await taskDir.ensureDir('local', { mode: 0o755, owner: o.owner, onReplaced: replaced(taskDir) }));
    opened.push(await taskDir.ensureDir('secrets', { mode: 0o700, owner: o.owner, onReplaced: replaced(taskDir) }));
    opened.push(await taskDir.ensureDir('tmp', { mode: 0o1777, owner: o.owner, onReplaced: replaced(taskDir) }));
  } finally {
    await Promise.all(opened.map((x) => x.close()));
  }
  return d;
}

/** `name` in `dir` is a symlink to `target`: anything else there (an empty dir, a planted link) is replaced. */
async function ensureLink(dir: DirFd, name: string, target: string, onReplaced: (name: string, kind: string) => void): Promise<void> {
  const st = await dir.lstat(name);
  if (st?.isSymbolicLink() && (await fs.readlink(dir.at(name))) === target) return;
  if (st?.isDirectory()) {
    await dir.removeTree(name);
  } else if (st) {
    if (!st.isSymbolicLink()) onReplaced(name, fileKind(st));
    await dir.unlink(name);
  }
  await fs.symlink(target, dir.at(name));
}

/**
 * Removes the whole allocation (all its tasks' dirs) and its logs, without
 * following a link a task left and without leaving the data dir's
 * filesystem. Idempotent. Returns what could not be removed (mount points).
 */
export async function removeAllocDir(dataDir: string, allocId: string): Promise<string[]> {
  const left: string[] = [];
  for (const parent of [pathUnder(dataDir, 'alloc'), pathUnder(dataDir, 'logs')]) left.push(...(await removeTreeUnder(parent, assertSegment(allocId))));
  return left;
}

/** Dirs only the agent writes belong to root when it is root (a task that chowned one loses it). */
function agentOwner(): Owner | undefined {
  return process.getuid?.() === 0 ? { uid: 0, gid: 0 } : undefined;
}
