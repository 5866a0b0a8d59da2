/**
 * Platform facts, detected once. No other module reads `process.platform`,
 * `/proc/self/mountinfo` or searches PATH for runtimes: they ask here.
 */
import { readFileSync, accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

export interface CgroupMounts {
  mode: CgroupMode;
  /** v2 (unified) mount point, present in v2 and hybrid modes. */
  unified?: string;
  /** v1 mount point per controller name (cpu, cpuacct, cpuset, memory, pids, freezer, …). */
  v1: Record<string, string>;
}

export interface Platform {
  os: NodeJS.Platform;
  isLinux: boolean;
  isRoot: boolean;
  uid: number;
  gid: number;
  hostname: string;
  arch: string;
  kernelName: string;
  kernelVersion: string;
  osName: string;
  osVersion: string;
  numCores: number;
  /** CPU ids the agent may hand out (online CPUs). */
  cpus: number[];
  totalMemoryBytes: number;
  cpuMhz: number;
  /** Clock ticks per second used by /proc/<pid>/stat start times. */
  clockTicks: number;
  cgroups: CgroupMounts;
  /** Absolute paths of tools found on PATH, or undefined. */
  which(name: string): string | undefined;
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** Parse /proc/self/mountinfo text into the cgroup layout. Exported for tests with fake trees. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    const fsType = right[0];
    const superOpts = right[2] ?? '';
    if (fsType === 'cgroup2') {
      if (!unified || mountPoint === '/sys/fs/cgroup') unified = mountPoint;
    } else if (fsType === 'cgroup') {
      for (const opt of superOpts.split(',')) {
        if (['rw', 'ro', 'relatime', 'noexec', 'nosuid', 'nodev'].includes(opt) || opt.startsWith('release_agent')) continue;
        if (!v1[opt]) v1[opt] = mountPoint;
      }
    }
  }
  const hasV1 = Object.keys(v1).some((k) => !k.startsWith('name='));
  const mode: CgroupMode = hasV1 ? (unified ? 'hybrid' : 'v1') : unified ? 'v2' : 'none';
  return { mode, unified, v1 };
}

function parseOnlineCpus(text: string | undefined, fallback: number): number[] {
  if (!text) return Array.from({ length: fallback }, (_, i) => i);
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

function osRelease(): { name: string; version: string } {
  const text = readText('/etc/os-release') ?? '';
  const get = (k: string) => text.match(new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm'))?.[1] ?? '';
  return { name: get('ID') || os.type().toLowerCase(), version: get('VERSION_ID') || os.release() };
}

function makeWhich(): (name: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (name) => {
    if (cache.has(name)) return cache.get(name);
    let found: string | undefined;
    if (name.includes('/')) {
      found = name;
    } else {
      const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/libexec/podman']);
      for (const d of dirs) {
        if (!d) continue;
        const p = path.join(d, name);
        try {
          accessSync(p, constants.X_OK);
          found = p;
          break;
        } catch {
          /* keep looking */
        }
      }
    }
    cache.set(name, found);
    return found;
  };
}

function detect(): Platform {
  const isLinux = process.platform === 'linux';
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const rel = osRelease();
  const cpus = os.cpus();
  return {
    os: process.platform,
    isLinux,
    isRoot: uid === 0,
    uid,
    gid,
    hostname: os.hostname(),
    arch: os.arch() === 'x64' ? 'amd64' : os.arch(),
    kernelName: os.type().toLowerCase(),
    kernelVersion: os.release(),
    osName: rel.name,
    osVersion: rel.version,
    numCores: cpus.length,
    cpus: parseOnlineCpus(readText('/sys/devices/system/cpu/online'), cpus.length),
    totalMemoryBytes: os.totalmem(),
    cpuMhz: cpus[0]?.speed || 1000,
    clockTicks: 100,
    cgroups: isLinux ? parseCgroupMounts(readText('/proc/self/mountinfo') ?? '') : { mode: 'none', v1: {} },
    which: makeWhich(),
  };
}

let cached: Platform | undefined;

/** The platform facts of this process, detected on first use. */
export function platform(): Platform {
  cached ??= detect();
  return cached;
}
