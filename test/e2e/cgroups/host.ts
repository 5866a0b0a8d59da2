/**
 * Helpers for cgroup tests on the real host: a manager with a parent of its
 * own (removed with everything under it when the test ends), gated shells
 * that only start work once moved into a cgroup, and process checks.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { CgroupManager, CgroupManagerOptions } from '../../../src/cgroups/cgroups.js';
import { createCgroupManager } from '../../../src/cgroups/factory.js';
import { errnoCode } from '../../../src/errors.js';
import { platform } from '../../../src/platform.js';

/** A parent cgroup name no other run uses. */
export function uniqueParent(): string {
  return `tend-test-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** tend's parent dir in every hierarchy (the parents of `allPaths`). */
export function parentDirs(mgr: CgroupManager): string[] {
  return mgr.allPaths('probe').map((d) => path.dirname(d));
}

/**
 * A manager on a fresh parent. When the test ends: every task cgroup under it
 * is destroyed, then the parent is removed from every hierarchy.
 */
export function hostManager(t: TestContext, opts: CgroupManagerOptions = {}): CgroupManager {
  const mgr = createCgroupManager({ parent: uniqueParent(), ...opts });
  t.after(async () => {
    await mgr.gc(new Set());
    for (const dir of parentDirs(mgr)) {
      try {
        await fsp.rmdir(dir);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
  });
  return mgr;
}

export interface GatedShell {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Let the script run past its `read x`. */
  release(): void;
  /** What the script printed so far (stdout and stderr), for assertion messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `sh -c 'read x; <script>'`: started outside any task cgroup, waits for a
 * line on stdin, so that everything the script does happens after
 * addProcess. Killed with SIGKILL when the test ends (if still running).
 */
export function gatedShell(t: TestContext, script: string): GatedShell {
  const child = spawn('sh', ['-c', `read x; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    if (out.length < 4096) out += b.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  if (child.pid === undefined) throw new Error('failed to spawn sh');
  return { child, pid: child.pid, release: () => child.stdin.write('go\n'), output: () => out, exited };
}

/** Kill pids left behind by a failed test (by id), ignoring those already gone. */
export function killOnEnd(t: TestContext, pids: () => readonly number[]): void {
  t.after(() => {
    for (const pid of pids()) {
      try {
        if (!isDead(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

/** Gone, or a zombie waiting for a parent that is not ours to reap it. */
export function isDead(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** The cgroup path of `pid` in the v1 hierarchy named `controller` ('' for the unified one). */
export function cgroupOf(pid: number, controller: string): string | undefined {
  const text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  for (const line of text.split('\n')) {
    const [, names, p] = line.split(':');
    if (names === undefined) continue;
    if (controller === '' ? names === '' : names.split(',').includes(controller)) return p;
  }
  return undefined;
}

export function read(dir: string, file: string): string {
  return readFileSync(path.join(dir, file), 'utf8').trim();
}

/** Every mounted cgroup hierarchy of this host (v1 mounts and the unified one), walked independently of the manager. */
export function hierarchyRoots(): string[] {
  const { v1, unified } = platform().cgroups;
  return [...new Set([...Object.values(v1), ...(unified ? [unified] : [])])].sort();
}

/** A task's dir in every hierarchy of the host. */
export function taskDirsEverywhere(mgr: CgroupManager, id: string): string[] {
  return hierarchyRoots().map((root) => path.join(root, mgr.parent, id));
}

/** The dirs among `dirs` that still exist. */
export function leftovers(dirs: readonly string[]): string[] {
  return dirs.filter((d) => existsSync(d));
}
