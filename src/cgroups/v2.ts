/**
 * The cgroup manager on unified (v2) hosts: one directory per task,
 * `<unified>/<parent>/<id>`, with the controllers tend needs enabled in
 * cgroup.subtree_control of the root and of the parent.
 */
import path from 'node:path';
import { errnoCode, TendError } from '../errors.js';
import type { CgroupLimits, CgroupManager, CgroupMode, CgroupStats, CpusetAllocator } from './cgroups.js';
import { cgroupError, childDirs, ensureDir, exists, hasErrno, readOptional, readProcsRecursive, removeTree, setValue, writeIfPresent, writeValue } from './cgroupfs.js';
import { checkReason, DEFAULT_DESTROY_TIMEOUT_MS, DestroyQueue, gcCgroups, notFound, type ManagerContext } from './common.js';
import { formatCpuList } from './cpuset.js';
import { assertCgroupName, assertLimits, pidsValue, sharesToWeight } from './limits.js';
import { CpuMeter, cpuStatsV2, memoryStatsV2, oomKillsFromEvents, parseCount, parseKeyValues } from './stats.js';
import { teardown } from './teardown.js';

/** The controllers tend enables for its subtree. */
export const V2_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids'] as const;

function parseControllers(text: string | undefined): string[] {
  return (text ?? '')
    .split(/\s+/)
    .map((t) => t.replace(/^\+/, ''))
    .filter(Boolean);
}

export class CgroupsV2 implements CgroupManager {
  readonly mode: CgroupMode;
  readonly parent: string;
  readonly cpusets: CpusetAllocator;
  readonly #ctx: ManagerContext;
  readonly #meter = new CpuMeter();
  readonly #destroys = new DestroyQueue();

  constructor(ctx: ManagerContext) {
    this.#ctx = ctx;
    this.mode = ctx.mounts.mode;
    this.parent = ctx.parent;
    this.cpusets = ctx.cpusets;
  }

  async check(): Promise<{ ok: true } | { ok: false; reason: string }> {
    const unified = this.#ctx.mounts.unified;
    if (!unified) return { ok: false, reason: 'cgroup2 is not mounted' };
    const file = path.join(unified, 'cgroup.controllers');
    const available = parseControllers(await readOptional(file));
    const missing = V2_CONTROLLERS.find((c) => !available.includes(c));
    if (missing) return { ok: false, reason: `cgroup controller ${missing} not available in ${file}` };
    try {
      await this.#ensureParent();
    } catch (err) {
      return { ok: false, reason: checkReason(err, this.#ctx.isRoot) };
    }
    return { ok: true };
  }

  cgroupsPath(id: string): string {
    assertCgroupName('id', id);
    return `/${this.parent}/${id}`;
  }

  paths(id: string): string[] {
    return [this.#dir(id)];
  }

  allPaths(id: string): string[] {
    return [this.#dir(id)];
  }

  async create(id: string, limits: CgroupLimits): Promise<void> {
    assertCgroupName('id', id);
    assertLimits(id, limits);
    await this.#destroys.settle(id);
    const enabled = await this.#ensureParent();
    const dir = this.#dir(id);
    const heldBefore = this.#ctx.pool.isExclusive(id);
    const existed = await exists(dir);
    try {
      await ensureDir(dir, `cgroup ${id}`);
      const hasCpuset = enabled.includes('cpuset');
      if (!hasCpuset && limits.cpuset?.length) throw this.#noCpuset(id);
      const cpus = this.#ctx.pool.onCreate(id, limits.cpuset);
      if (hasCpuset) await setValue(path.join(dir, 'cpuset.cpus'), formatCpuList(cpus), `set cpuset of cgroup ${id}`);
      await this.#apply(id, limits);
      await this.#syncShared(id);
    } catch (err) {
      if (!existed) {
        if (!heldBefore) this.#ctx.pool.onDestroy(id);
        await removeTree(dir).catch(() => undefined);
      }
      throw err;
    }
  }

  async update(id: string, limits: CgroupLimits): Promise<void> {
    assertCgroupName('id', id);
    assertLimits(id, limits);
    const dir = this.#dir(id);
    if (!(await exists(dir))) throw notFound(id, 'update', dir);
    const hasCpuset = limits.cpuset !== undefined && (await this.#cpusetEnabled());
    if (!hasCpuset && limits.cpuset?.length) throw this.#noCpuset(id);
    const cpus = this.#ctx.pool.onUpdate(id, limits.cpuset);
    if (cpus && hasCpuset) await setValue(path.join(dir, 'cpuset.cpus'), formatCpuList(cpus), `set cpuset of cgroup ${id}`);
    await this.#apply(id, limits);
    await this.#syncShared(id);
  }

  async addProcess(id: string, pid: number): Promise<void> {
    const dir = this.#dir(id);
    if (!(await exists(dir))) throw notFound(id, `add process ${pid} to`, dir);
    await setValue(path.join(dir, 'cgroup.procs'), pid, `add process ${pid} to cgroup ${id}`);
  }

  async pids(id: string): Promise<number[]> {
    return [...new Set(await readProcsRecursive(this.#dir(id)))].sort((a, b) => a - b);
  }

  async stats(id: string): Promise<CgroupStats> {
    const dir = this.#dir(id);
    if (!(await exists(dir))) throw notFound(id, 'read stats of', dir);
    const read = (file: string) => readOptional(path.join(dir, file));
    const [current, stat, swap, peak, max, cpuStat, pidsCurrent] = await Promise.all([
      read('memory.current'),
      read('memory.stat'),
      read('memory.swap.current'),
      read('memory.peak'),
      read('memory.max'),
      read('cpu.stat'),
      read('pids.current'),
    ]);
    const at = Date.now();
    const counters = cpuStatsV2(cpuStat);
    const percent = this.#meter.sample(id, counters.totalNs, Number(process.hrtime.bigint()));
    return {
      memory: memoryStatsV2({ current, stat, swap, peak, max }),
      cpu: { ...counters, percent },
      pids: parseCount(pidsCurrent) ?? (await this.pids(id)).length,
      at,
    };
  }

  async oomKills(id: string): Promise<number> {
    const dir = this.#dir(id);
    const events = await readOptional(path.join(dir, 'memory.events'));
    if (events === undefined && !(await exists(dir))) throw notFound(id, 'read OOM kills of', dir);
    return oomKillsFromEvents(events) ?? 0;
  }

  destroy(id: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const dir = this.#dir(id);
    const file = (name: string) => path.join(dir, name);
    return this.#destroys.run(id, async () => {
      const started = performance.now();
      const done = await teardown(
        {
          dirs: [dir],
          killAll: () => writeIfPresent(file('cgroup.kill'), 1),
          freeze: () => writeIfPresent(file('cgroup.freeze'), 1),
          // Without cgroup.events there is nothing to wait on: go on to the kill.
          isFrozen: async () => {
            const events = await readOptional(file('cgroup.events'));
            return events === undefined || parseKeyValues(events).frozen === 1;
          },
          thaw: async () => {
            await writeIfPresent(file('cgroup.freeze'), 0);
          },
        },
        { id, timeoutMs: opts.timeoutMs ?? DEFAULT_DESTROY_TIMEOUT_MS, intervalMs: this.#ctx.pollIntervalMs, signal: this.#ctx.signal },
      );
      this.#meter.forget(id);
      this.#ctx.log.debug({ id, ...done, ms: Math.round(performance.now() - started) }, 'cgroup destroyed');
      this.#ctx.pool.onDestroy(id);
      await this.#syncShared(undefined);
    });
  }

  async list(): Promise<string[]> {
    return (await childDirs(this.#parentDir())).sort();
  }

  async gc(keep: ReadonlySet<string>): Promise<string[]> {
    return gcCgroups(await this.list(), keep, (id) => this.destroy(id), this.#ctx.log);
  }

  #unified(): string {
    const u = this.#ctx.mounts.unified;
    if (!u) throw new TendError('E_CGROUP', 'failed to use cgroup2: not mounted');
    return u;
  }

  #parentDir(): string {
    return path.join(this.#unified(), this.parent);
  }

  #dir(id: string): string {
    assertCgroupName('id', id);
    return path.join(this.#parentDir(), id);
  }

  /** Whether tend's children get the cpuset controller (the parent's cgroup.subtree_control has it). */
  async #cpusetEnabled(): Promise<boolean> {
    return parseControllers(await readOptional(path.join(this.#parentDir(), 'cgroup.subtree_control'))).includes('cpuset');
  }

  #noCpuset(id: string): TendError {
    const file = path.join(this.#parentDir(), 'cgroup.subtree_control');
    return new TendError('E_CGROUP', `failed to set cpuset of cgroup ${id}: the cpuset controller is not enabled in ${file}`, { details: { id, file } });
  }

  /** Create the parent and enable tend's controllers down to it; returns the controllers its children get. */
  async #ensureParent(): Promise<string[]> {
    const root = this.#unified();
    const parentDir = this.#parentDir();
    await ensureDir(parentDir, `tend's parent cgroup`);
    const rootControllers = parseControllers(await readOptional(path.join(root, 'cgroup.controllers')));
    const wanted = V2_CONTROLLERS.filter((c) => rootControllers.includes(c));
    await this.#enable(root, wanted);
    // In a fake tree the parent has no cgroup.controllers: assume what the root handed down.
    const handed = await readOptional(path.join(parentDir, 'cgroup.controllers'));
    const atParent = handed === undefined ? wanted : wanted.filter((c) => parseControllers(handed).includes(c));
    await this.#enable(parentDir, atParent);
    return atParent;
  }

  async #enable(dir: string, controllers: readonly string[]): Promise<void> {
    const file = path.join(dir, 'cgroup.subtree_control');
    const on = parseControllers(await readOptional(file));
    const missing = controllers.filter((c) => !on.includes(c));
    if (missing.length === 0) return;
    await setValue(file, missing.map((c) => `+${c}`).join(' '), `enable controllers ${missing.join(', ')} in ${dir}`);
  }

  async #apply(id: string, limits: CgroupLimits): Promise<void> {
    const dir = this.#dir(id);
    const file = (name: string) => path.join(dir, name);
    if (limits.cpuShares !== undefined) {
      await setValue(file('cpu.weight'), sharesToWeight(limits.cpuShares), `set cpu weight of cgroup ${id}`);
    }
    if (limits.memoryMaxBytes !== undefined) await this.#setMemoryMax(id, limits.memoryMaxBytes);
    if (limits.memoryReservationBytes !== undefined) {
      await setValue(file('memory.low'), Math.max(0, limits.memoryReservationBytes), `set memory reservation of cgroup ${id}`);
    }
    if (limits.pidsMax !== undefined) await setValue(file('pids.max'), pidsValue(limits.pidsMax), `set pids limit of cgroup ${id}`);
  }

  /**
   * memory.max (and memory.swap.max = 0 when the limit is set: no swap, as
   * Nomad does). v2 OOM-kills when memory.max is cut below what cannot be
   * reclaimed; v1 answers EBUSY. To behave like v1, a cut below current usage
   * first asks the kernel to reclaim (memory.reclaim) and is refused with
   * EBUSY, old limit kept, if non-file memory still exceeds the new limit.
   */
  async #setMemoryMax(id: string, bytes: number): Promise<void> {
    const dir = this.#dir(id);
    const file = (name: string) => path.join(dir, name);
    const action = `set memory limit of cgroup ${id} to ${bytes > 0 ? `${bytes} bytes` : 'unlimited'}`;
    if (bytes > 0) await this.#assertReclaimable(id, bytes, action);
    await setValue(file('memory.max'), bytes > 0 ? bytes : 'max', action);
    try {
      await writeIfPresent(file('memory.swap.max'), bytes > 0 ? 0 : 'max');
    } catch (err) {
      throw cgroupError(`set swap limit of cgroup ${id}`, file('memory.swap.max'), err);
    }
  }

  async #assertReclaimable(id: string, bytes: number, action: string): Promise<void> {
    const file = (name: string) => path.join(this.#dir(id), name);
    let usage = parseCount(await readOptional(file('memory.current')));
    if (usage === undefined || usage <= bytes) return;
    try {
      if (await writeIfPresent(file('memory.reclaim'), usage - bytes)) usage = parseCount(await readOptional(file('memory.current'))) ?? 0;
    } catch (err) {
      if (errnoCode(err) !== 'EAGAIN') throw cgroupError(`reclaim memory of cgroup ${id}`, file('memory.reclaim'), err);
      usage = parseCount(await readOptional(file('memory.current'))) ?? 0;
    }
    const fileBacked = parseKeyValues(await readOptional(file('memory.stat'))).file ?? 0;
    if (usage - fileBacked > bytes) {
      throw new TendError('E_CGROUP', `failed to ${action}: the task uses ${usage} bytes and cannot be reclaimed below the new limit (EBUSY); the old limit stays`, {
        details: { id, file: file('memory.max'), errno: 'EBUSY', usage },
      });
    }
  }

  /**
   * Give every task on the shared pool the current shared CPUs when they changed since the last
   * sync (exclusive cores stay exclusive); `except` already has them.
   */
  async #syncShared(except: string | undefined): Promise<void> {
    const pool = this.#ctx.pool;
    if (!pool.needsSync() || !(await this.#cpusetEnabled())) return;
    const shared = pool.shared();
    const cpus = formatCpuList(shared);
    for (const other of pool.sharedIds(await this.list())) {
      if (other === except) continue;
      const target = path.join(this.#dir(other), 'cpuset.cpus');
      try {
        await writeValue(target, cpus);
      } catch (err) {
        if (!hasErrno(err, 'ENOENT')) throw cgroupError(`set shared cpuset of cgroup ${other}`, target, err);
      }
    }
    pool.markSynced(shared);
  }
}
