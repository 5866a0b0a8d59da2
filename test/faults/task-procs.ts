/**
 * The fault tests' view of a task process: the pid its record names, proven by
 * start time and (oci) by the cgroup it sits in.
 */
import { readFileSync } from 'node:fs';
import { readStat } from '../../src/executor/proc.js';
import type { Harness } from '../e2e/agent/harness.js';

/** A task process as its record names it. */
export interface Proc {
  pid: number;
  startTime: number;
  /** oci: `/<cgroup parent>/<exec id>` (memory hierarchy, or the unified one). */
  cgroup?: string;
}

/** Every running task of `h`, by instance id. */
export function taskPids(h: Harness): Map<string, Proc> {
  const out = new Map<string, Proc>();
  for (const [id, r] of Object.entries(h.records())) {
    if (r.state !== 'running' || !r.handle) continue;
    out.set(id, { pid: r.handle.pid, startTime: r.handle.pidStartTime, ...(h.cgroupParent ? { cgroup: `/${h.cgroupParent}/${r.execId}` } : {}) });
  }
  return out;
}

/** The process runs (not a zombie) with that start time, and with oci in that cgroup. */
export function isTask(p: Proc): boolean {
  const st = readStat(p.pid);
  if (!st || st.state === 'Z' || st.startTime !== p.startTime) return false;
  if (!p.cgroup) return true;
  try {
    // `N:memory:/path` on v1 and hybrid hosts, `0::/path` on v2.
    return readFileSync(`/proc/${p.pid}/cgroup`, 'utf8')
      .split('\n')
      .some((line) => {
        const [, controllers, dir] = line.split(':');
        return (controllers === 'memory' || controllers === '') && dir === p.cgroup;
      });
  } catch {
    return false;
  }
}
