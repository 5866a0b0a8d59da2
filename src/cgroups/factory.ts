/**
 * The one place that picks the cgroup implementation: v2 on unified hosts,
 * v1 on v1 and hybrid hosts (limits live in v1 there, as runc puts them).
 */
import pino from 'pino';
import { platform } from '../platform.js';
import type { CgroupManager, CgroupManagerOptions } from './cgroups.js';
import type { ManagerContext } from './common.js';
import { CpusetPool } from './cpuset.js';
import { assertCgroupName } from './limits.js';
import { SharedPool } from './shared-pool.js';
import { defaultSignaller } from './teardown.js';
import { CgroupsV1 } from './v1.js';
import { CgroupsV2 } from './v2.js';

export function createCgroupManager(opts: CgroupManagerOptions = {}): CgroupManager {
  const parent = opts.parent ?? 'tend';
  assertCgroupName('parent', parent);
  const p = platform();
  const allCpus = opts.cpus ?? p.cpus;
  const cpusets = new CpusetPool(allCpus, opts.reservedCores ?? []);
  const mounts = opts.mounts ?? p.cgroups;
  const ctx: ManagerContext = {
    parent,
    mounts,
    cpusets,
    pool: new SharedPool(cpusets, allCpus),
    signal: opts.signal ?? defaultSignaller,
    pollIntervalMs: opts.pollIntervalMs ?? 5,
    clockTicks: p.clockTicks,
    isRoot: p.isRoot,
    allCpus,
    log: (opts.logger ?? pino({ level: 'silent' })).child({ component: 'cgroups', mode: mounts.mode, parent }),
  };
  return ctx.mounts.mode === 'v2' ? new CgroupsV2(ctx) : new CgroupsV1(ctx);
}
