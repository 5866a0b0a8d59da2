/**
 * Shared by the benchmarks that run containers next to tend's oci executor
 * (exec-start, exec-converge, peers): runc to its exit, the containers under a
 * runc root, the launch spec of an exec task with the exec driver's defaults,
 * and removing a bench's cgroups.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CHROOT_ENV, existingChrootEnv, NOMAD_DEFAULT_CAPS, ociCap } from '../src/drivers/exec-isolation.js';
import type { LaunchSpec } from '../src/executor/executor.js';
import { platform } from '../src/platform.js';
import { cgroupRoots, cgroupTree } from '../test/e2e/agent/oci-cleanup.js';

export const RUNC = platform().which('runc') ?? 'runc';

/**
 * Run runc to its exit; its stdout. A detached container without a terminal
 * inherits runc's stdio, so a pipe stays open in the task: success is runc's
 * exit, not the pipes' close (on failure no task holds them, and stderr is read to the end).
 */
export function runc(root: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(RUNC, [`--root=${root}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => {
      if (code === 0) {
        // Give stdout a turn to drain (list), then let go of both pipes.
        setImmediate(() => {
          c.stdout!.destroy();
          c.stderr!.destroy();
          resolve(out);
        });
      } else c.once('close', () => reject(new Error(`runc ${args[0]} exited ${code}: ${err.trim()}`)));
    });
  });
}

/** Container ids under a runc root (none when the root does not exist). */
export async function runcList(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  return (await runc(root, ['list', '-q']).catch(() => '')).split('\n').filter(Boolean);
}

/** Remove every cgroup dir of `parent` (itself included) in every hierarchy, deepest first; what could not be removed. */
export function removeCgroups(parent: string): string[] {
  const left: string[] = [];
  for (const root of cgroupRoots()) {
    for (const d of cgroupTree(path.join(root, parent))) {
      try {
        rmdirSync(d);
      } catch (err) {
        left.push(`cgroup ${d}: ${(err as Error).message}`);
      }
    }
  }
  return left;
}

/**
 * What an exec job of `command args` with 32 MiB becomes (the exec driver's
 * defaults: read-only root of `chroot_env` binds, private pid and ipc
 * namespaces, Nomad's default capabilities), its task dirs created under `dataDir/alloc/<id>`.
 */
export function execLaunchSpec(dataDir: string, id: string, command = '/bin/sh', args = ['-c', 'exec sleep 1000']): LaunchSpec {
  const allocDir = path.join(dataDir, 'alloc', id, 'alloc');
  const taskDir = path.join(dataDir, 'alloc', id, 't');
  for (const d of [path.join(allocDir, 'logs'), path.join(taskDir, 'local'), path.join(taskDir, 'secrets'), path.join(taskDir, 'tmp')]) mkdirSync(d, { recursive: true });
  return {
    id,
    identity: { job: 'bench', group: 'g', index: 0, task: 't', allocId: id },
    driver: 'exec',
    command,
    args,
    env: { PATH: '/usr/bin:/bin' },
    allocDir,
    taskDir,
    cwd: '/',
    logDir: path.join(allocDir, 'logs'),
    logs: { maxFiles: 2, maxFileSizeBytes: 1 << 20 },
    resources: { cpuShares: 100, memoryBytes: 32 << 20, memoryMaxBytes: 32 << 20 },
    isolation: {
      chrootEnv: existingChrootEnv(DEFAULT_CHROOT_ENV),
      pidMode: 'private',
      ipcMode: 'private',
      noPivotRoot: false,
      capabilities: NOMAD_DEFAULT_CAPS.map(ociCap),
      mounts: [],
    },
  };
}
