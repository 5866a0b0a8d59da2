/**
 * Turns an exec task's config, the exec plugin config and the agent's
 * chroot_env into a fully resolved ExecIsolation (or a TendError), following
 * Nomad's exec driver: `allow_caps` bounds what `cap_add` may add, the task
 * starts from Nomad's default set (bounded by allow_caps), `cap_drop` removes,
 * "all" means every capability the kernel supports. Users are checked against
 * `denied_host_uids` / `denied_host_gids` before anything starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ExecPluginConfig } from '../agent/config-model.js';
import type { ExecIsolation } from '../executor/executor.js';
import type { Task } from '../jobspec/model.js';
import { TendError } from '../errors.js';
import type { ResolvedUser } from './user.js';

/** Nomad's default allow_caps (and the default set of an exec task). */
export const NOMAD_DEFAULT_CAPS = [
  'audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod',
  'net_bind_service', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot',
] as const;

/** Nomad's default chroot_env (missing dirs are skipped at resolve time). */
export const DEFAULT_CHROOT_ENV = ['/bin', '/etc', '/lib', '/lib32', '/lib64', '/run/resolvconf', '/sbin', '/usr'];

/** Capability names by number (linux/capability.h); index = capability number. */
const CAPS_BY_NUMBER = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
  'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
  'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
  'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
];

/** "CAP_CHOWN", "Chown", "chown" → "chown". */
export function normalizeCap(name: string): string {
  return name.trim().toLowerCase().replace(/^cap_/, '');
}

/** The OCI spelling: "chown" → "CAP_CHOWN". */
export function ociCap(name: string): string {
  return `CAP_${normalizeCap(name).toUpperCase()}`;
}

/** Every capability the running kernel supports (/proc/sys/kernel/cap_last_cap). */
export function supportedCaps(capLastCapFile = '/proc/sys/kernel/cap_last_cap'): string[] {
  let last = CAPS_BY_NUMBER.length - 1;
  try {
    const n = Number(readFileSync(capLastCapFile, 'utf8').trim());
    if (Number.isInteger(n) && n >= 0) last = Math.min(n, CAPS_BY_NUMBER.length - 1);
  } catch {
    /* not Linux: assume the table */
  }
  return CAPS_BY_NUMBER.slice(0, last + 1);
}

const isAll = (xs: readonly string[]) => xs.some((c) => normalizeCap(c) === 'all');

/**
 * The effective capability set of a task, lowercase, sorted.
 * Throws E_CAPABILITY_DENIED naming every cap_add entry beyond allow_caps.
 */
export function computeCapabilities(
  allowCaps: readonly string[],
  capAdd: readonly string[],
  capDrop: readonly string[],
  supported: readonly string[] = supportedCaps(),
): string[] {
  const known = new Set(supported);
  const allowed = new Set(isAll(allowCaps) ? supported : allowCaps.map(normalizeCap));
  const adds = isAll(capAdd) ? [...supported] : capAdd.map(normalizeCap);
  const unknown = [...capAdd.map(normalizeCap), ...capDrop.map(normalizeCap)].filter((c) => c !== 'all' && !known.has(c));
  if (unknown.length) {
    throw new TendError('E_CAPABILITY_DENIED', `failed to resolve capabilities: expected capabilities this kernel supports, got ${unknown.join(', ')}`, {
      details: { unknown },
    });
  }
  const denied = adds.filter((c) => !allowed.has(c));
  if (denied.length) {
    throw new TendError('E_CAPABILITY_DENIED', `failed to resolve capabilities: cap_add ${denied.join(', ')} not allowed by the exec plugin's allow_caps`, {
      details: { denied },
    });
  }
  const caps = new Set<string>(NOMAD_DEFAULT_CAPS.filter((c) => allowed.has(c)));
  if (isAll(capDrop)) caps.clear();
  else for (const c of capDrop) caps.delete(normalizeCap(c));
  for (const c of adds) caps.add(c);
  return [...caps].sort();
}

/** Parse "0,10-15" into [[0,0],[10,15]]; throws E_CONFIG_INVALID on anything else. */
export function parseIdRanges(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new TendError('E_CONFIG_INVALID', `failed to parse id range: expected "N" or "N-M", got "${part}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new TendError('E_CONFIG_INVALID', `failed to parse id range: expected start ≤ end, got "${part}"`);
    out.push([a, b]);
  }
  return out;
}

export function inIdRanges(n: number, ranges: readonly [number, number][]): boolean {
  return ranges.some(([a, b]) => n >= a && n <= b);
}

/** Capability names in a /proc/<pid>/status mask (e.g. CapEff: 000001ffffffffff). */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return CAPS_BY_NUMBER.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** The agent's own effective capabilities (what a raw_exec task gets). */
export function processCaps(statusFile = '/proc/self/status'): string[] {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync(statusFile, 'utf8'));
    if (m) return capsFromMask(m[1]);
  } catch {
    /* not Linux */
  }
  return supportedCaps();
}

/** Refuse a user whose uid, primary gid or any group falls in the denied ranges (E_USER_DENIED). */
export function checkUser(user: ResolvedUser, config: Pick<ExecPluginConfig, 'deniedHostUids' | 'deniedHostGids'>): void {
  if (inIdRanges(user.uid, config.deniedHostUids)) {
    throw new TendError('E_USER_DENIED', `failed to check user "${user.name}": uid ${user.uid} is in denied_host_uids`, { details: { uid: user.uid } });
  }
  for (const gid of new Set([user.gid, ...(user.groups ?? [])])) {
    if (inIdRanges(gid, config.deniedHostGids)) {
      throw new TendError('E_USER_DENIED', `failed to check user "${user.name}": gid ${gid} is in denied_host_gids`, { details: { gid } });
    }
  }
}

export interface HostVolumeMount {
  source: string;
  destination: string;
  readOnly: boolean;
}

/** chroot_env with the dirs missing on this host skipped. */
export function existingChrootEnv(chrootEnv: readonly string[], exists: (p: string) => boolean = existsSync): string[] {
  return chrootEnv.filter((d) => exists(d));
}

/**
 * The IsolationResolver of the exec driver: pid/ipc modes (task overrides
 * plugin default), pivot_root, capabilities, chroot_env and host volumes.
 */
export function resolveIsolation(task: Task, config: ExecPluginConfig, chrootEnv: string[], mounts: HostVolumeMount[] = [], chrootEnvMap?: Record<string, string>): ExecIsolation {
  const dirs = existingChrootEnv(chrootEnv.length ? chrootEnv : DEFAULT_CHROOT_ENV);
  const moved = Object.entries(chrootEnvMap ?? {}).filter(([host, inside]) => inside !== host && dirs.includes(host));
  return {
    chrootEnv: dirs,
    ...(moved.length ? { chrootTargets: Object.fromEntries(moved) } : {}),
    pidMode: task.config.pidMode ?? config.defaultPidMode,
    ipcMode: task.config.ipcMode ?? config.defaultIpcMode,
    noPivotRoot: config.noPivotRoot,
    capabilities: computeCapabilities(config.allowCaps, task.config.capAdd, task.config.capDrop).map(ociCap),
    mounts: mounts.map((m) => ({ ...m })),
  };
}
