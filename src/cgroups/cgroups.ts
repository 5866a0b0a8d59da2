/**
 * The cgroup manager contract. It owns tend's subtree (one parent cgroup,
 * one child per task) on v1, hybrid and v2 hosts, and knows nothing of OCI,
 * jobs or drivers: callers name a cgroup by a task id (a string safe as a path
 * segment) and hand it limits.
 *
 * Layout: v2 → `<unified>/<parent>/<id>`; v1 → `<controller mount>/<parent>/<id>`
 * in every controller tend uses (cpu, cpuacct, cpuset, memory, pids, freezer).
 * In hybrid mode limits live in v1 (as runc does) and the v2 tree is left alone
 * except by destroy (runc joins it too).
 *
 * With an OCI runtime (the order the OCI executor must use; proven with runc
 * 1.1.5 on a hybrid Debian 12 host by test/e2e/cgroups/runc-join.test.ts):
 *   1. `create(id, limits)`: the cgroup exists with every limit and its cpuset
 *      (exclusive cores or the shared pool) before the task's first instruction.
 *   2. Run the bundle with `linux.cgroupsPath = cgroupsPath(id)` and no
 *      `linux.resources` limits (devices rules are the executor's business).
 *      runc joins the existing dirs, writes no limit of its own (cpu.shares,
 *      memory, memsw, pids, cpuset stay as the manager set them) and adds dirs
 *      in the hierarchies the manager does not use (devices, blkio,
 *      name=systemd, unified): `allPaths(id)` lists them all.
 *   3. Resource changes: `update(id, …)`, never `runc update` (one writer).
 *   4. Stop: after the kill_signal grace, `destroy(id)` (kills every process,
 *      also ones that double-forked or setsid'd away from the init), then
 *      `runc delete`: it succeeds on the removed cgroup, only logging
 *      warnings about the missing freezer.state and devices dir.
 * The other order (runc creates, then `update`) also works with runc 1.1.5,
 * but the task runs unlimited until the update and its cpuset is a copy of the
 * parent's (every CPU, exclusive cores included) unless `update` is given one.
 */
import type { CgroupMode } from '../platform.js';

export type { CgroupMode };

/**
 * Limits for one task. Omitted fields are left as they are (on update) or unlimited (on create).
 * 0 for memoryReservationBytes, memoryMaxBytes or pidsMax means "no limit". A hard memory limit
 * also caps swap (memsw / memory.swap.max): tasks do not swap past it, as in Nomad.
 */
export interface CgroupLimits {
  /** Nomad `cpu` in MHz; mapped to cpu.shares (v1, = MHz, min 2) / cpu.weight (v2, scaled 1..10000). */
  cpuShares?: number;
  /**
   * Exclusive CPUs from the cpuset allocator (`cores`); unset = the shared pool. The manager records
   * them in `cpusets` (adopt) and moves the tasks on the shared pool off them; on update, `[]` returns
   * the task to the shared pool.
   */
  cpuset?: number[];
  /** Soft limit: memory.soft_limit_in_bytes (v1) / memory.low (v2). */
  memoryReservationBytes?: number;
  /** Hard limit: memory.limit_in_bytes (v1) / memory.max (v2). */
  memoryMaxBytes?: number;
  /** pids.max; a fork bomb stays inside its task. */
  pidsMax?: number;
}

export interface MemoryStats {
  usageBytes: number;
  rssBytes: number; // v1 rss, v2 anon
  cacheBytes: number; // v1 cache, v2 file
  swapBytes: number;
  /** Peak usage where the kernel records it (v1 max_usage_in_bytes, v2 memory.peak). */
  maxUsageBytes?: number;
  limitBytes?: number;
}

export interface CpuStats {
  userNs: number;
  systemNs: number;
  totalNs: number;
  throttledPeriods: number;
  throttledTimeNs: number;
  /** Percent of one core over the interval since the previous stats() call for this id (0 on first call). */
  percent: number;
}

export interface CgroupStats {
  memory: MemoryStats;
  cpu: CpuStats;
  pids: number;
  at: number; // Date.now() of the reading
}

export interface CgroupManager {
  readonly mode: CgroupMode;
  /** Name of tend's parent cgroup (the agent's default: `tend-<hash of the data dir>`, one per data dir). */
  readonly parent: string;
  /** Check that the controllers tend needs are present and writable; the reason when not. */
  check(): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** The value for an OCI spec's linux.cgroupsPath (cgroupfs style, absolute: `/<parent>/<id>`). */
  cgroupsPath(id: string): string;
  /** Directories of this task's cgroup (one per v1 controller, or the single v2 dir). */
  paths(id: string): string[];
  /**
   * Every directory the task's cgroup may have on this host, whether or not it exists: `paths(id)`
   * plus one per other mounted hierarchy (v1 devices, blkio, name=systemd, …, and the unified tree
   * on hybrid hosts), which is where runc puts a container it joins to `cgroupsPath(id)`. `destroy`
   * removes all of them; tests walk them to prove nothing is left. v2: the single dir.
   */
  allPaths(id: string): string[];
  /** Create the task's cgroup (idempotent) and apply limits. */
  create(id: string, limits: CgroupLimits): Promise<void>;
  /** Change limits in place. */
  update(id: string, limits: CgroupLimits): Promise<void>;
  /** Move a process into the task's cgroup (used by the plain executor on root hosts, and exec). */
  addProcess(id: string, pid: number): Promise<void>;
  /** Pids currently in the cgroup (recursive). */
  pids(id: string): Promise<number[]>;
  stats(id: string): Promise<CgroupStats>;
  /**
   * Number of OOM kills recorded for this cgroup (v1 memory.oom_control oom_kill, v2 memory.events
   * oom_kill). The count lives in the cgroup: read it when the task exits and before `destroy`; a
   * count above the one read at start means the exit was an OOM kill.
   */
  oomKills(id: string): Promise<number>;
  /**
   * Freeze, kill every process, wait until empty, remove. Idempotent; fine on a cgroup that is gone.
   * Removes the task's directory in every mounted hierarchy (runc also joins devices, blkio,
   * name=systemd and, on hybrid hosts, the unified tree) and releases its exclusive CPUs.
   */
  destroy(id: string, opts?: { timeoutMs?: number }): Promise<void>;
  /** Ids of task cgroups under tend's parent. */
  list(): Promise<string[]>;
  /**
   * Destroy every task cgroup whose id is not in `keep`; returns the ids destroyed. Only for a parent
   * nothing else uses (tests): the agent's startup gc never calls it, since a parent may be shared
   * (an explicit `oci.cgroup_parent` on two agents); it destroys ids from its own records instead.
   */
  gc(keep: ReadonlySet<string>): Promise<string[]>;
  /** Exclusive cores. */
  readonly cpusets: CpusetAllocator;
}

/** Hands out exclusive CPUs from the node's cores minus the reserved ones. */
export interface CpusetAllocator {
  /** The CPUs that can be handed out. */
  readonly available: readonly number[];
  /** Reserve `count` CPUs for `id` (idempotent for the same id and count); throws when not enough are free. */
  reserve(id: string, count: number): number[];
  /** Record an existing assignment (after an agent restart). */
  adopt(id: string, cpus: number[]): void;
  release(id: string): void;
  /** CPUs not held by any task (the shared pool for tasks without `cores`). */
  shared(): number[];
  assignments(): Record<string, number[]>;
}

export interface CgroupManagerOptions {
  parent?: string; // default "tend"
  /** Root of a fake cgroupfs for tests: paths are resolved under it and `mounts` is used as is. */
  mounts?: import('../platform.js').CgroupMounts;
  /** CPUs the agent keeps for itself (client.reserved.cores). */
  reservedCores?: number[];
  /** All CPUs of the node (default: platform().cpus). */
  cpus?: number[];
  /**
   * Sends a signal to one process during destroy (default `process.kill`). An error with code
   * ESRCH means the process is gone. Tests on a fake tree inject one.
   */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
  /** How often destroy polls the freeze state and the remaining processes, in ms (default 5). */
  pollIntervalMs?: number;
  /**
   * The agent's logger (default: silent); the manager logs through a child `{ component: 'cgroups' }`:
   * gc at info, each destroy at debug (id, processes killed, ms).
   */
  logger?: import('pino').Logger;
}
