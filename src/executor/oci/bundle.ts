/**
 * Builds a task's OCI runtime spec (config.json). Two shapes:
 *  - exec: an empty read-only root with read-only bind mounts of chroot_env,
 *    the task's alloc/local/secrets/tmp dirs, /proc, /dev, /sys; mount, pid
 *    and ipc namespaces (pid/ipc per the isolation), a bounded capability set,
 *    no_new_privs, runc's masked and read-only /proc paths;
 *  - raw_exec (host mode): a root built from binds of the host's top-level
 *    entries in a mount namespace of its own, no other namespaces, no
 *    hostname, the agent's capabilities: the host's view, in its own cgroup.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { processCaps, ociCap } from '../../drivers/exec-isolation.js';
import type { LaunchSpec, TaskResources } from '../executor.js';

/** runc's default masked paths (`runc spec`). */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
];
/** runc's default read-only paths. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface OciMount {
  destination: string;
  type?: string;
  source: string;
  options?: string[];
}

/** The subset of the OCI runtime spec tend writes. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities?: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits?: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
    /** Always 0: a task never inherits the agent's (conmon's, runc's) protection from the OOM killer. */
    oomScoreAdj: number;
  };
  root: { path: string; readonly: boolean };
  mounts: OciMount[];
  linux: {
    cgroupsPath?: string;
    resources?: OciResources;
    namespaces: { type: string }[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

export interface OciResources {
  devices?: { allow: boolean; access: string; type?: string }[];
  cpu?: { shares?: number; cpus?: string };
  memory?: { limit?: number; reservation?: number };
  pids?: { limit: number };
}

/** A top-level entry of the host's "/": directories and files are bound, symlinks recreated. */
export interface HostEntry {
  name: string;
  kind: 'dir' | 'file' | 'symlink';
  /** Link target, for symlinks. */
  target?: string;
}

/** The host's top-level entries (what a host-mode root is built from). */
export function hostRootEntries(root = '/'): HostEntry[] {
  const out: HostEntry[] = [];
  for (const d of readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, d.name);
    if (d.isSymbolicLink()) out.push({ name: d.name, kind: 'symlink', target: readlinkSync(p) });
    else if (d.isDirectory()) out.push({ name: d.name, kind: 'dir' });
    else if (d.isFile()) out.push({ name: d.name, kind: 'file' });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The mounts of a host-mode root: every top-level dir and file of the host bound
 * (rbind, rw) into an empty root in the task's own mount namespace. runc cannot use
 * "/" itself as the root: it binds the root onto itself (in the host's table when
 * there is no mount namespace, doubling it on every launch) and pivot_root of "/"
 * fails with EBUSY.
 */
export function hostMounts(entries: readonly HostEntry[]): OciMount[] {
  return entries
    .filter((e) => e.kind !== 'symlink')
    .map((e) => ({ destination: `/${e.name}`, type: 'bind', source: `/${e.name}`, options: ['rbind', 'rw'] }));
}

export interface BundleOptions {
  /** Host-mode roots: the host's top-level entries (default: read from "/"). */
  hostEntries?: HostEntry[];
  /** linux.cgroupsPath, from the cgroup manager; undefined = runc's default. */
  cgroupsPath?: string;
  /** Default pids.max when the task sets none. */
  pidsLimit: number;
}

/** linux.resources for the task's limits (cpu shares, memory, pids, exclusive cpus). */
export function ociResources(r: TaskResources, defaultPidsLimit: number): OciResources {
  const out: OciResources = {
    cpu: { shares: Math.max(2, Math.round(r.cpuShares)) },
    memory: {},
    pids: { limit: r.pidsLimit ?? defaultPidsLimit },
  };
  if (r.memoryMaxBytes > 0) out.memory!.limit = r.memoryMaxBytes;
  if (r.memoryBytes > 0) out.memory!.reservation = Math.min(r.memoryBytes, r.memoryMaxBytes > 0 ? r.memoryMaxBytes : r.memoryBytes);
  if (r.cores?.length) out.cpu!.cpus = r.cores.join(',');
  return out;
}

/** RLIMIT_NOFILE of the agent (a task cannot be given more than the agent holds). */
export function nofileLimit(limitsText?: string): { type: string; hard: number; soft: number } {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      text = '';
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  const n = (v: string | undefined, d: number) => (v === undefined || v === 'unlimited' ? d : Number(v));
  const hard = n(m?.[2], 1024);
  return { type: 'RLIMIT_NOFILE', hard, soft: Math.min(n(m?.[1], 1024), hard) };
}

function envList(env: Record<string, string>): string[] {
  const merged = { PATH: DEFAULT_PATH, ...env };
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

/** The mounts of an exec root: chroot_env ro binds, the task dirs, pseudo filesystems, host volumes. */
export function execMounts(spec: LaunchSpec): OciMount[] {
  const iso = spec.isolation!;
  const mounts: OciMount[] = iso.chrootEnv.map((dir) => ({ destination: iso.chrootTargets?.[dir] ?? dir, type: 'bind', source: dir, options: ['rbind', 'ro', 'nosuid', 'nodev'] }));
  mounts.push(
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  );
  if (iso.ipcMode === 'private') mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  mounts.push(
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/alloc', type: 'bind', source: spec.allocDir, options: ['rbind', 'rw', 'nosuid', 'nodev'] },
    logsMount(spec, '/alloc/logs'),
    { destination: '/local', type: 'bind', source: path.join(spec.taskDir, 'local'), options: ['rbind', 'rw', 'nosuid', 'nodev'] },
    { destination: '/secrets', type: 'bind', source: path.join(spec.taskDir, 'secrets'), options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] },
    { destination: '/tmp', type: 'bind', source: path.join(spec.taskDir, 'tmp'), options: ['rbind', 'rw', 'nosuid', 'nodev'] },
  );
  for (const m of iso.mounts) {
    mounts.push({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.readOnly ? 'ro' : 'rw', 'nosuid', 'nodev'] });
  }
  return mounts;
}

/**
 * The task's log dir (agent-only on the host) shown read-only where Nomad
 * puts it, `alloc/logs`: the task reads its own and its siblings' logs but
 * can neither write them nor plant a link the agent would follow.
 */
export function logsMount(spec: Pick<LaunchSpec, 'logDir'>, destination: string): OciMount {
  return { destination, type: 'bind', source: spec.logDir, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] };
}

/** The full OCI spec of a task. `rootfs` is the exec root dir (ignored in host mode). */
export function buildSpec(spec: LaunchSpec, rootfs: string, opts: BundleOptions): OciSpec {
  const user = spec.user ? { uid: spec.user.uid, gid: spec.user.gid, additionalGids: spec.user.groups?.filter((g) => g !== spec.user!.gid) } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (user.additionalGids !== undefined && user.additionalGids.length === 0) delete user.additionalGids;
  const resources: OciResources = spec.noCgroups ? {} : ociResources(spec.resources, opts.pidsLimit);
  const rlimits = [nofileLimit()];

  if (!spec.isolation) {
    const all = processCaps().map(ociCap);
    return {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user,
        args: [spec.command, ...spec.args],
        env: envList(spec.env),
        cwd: spec.cwd || '/',
        capabilities: { bounding: all, effective: all, permitted: all },
        rlimits,
        noNewPrivileges: false,
        oomScoreAdj: 0,
      },
      root: { path: rootfs, readonly: false },
      mounts: [...hostMounts(opts.hostEntries ?? hostRootEntries()), logsMount(spec, path.join(spec.allocDir, 'logs'))],
      linux: {
        cgroupsPath: opts.cgroupsPath,
        resources: { ...resources, devices: [{ allow: true, access: 'rwm' }] },
        namespaces: [{ type: 'mount' }],
      },
    };
  }

  const iso = spec.isolation;
  const namespaces = [{ type: 'mount' }];
  if (iso.pidMode === 'private') namespaces.push({ type: 'pid' });
  if (iso.ipcMode === 'private') namespaces.push({ type: 'ipc' });
  // A task cannot be given what the agent itself lacks (runc would fail with EPERM).
  const held = new Set(processCaps().map(ociCap));
  const caps = iso.capabilities.map(ociCap).filter((c) => held.has(c));
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user,
      args: [spec.command, ...spec.args],
      env: envList(spec.env),
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits,
      noNewPrivileges: true,
      oomScoreAdj: 0,
    },
    root: { path: rootfs, readonly: true },
    mounts: execMounts(spec),
    linux: {
      cgroupsPath: opts.cgroupsPath,
      resources: { ...resources, devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

/**
 * Write `<bundle>/config.json` and the empty `<bundle>/rootfs` (for a host-mode
 * root, with the host's top-level symlinks recreated, e.g. /bin -> usr/bin).
 */
export async function writeBundle(bundle: string, spec: OciSpec, symlinks: readonly HostEntry[] = []): Promise<void> {
  await rm(bundle, { recursive: true, force: true });
  await mkdir(bundle, { recursive: true, mode: 0o700 });
  await mkdir(spec.root.path, { recursive: true, mode: 0o755 });
  for (const l of symlinks) if (l.kind === 'symlink' && l.target) await symlink(l.target, path.join(spec.root.path, l.name));
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 1), { mode: 0o600 });
}
