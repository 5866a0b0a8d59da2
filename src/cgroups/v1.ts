/**
 * The cgroup manager on v1 and hybrid hosts: one directory per controller
 * (`<mount>/<parent>/<id>`). In hybrid mode limits live in v1, as runc puts
 * them; the unified tree is only cleaned up (runc joins it too).
 */
import path from 'node:path';
import { TendError } from '../errors.js';
import type { CgroupLimits, CgroupManager, CgroupMode, CgroupStats, CpusetAllocator } from './cgroups.js';
import { cgroupError, childDirs, ensureDir, exists, hasErrno, readOptional, readProcsUnion, removeTree, setValue, writeValue } from './cgroupfs.js';
import { checkReason, DEFAULT_DESTROY_TIMEOUT_MS, DestroyQueue, gcCgroups, notFound, unique, type ManagerContext } from './common.js';
import { formatCpuList } from './cpuset.js';
import { assertCgroupName, assertLimits, clampShares, pidsValue } from './limits.js';
import { CpuMeter, cpuStatsV1, memoryStatsV1, oomKillsFromEvents, oomKillsFromOomControl, parseCount, parseLimit } from './stats.js';
import { teardown } from './teardown.js';

/** The controllers tend creates a task cgroup in. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer'] as const;
type Controller = (typeof V1_CONTROLLERS)[number];

export class CgroupsV1 implements CgroupManager {
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
    if (this.mode === 'none') return { ok: false, reason: 'cgroups are not mounted on this host' };
    for (const c of V1_CONTROLLERS) if (!this.#ctx.mounts.v1[c]) return { ok: false, reason: `cgroup controller ${c} not mounted` };
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
    assertCgroupName('id', id);
    return unique(V1_CONTROLLERS.filter((c) => this.#ctx.mounts.v1[c]).map((c) => this.#dir(c, id)));
  }

  allPaths(id: string): string[] {
    return this.#allDirs(id);
  }

  async create(id: string, limits: CgroupLimits): Promise<void> {
    assertCgroupName('id', id);
    assertLimits(id, limits);
    await this.#destroys.settle(id);
    await this.#ensureParent();
    const heldBefore = this.#ctx.pool.isExclusive(id);
    const existed = await exists(this.#dir('memory', id));
    try {
      for (const dir of this.paths(id)) await ensureDir(dir, `cgroup ${id}`);
      // cpuset.mems and cpuset.cpus start empty in a new v1 cpuset: no process may join until both are set.
      const cpusetDir = this.#dir('cpuset', id);
      await this.#inheritCpuset(path.dirname(cpusetDir), cpusetDir, 'cpuset.mems');
      const cpus = this.#ctx.pool.onCreate(id, limits.cpuset);
      await setValue(path.join(cpusetDir, 'cpuset.cpus'), formatCpuList(cpus), `set cpuset of cgroup ${id}`);
      await this.#apply(id, limits);
      await this.#syncShared(id);
    } catch (err) {
      if (!existed) {
        if (!heldBefore) this.#ctx.pool.onDestroy(id);
        for (const dir of this.paths(id)) await removeTree(dir).catch(() => undefined);
      }
      throw err;
    }
  }

  async update(id: string, limits: CgroupLimits): Promise<void> {
    assertCgroupName('id', id);
    assertLimits(id, limits);
    const memDir = this.#dir('memory', id);
    if (!(await exists(memDir))) throw notFound(id, 'update', memDir);
    const cpus = this.#ctx.pool.onUpdate(id, limits.cpuset);
    if (cpus) await setValue(path.join(this.#dir('cpuset', id), 'cpuset.cpus'), formatCpuList(cpus), `set cpuset of cgroup ${id}`);
    await this.#apply(id, limits);
    await this.#syncShared(id);
  }

  async addProcess(id: string, pid: number): Promise<void> {
    assertCgroupName('id', id);
    for (const dir of this.paths(id)) {
      if (!(await exists(dir))) throw notFound(id, `add process ${pid} to`, dir);
      await setValue(path.join(dir, 'cgroup.procs'), pid, `add process ${pid} to cgroup ${id}`);
    }
  }

  async pids(id: string): Promise<number[]> {
    return readProcsUnion(this.#allDirs(id));
  }

  async stats(id: string): Promise<CgroupStats> {
    assertCgroupName('id', id);
    const mem = this.#dir('memory', id);
    if (!(await exists(mem))) throw notFound(id, 'read stats of', mem);
    const acct = this.#dir('cpuacct', id);
    const read = (dir: string, file: string) => readOptional(path.join(dir, file));
    const [usage, stat, maxUsage, limit, cpuacctStat, cpuacctUsage, cpuStat, pidsCurrent] = await Promise.all([
      read(mem, 'memory.usage_in_bytes'),
      read(mem, 'memory.stat'),
      read(mem, 'memory.max_usage_in_bytes'),
      read(mem, 'memory.limit_in_bytes'),
      read(acct, 'cpuacct.stat'),
      read(acct, 'cpuacct.usage'),
      read(this.#dir('cpu', id), 'cpu.stat'),
      read(this.#dir('pids', id), 'pids.current'),
    ]);
    const at = Date.now();
    const counters = cpuStatsV1({ cpuacctStat, cpuacctUsage, cpuStat }, this.#ctx.clockTicks);
    const percent = this.#meter.sample(id, counters.totalNs, Number(process.hrtime.bigint()));
    return {
      memory: memoryStatsV1({ usage, stat, maxUsage, limit }),
      cpu: { ...counters, percent },
      pids: parseCount(pidsCurrent) ?? (await this.pids(id)).length,
      at,
    };
  }

  async oomKills(id: string): Promise<number> {
    assertCgroupName('id', id);
    const mem = this.#dir('memory', id);
    const control = await readOptional(path.join(mem, 'memory.oom_control'));
    if (control === undefined && !(await exists(mem))) throw notFound(id, 'read OOM kills of', mem);
    const kills = oomKillsFromOomControl(control);
    if (kills !== undefined) return kills;
    // Kernels before 4.13 lack oom_kill in oom_control (memory.failcnt counts limit hits, not kills).
    const unified = this.#unifiedDir(id);
    return (unified && oomKillsFromEvents(await readOptional(path.join(unified, 'memory.events')))) || 0;
  }

  destroy(id: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    assertCgroupName('id', id);
    return this.#destroys.run(id, async () => {
      const freezer = this.#ctx.mounts.v1.freezer ? path.join(this.#dir('freezer', id), 'freezer.state') : undefined;
      const started = performance.now();
      const done = await teardown(
        {
          dirs: this.#allDirs(id),
          freeze: async () => {
            if (!freezer || !(await exists(freezer))) return false;
            await writeValue(freezer, 'FROZEN');
            return true;
          },
          isFrozen: async () => {
            const state = freezer ? (await readOptional(freezer))?.trim() : undefined;
            return state === undefined || state === 'FROZEN';
          },
          thaw: async () => {
            if (freezer) await writeValue(freezer, 'THAWED');
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
    const names = new Set<string>();
    for (const root of this.#allRoots()) for (const name of await childDirs(path.join(root, this.parent))) names.add(name);
    return [...names].sort();
  }

  async gc(keep: ReadonlySet<string>): Promise<string[]> {
    return gcCgroups(await this.list(), keep, (id) => this.destroy(id), this.#ctx.log);
  }

  #mount(c: Controller): string {
    const m = this.#ctx.mounts.v1[c];
    if (!m) throw new TendError('E_CGROUP', `failed to use cgroup controller ${c}: not mounted`);
    return m;
  }

  #dir(c: Controller, id: string): string {
    return path.join(this.#mount(c), this.parent, id);
  }

  /** Every hierarchy's mount point: runc joins all of them (devices, blkio, name=systemd, and unified in hybrid). */
  #allRoots(): string[] {
    const roots = Object.values(this.#ctx.mounts.v1);
    if (this.mode === 'hybrid' && this.#ctx.mounts.unified) roots.push(this.#ctx.mounts.unified);
    return unique(roots);
  }

  #allDirs(id: string): string[] {
    assertCgroupName('id', id);
    return this.#allRoots().map((root) => path.join(root, this.parent, id));
  }

  #unifiedDir(id: string): string | undefined {
    return this.mode === 'hybrid' && this.#ctx.mounts.unified ? path.join(this.#ctx.mounts.unified, this.parent, id) : undefined;
  }

  async #ensureParent(): Promise<void> {
    for (const c of V1_CONTROLLERS) await ensureDir(path.join(this.#mount(c), this.parent), `tend's parent cgroup`);
    const root = this.#mount('cpuset');
    const parentDir = path.join(root, this.parent);
    await this.#inheritCpuset(root, parentDir, 'cpuset.cpus');
    await this.#inheritCpuset(root, parentDir, 'cpuset.mems');
  }

  /** Copy a cpuset file from `from` into `to` when `to`'s is empty (a new v1 cpuset starts with none). */
  async #inheritCpuset(from: string, to: string, file: 'cpuset.cpus' | 'cpuset.mems'): Promise<void> {
    if ((await readOptional(path.join(to, file)))?.trim()) return;
    const fallback = file === 'cpuset.cpus' ? formatCpuList(this.#ctx.allCpus) : '0';
    const value = (await readOptional(path.join(from, file)))?.trim() || fallback;
    await setValue(path.join(to, file), value, `initialise ${file} of ${to}`);
  }

  async #apply(id: string, limits: CgroupLimits): Promise<void> {
    if (limits.cpuShares !== undefined) {
      await setValue(path.join(this.#dir('cpu', id), 'cpu.shares'), clampShares(limits.cpuShares), `set cpu shares of cgroup ${id}`);
    }
    if (limits.memoryMaxBytes !== undefined) await this.#setMemoryMax(id, limits.memoryMaxBytes);
    if (limits.memoryReservationBytes !== undefined) {
      const v = limits.memoryReservationBytes > 0 ? limits.memoryReservationBytes : -1;
      await setValue(path.join(this.#dir('memory', id), 'memory.soft_limit_in_bytes'), v, `set memory reservation of cgroup ${id}`);
    }
    if (limits.pidsMax !== undefined) {
      await setValue(path.join(this.#dir('pids', id), 'pids.max'), pidsValue(limits.pidsMax), `set pids limit of cgroup ${id}`);
    }
  }

  /**
   * memory.limit_in_bytes, and memory.memsw.limit_in_bytes to the same value
   * (no swap beyond the limit, as Nomad does) when swap accounting exists. The
   * kernel keeps memsw ≥ limit, so a raise writes memsw first and a cut
   * writes the limit first. A cut below what cannot be reclaimed fails with
   * EBUSY and leaves the old limits.
   */
  async #setMemoryMax(id: string, bytes: number): Promise<void> {
    const dir = this.#dir('memory', id);
    const limitFile = path.join(dir, 'memory.limit_in_bytes');
    const memswFile = path.join(dir, 'memory.memsw.limit_in_bytes');
    const value = bytes > 0 ? bytes : -1;
    const action = `set memory limit of cgroup ${id} to ${bytes > 0 ? `${bytes} bytes` : 'unlimited'}`;
    const write = async (file: string, v: number) => {
      try {
        await writeValue(file, v);
      } catch (err) {
        if (hasErrno(err, 'EBUSY')) {
          throw new TendError('E_CGROUP', `failed to ${action}: the task uses more than that and it cannot be reclaimed (EBUSY); the old limit stays`, {
            cause: err,
            details: { id, file, errno: 'EBUSY' },
          });
        }
        throw cgroupError(action, file, err);
      }
    };
    if (!(await exists(memswFile))) return write(limitFile, value);
    const current = parseLimit(await readOptional(limitFile)) ?? Infinity;
    const next = bytes > 0 ? bytes : Infinity;
    if (next > current) {
      await write(memswFile, value);
      await write(limitFile, value);
      return;
    }
    await write(limitFile, value);
    try {
      await write(memswFile, value);
    } catch (err) {
      await writeValue(limitFile, Number.isFinite(current) ? current : -1).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Give every task on the shared pool the current shared CPUs when they changed since the last
   * sync (exclusive cores stay exclusive); `except` already has them.
   */
  async #syncShared(except: string | undefined): Promise<void> {
    const pool = this.#ctx.pool;
    if (!pool.needsSync()) return;
    const shared = pool.shared();
    const cpus = formatCpuList(shared);
    const root = path.join(this.#mount('cpuset'), this.parent);
    for (const other of pool.sharedIds(await childDirs(root))) {
      if (other === except) continue;
      try {
        await writeValue(path.join(root, other, 'cpuset.cpus'), cpus);
      } catch (err) {
        if (!hasErrno(err, 'ENOENT')) throw cgroupError(`set shared cpuset of cgroup ${other}`, path.join(root, other), err);
      }
    }
    pool.markSynced(shared);
  }
}
