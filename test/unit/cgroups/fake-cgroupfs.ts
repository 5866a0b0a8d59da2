/**
 * A fake cgroupfs in a temp dir: the root files a kernel shows, so that the
 * managers run unprivileged. Files are plain files; what a manager writes is
 * what it reads back.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CgroupMounts } from '../../../src/platform.js';

export interface FakeTree {
  root: string;
  mounts: CgroupMounts;
  read(rel: string): string;
  write(rel: string, text: string): void;
  has(rel: string): boolean;
  cleanup(): void;
}

function tree(root: string, mounts: CgroupMounts): FakeTree {
  return {
    root,
    mounts,
    read: (rel) => readFileSync(path.join(root, rel), 'utf8'),
    write: (rel, text) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    },
    has: (rel) => existsSync(path.join(root, rel)),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A unified hierarchy at `<tmp>/unified` with the root files of a 6.x kernel. */
export function fakeV2(): FakeTree {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tend-fake-cg2-'));
  const t = tree(root, { mode: 'v2', unified: path.join(root, 'unified'), v1: {} });
  t.write('unified/cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n');
  t.write('unified/cgroup.subtree_control', '\n');
  t.write('unified/cgroup.procs', '1\n');
  return t;
}

/** One v1 hierarchy per controller, plus devices and an empty unified mount (hybrid). */
export function fakeHybrid(): FakeTree {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tend-fake-cg1-'));
  const v1: Record<string, string> = {};
  for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer', 'devices']) {
    v1[c] = path.join(root, c);
    mkdirSync(v1[c], { recursive: true });
    writeFileSync(path.join(v1[c], 'cgroup.procs'), '1\n');
  }
  const t = tree(root, { mode: 'hybrid', unified: path.join(root, 'unified'), v1 });
  t.write('cpuset/cpuset.cpus', '0-3\n');
  t.write('cpuset/cpuset.mems', '0\n');
  t.write('unified/cgroup.controllers', '\n');
  return t;
}

/** A pid that cannot exist (above the largest pid_max), so process.kill gives ESRCH. */
export const GONE_PID = 4194305;

/** A signaller for fake trees: records each call and answers as if the process exited at once. */
export function recordingSignaller(onSignal?: (pid: number) => void): {
  calls: number[];
  signal: (pid: number, signal: NodeJS.Signals) => void;
} {
  const calls: number[] = [];
  return {
    calls,
    signal: (pid) => {
      calls.push(pid);
      onSignal?.(pid);
    },
  };
}
