/**
 * Platform facts, detected once. No other module reads `process.platform`,
 * `/proc/self/mountinfo` or searches PATH for runtimes: they ask here.
 *
 * The cgroup layout is found lazily (on first use of `platform().cgroups`)
 * and cheaply: the hierarchies listed in /proc/self/cgroup are looked for at
 * their conventional mount points under /sys/fs/cgroup with statfs (as runc
 * does). Only when one is not there is the mount table read, because on a host
 * with a huge mount table (tens of thousands of entries) reading it takes
 * seconds of kernel time, and /proc/self/mounts costs the same.
 */
import { readFileSync, accessSync, constants, statfsSync } from 'node:fs';
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
  /** The cgroup layout, detected on first access (see the file comment). */
  readonly cgroups: CgroupMounts;
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
  return { mode: cgroupMode(v1, unified), unified, v1 };
}

/** statfs f_type values (linux/magic.h). */
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** What the fast cgroup detection reads; injectable for tests with fake trees. */
export interface CgroupProbe {
  /** Text of /proc/self/cgroup, or undefined when unreadable. */
  procCgroup(): string | undefined;
  /** statfs f_type of a path, or undefined when it does not exist. */
  fsType(p: string): number | undefined;
}

const hostProbe: CgroupProbe = {
  procCgroup: () => readText('/proc/self/cgroup'),
  fsType(p) {
    try {
      return Number(statfsSync(p).type);
    } catch {
      return undefined;
    }
  },
};

/**
 * The cgroup layout from the conventional mount points, without the mount
 * table: every hierarchy of /proc/self/cgroup (`ID:controllers:path`) must be
 * a cgroup (v1) mount at /sys/fs/cgroup/<controllers> (or /<controller>, or
 * /<name> for `name=<name>`), and the unified one (`0::path`) a cgroup2 mount
 * at /sys/fs/cgroup or /sys/fs/cgroup/unified. Returns undefined when any is
 * missing, so that the caller falls back to the mount table.
 */
export function probeCgroupMounts(probe: CgroupProbe = hostProbe, root = '/sys/fs/cgroup'): CgroupMounts | undefined {
  const text = probe.procCgroup();
  if (text === undefined) return undefined;
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  const lines = text
    .split('\n')
    .map((line) => /^(\d+):([^:]*):/.exec(line))
    .filter((m) => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1])); // hierarchy id order, as they are usually mounted
  for (const m of lines) {
    if (m[1] === '0' && m[2] === '') {
      unified = [root, path.join(root, 'unified')].find((p) => probe.fsType(p) === CGROUP2_SUPER_MAGIC);
      if (!unified) return undefined;
      continue;
    }
    const names = m[2].split(',').filter(Boolean);
    if (!names.length) return undefined;
    const dirs = [m[2], ...names].map((n) => path.join(root, n.replace(/^name=/, '')));
    const mountPoint = dirs.find((d) => probe.fsType(d) === CGROUP_SUPER_MAGIC);
    if (!mountPoint) return undefined;
    for (const n of names) v1[n] ??= mountPoint;
  }
  return { mode: cgroupMode(v1, unified), unified, v1 };
}

function cgroupMode(v1: Record<string, string>, unified: string | undefined): CgroupMode {
  const hasV1 = Object.keys(v1).some((k) => !k.startsWith('name='));
  return hasV1 ? (unified ? 'hybrid' : 'v1') : unified ? 'v2' : 'none';
}

/** The fast probe, else the mount table. */
function detectCgroups(): CgroupMounts {
  return probeCgroupMounts() ?? parseCgroupMounts(readText('/proc/self/mountinfo') ?? '');
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
  let cgroups: CgroupMounts | undefined;
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
    get cgroups(): CgroupMounts {
      cgroups ??= isLinux ? detectCgroups() : { mode: 'none', v1: {} };
      return cgroups;
    },
    which: makeWhich(),
  };
}

let cached: Platform | undefined;

/** The platform facts of this process, detected on first use. */
export function platform(): Platform {
  cached ??= detect();
  return cached;
}
