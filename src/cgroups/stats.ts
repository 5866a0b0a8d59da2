/**
 * Parsers for the text of cgroupfs stat files, and the per-id CPU meter.
 * Pure: every function takes the file contents (undefined when the file is
 * absent) so that tests feed them what a kernel shows.
 */
import type { CpuStats, MemoryStats } from './cgroups.js';

/** At or above this a v1 limit means "unlimited" (the kernel shows 9223372036854771712). */
const V1_UNLIMITED = 2 ** 62;

/** Parse "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events, oom_control, cgroup.events). */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const line of text.split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (!key || value === undefined || extra !== undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out[key] = n;
  }
  return out;
}

/** A single-number file (memory.current, cpuacct.usage, pids.current); undefined when absent or not a number. */
export function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** A limit file: "max" (v2) or the v1 page-counter maximum mean unlimited (undefined). */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === 'max') return undefined;
  const n = parseCount(text);
  return n === undefined || n >= V1_UNLIMITED ? undefined : n;
}

/** Pids listed one per line in cgroup.procs. */
export function parseProcs(text: string | undefined): number[] {
  if (!text) return [];
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!/^\d+$/.test(t)) continue;
    out.push(Number(t));
  }
  return out;
}

export interface V1MemoryFiles {
  usage?: string; // memory.usage_in_bytes
  stat?: string; // memory.stat
  maxUsage?: string; // memory.max_usage_in_bytes
  limit?: string; // memory.limit_in_bytes
}

/** Memory stats from v1 files; the hierarchical `total_*` counters win over the local ones. */
export function memoryStatsV1(files: V1MemoryFiles): MemoryStats {
  const stat = parseKeyValues(files.stat);
  const pick = (k: string) => stat[`total_${k}`] ?? stat[k] ?? 0;
  const out: MemoryStats = {
    usageBytes: parseCount(files.usage) ?? 0,
    rssBytes: pick('rss'),
    cacheBytes: pick('cache'),
    swapBytes: pick('swap'),
  };
  const maxUsage = parseCount(files.maxUsage);
  if (maxUsage !== undefined) out.maxUsageBytes = maxUsage;
  const limit = parseLimit(files.limit);
  if (limit !== undefined) out.limitBytes = limit;
  return out;
}

export interface V2MemoryFiles {
  current?: string; // memory.current
  stat?: string; // memory.stat
  swap?: string; // memory.swap.current
  peak?: string; // memory.peak (5.19+)
  max?: string; // memory.max
}

export function memoryStatsV2(files: V2MemoryFiles): MemoryStats {
  const stat = parseKeyValues(files.stat);
  const out: MemoryStats = {
    usageBytes: parseCount(files.current) ?? 0,
    rssBytes: stat.anon ?? 0,
    cacheBytes: stat.file ?? 0,
    swapBytes: parseCount(files.swap) ?? 0,
  };
  const peak = parseCount(files.peak);
  if (peak !== undefined) out.maxUsageBytes = peak;
  const limit = parseLimit(files.max);
  if (limit !== undefined) out.limitBytes = limit;
  return out;
}

/** CPU counters without the interval percent (the meter adds it). */
export type CpuCounters = Omit<CpuStats, 'percent'>;

export interface V1CpuFiles {
  cpuacctStat?: string; // cpuacct.stat: user/system in USER_HZ ticks
  cpuacctUsage?: string; // cpuacct.usage: total ns
  cpuStat?: string; // cpu.stat: nr_throttled, throttled_time (ns)
}

/** v1 CPU counters; `clockTicks` is USER_HZ (100 on Linux), converting cpuacct.stat ticks to ns. */
export function cpuStatsV1(files: V1CpuFiles, clockTicks: number): CpuCounters {
  const acct = parseKeyValues(files.cpuacctStat);
  const nsPerTick = 1e9 / clockTicks;
  const userNs = (acct.user ?? 0) * nsPerTick;
  const systemNs = (acct.system ?? 0) * nsPerTick;
  const cpu = parseKeyValues(files.cpuStat);
  return {
    userNs,
    systemNs,
    totalNs: parseCount(files.cpuacctUsage) ?? userNs + systemNs,
    throttledPeriods: cpu.nr_throttled ?? 0,
    throttledTimeNs: cpu.throttled_time ?? 0,
  };
}

/** v2 CPU counters from cpu.stat (microseconds). */
export function cpuStatsV2(cpuStat: string | undefined): CpuCounters {
  const s = parseKeyValues(cpuStat);
  return {
    userNs: (s.user_usec ?? 0) * 1000,
    systemNs: (s.system_usec ?? 0) * 1000,
    totalNs: (s.usage_usec ?? 0) * 1000,
    throttledPeriods: s.nr_throttled ?? 0,
    throttledTimeNs: (s.throttled_usec ?? 0) * 1000,
  };
}

/** `oom_kill N` from v1 memory.oom_control; undefined on kernels before 4.13 that lack the line. */
export function oomKillsFromOomControl(text: string | undefined): number | undefined {
  return parseKeyValues(text).oom_kill;
}

/** `oom_kill N` from v2 memory.events; undefined when absent. */
export function oomKillsFromEvents(text: string | undefined): number | undefined {
  return parseKeyValues(text).oom_kill;
}

/**
 * Keeps the last CPU reading per id and turns the next one into a percent of
 * one core over the elapsed wall time (0 on the first reading, or when the
 * counter went backwards because the cgroup was recreated).
 */
export class CpuMeter {
  readonly #last = new Map<string, { totalNs: number; atNs: number }>();

  /** `atNs` is a monotonic clock reading in nanoseconds. */
  sample(id: string, totalNs: number, atNs: number): number {
    const prev = this.#last.get(id);
    this.#last.set(id, { totalNs, atNs });
    if (!prev) return 0;
    const wall = atNs - prev.atNs;
    const used = totalNs - prev.totalNs;
    if (wall <= 0 || used < 0) return 0;
    return (used / wall) * 100;
  }

  forget(id: string): void {
    this.#last.delete(id);
  }
}
