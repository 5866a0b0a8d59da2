/**
 * Limit conversions and validation shared by the v1 and v2 managers. Pure.
 */
import { TendError } from '../errors.js';
import type { CgroupLimits } from './cgroups.js';

/** Nomad `cpu` MHz to v1 cpu.shares: an integer in 2..262144. */
export function clampShares(mhz: number): number {
  if (!Number.isFinite(mhz)) return 2;
  return Math.min(262144, Math.max(2, Math.round(mhz)));
}

/** cpu.shares to cgroup v2 cpu.weight (1..10000), the way runc and systemd convert. */
export function sharesToWeight(shares: number): number {
  const s = clampShares(shares);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** pids.max value: a positive count, or "max" for 0 / negative (no limit). */
export function pidsValue(pidsMax: number): string {
  return pidsMax > 0 ? String(Math.floor(pidsMax)) : 'max';
}

/** Throws unless `id` is usable as one path segment of a cgroup. */
export function assertCgroupName(what: 'id' | 'parent', name: string): void {
  const ok =
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\0') &&
    !/\s/.test(name);
  if (!ok) {
    throw new TendError('E_CGROUP', `invalid cgroup ${what}: expected one path segment without spaces, got ${JSON.stringify(name)}`);
  }
}

/** Throws on limits that are not numbers a kernel would accept. */
export function assertLimits(id: string, limits: CgroupLimits): void {
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new TendError('E_CGROUP', `invalid cgroup limits for ${id}: expected ${field} to be ${expected}, got ${JSON.stringify(got)}`);
  };
  for (const field of ['cpuShares', 'memoryReservationBytes', 'memoryMaxBytes', 'pidsMax'] as const) {
    const v = limits[field];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) bad(field, 'a non-negative number', v);
  }
  if (limits.memoryMaxBytes !== undefined && limits.memoryMaxBytes < 4096 && limits.memoryMaxBytes !== 0) {
    bad('memoryMaxBytes', 'at least 4096 bytes', limits.memoryMaxBytes);
  }
  if (limits.cpuset !== undefined && (!Array.isArray(limits.cpuset) || limits.cpuset.some((c) => !Number.isInteger(c) || c < 0))) {
    bad('cpuset', 'a list of CPU ids', limits.cpuset);
  }
}
