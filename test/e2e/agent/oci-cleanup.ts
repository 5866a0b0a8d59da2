/**
 * What an oci agent under test may leave, found and removed without the
 * executor's own code (whose bugs the tests look for): processes whose
 * command line names the data dir (conmon, the log monitor), runc containers
 * under the data dir's runc root, every process and directory of the
 * harness's own cgroup parent in every hierarchy, and mounts under the data dir.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { listPids } from '../../../src/executor/proc.js';
import { platform } from '../../../src/platform.js';
import { waitFor } from '../../helpers/wait.js';

const run = promisify(execFile);

/** Every cgroup hierarchy's mount point (each v1 controller, name=systemd, unified). */
export function cgroupRoots(): string[] {
  const m = platform().cgroups;
  return [...new Set([...Object.values(m.v1), ...(m.unified ? [m.unified] : [])])];
}

/** Every directory under `dir` (itself included), deepest first. */
export function cgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

/** Pids in any cgroup under `dir`. */
export function cgroupProcs(dir: string): number[] {
  const pids = new Set<number>();
  for (const d of cgroupTree(dir)) {
    try {
      for (const line of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) pids.add(Number(line));
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/** Processes whose command line contains `text`. */
export function procsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Mount points (from /proc/self/mountinfo) at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp && (mp === dir || mp.startsWith(`${dir}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function removeOciLeftovers(o: { stateDir: string; cgroupParent: string }): Promise<void> {
  // Monitors first, so none of them restarts or reports anything.
  killAll(procsMentioning(o.stateDir));
  const runcRoot = path.join(o.stateDir, 'oci', 'runc-root');
  if (existsSync(runcRoot)) {
    const ids = await run('runc', [`--root=${runcRoot}`, 'list', '-q']).then((r) => r.stdout.split('\n').filter(Boolean), () => [] as string[]);
    for (const id of ids) await run('runc', [`--root=${runcRoot}`, 'delete', '--force', id]).catch(() => undefined);
  }
  const parents = cgroupRoots().map((r) => path.join(r, o.cgroupParent));
  for (const p of parents) {
    for (const d of cgroupTree(p)) {
      // A frozen cgroup would hold its processes past SIGKILL.
      if (existsSync(path.join(d, 'freezer.state'))) {
        try {
          writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
        } catch {
          /* gone */
        }
      }
    }
  }
  await waitFor(
    () => {
      const pids = parents.flatMap(cgroupProcs);
      killAll(pids);
      return pids.length === 0;
    },
    { what: `processes of cgroup parent ${o.cgroupParent} gone`, timeoutMs: 10_000, intervalMs: 20 },
  ).catch(() => undefined);
  for (const mp of mountsUnder(o.stateDir)) await run('umount', ['-l', mp]).catch(() => undefined);
  await waitFor(
    () => {
      for (const p of parents) {
        for (const d of cgroupTree(p)) {
          try {
            rmdirSync(d);
          } catch {
            /* busy a moment longer, or gone */
          }
        }
      }
      return parents.every((p) => !existsSync(p));
    },
    { what: `cgroup parent ${o.cgroupParent} removed`, timeoutMs: 10_000, intervalMs: 20 },
  ).catch(() => undefined);
}
