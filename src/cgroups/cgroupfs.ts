/**
 * File plumbing over a cgroupfs (or a fake one in a temp dir): reads that
 * tell "absent" from "failed", writes the kernel sees as one value, recursive
 * process listing and child-first removal.
 *
 * Reads, listings and rmdir are synchronous behind their async signatures: on
 * a cgroupfs they are answered from kernel memory in microseconds, several
 * times cheaper in CPU than a round trip through the thread pool, and a
 * teardown makes dozens of them per task (every hierarchy, twice). Writes stay
 * asynchronous: a memory limit's write may reclaim for a while.
 */
import { accessSync, promises as fsp, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { errnoCode, TendError } from '../errors.js';
import { parseProcs } from './stats.js';

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** The file's text, or undefined when it does not exist. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    accessSync(p);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Write one value (a kernel file takes it in one write). Errors keep their errno `code`. */
export async function writeValue(file: string, value: string | number): Promise<void> {
  await fsp.writeFile(file, String(value));
}

/** Write a value only when the file exists (optional kernel features: memsw, cgroup.kill, memory.swap.max). */
export async function writeIfPresent(file: string, value: string | number): Promise<boolean> {
  if (!(await exists(file))) return false;
  await writeValue(file, value);
  return true;
}

/** Names of the child directories of `dir`; [] when `dir` is gone. */
export async function childDirs(dir: string): Promise<string[]> {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
}

/** Pids in `dir`'s cgroup.procs and in every descendant cgroup's. */
export async function readProcsRecursive(dir: string): Promise<number[]> {
  const out = parseProcs(await readOptional(path.join(dir, 'cgroup.procs')));
  for (const child of await childDirs(dir)) out.push(...(await readProcsRecursive(path.join(dir, child))));
  return out;
}

/** Pids across several cgroup dirs, deduplicated and sorted. */
export async function readProcsUnion(dirs: readonly string[]): Promise<number[]> {
  const all = new Set<number>();
  for (const dir of dirs) for (const pid of await readProcsRecursive(dir)) all.add(pid);
  return [...all].sort((a, b) => a - b);
}

/** Remove a cgroup and its descendants, children first; a dir that is already gone is fine. */
export async function removeTree(dir: string): Promise<void> {
  for (const child of await childDirs(dir)) await removeTree(path.join(dir, child));
  try {
    rmdirSync(dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return;
    // On a real cgroupfs the control files never block rmdir; in a fake tree they are plain files.
    if (code === 'ENOTEMPTY' && !(await isCgroupFs(dir))) {
      const entries = await fsp.readdir(dir, { withFileTypes: true });
      for (const e of entries) if (!e.isDirectory()) await fsp.rm(path.join(dir, e.name), { force: true });
      await fsp.rmdir(dir);
      return;
    }
    throw err;
  }
}

async function isCgroupFs(dir: string): Promise<boolean> {
  try {
    const s = await fsp.statfs(dir);
    return s.type === CGROUP_SUPER_MAGIC || s.type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** mkdir -p; EACCES / EPERM become a TendError naming the path. */
export async function ensureDir(dir: string, what: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw cgroupError(`create ${what}`, dir, err);
  }
}

/** "failed to <verb> <thing>: <why>" with the errno kept in details. */
export function cgroupError(action: string, file: string, err: unknown): TendError {
  const code = errnoCode(err);
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? `permission denied writing ${file} (tend's cgroup manager needs root)`
      : code === 'ENOENT'
        ? `${file} does not exist`
        : `${file}: ${code ?? (err instanceof Error ? err.message : String(err))}`;
  return new TendError('E_CGROUP', `failed to ${action}: ${why}`, { cause: err, details: { file, errno: code } });
}

/** Write a value, wrapping errors as "failed to <action>: …". */
export async function setValue(file: string, value: string | number, action: string): Promise<void> {
  try {
    await writeValue(file, value);
  } catch (err) {
    throw cgroupError(action, file, err);
  }
}

/** Whether an error (possibly a wrapped TendError) carries errno `code`. */
export function hasErrno(err: unknown, code: string): boolean {
  if (errnoCode(err) === code) return true;
  if (err instanceof TendError && err.details.errno === code) return true;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && errnoCode(cause) === code;
}
