/**
 * What the v1 and v2 managers share: the context the factory builds, error
 * helpers, destroy coalescing and gc.
 */
import { describeError, TendError } from '../errors.js';
import type pino from 'pino';
import type { CgroupMounts } from '../platform.js';
import type { CpusetAllocator } from './cgroups.js';
import { hasErrno } from './cgroupfs.js';
import type { SharedPool } from './shared-pool.js';
import type { Signaller } from './teardown.js';

export interface ManagerContext {
  parent: string;
  mounts: CgroupMounts;
  cpusets: CpusetAllocator;
  pool: SharedPool;
  signal: Signaller;
  pollIntervalMs: number;
  /** USER_HZ, for v1 cpuacct.stat. */
  clockTicks: number;
  isRoot: boolean;
  /** Every CPU of the node: the fallback for a cpuset that must not be empty. */
  allCpus: readonly number[];
  /** Child logger `{ component: 'cgroups', mode, parent }`. */
  log: pino.Logger;
}

export const DEFAULT_DESTROY_TIMEOUT_MS = 5000;

export function notFound(id: string, verb: string, dir: string): TendError {
  return new TendError('E_CGROUP', `failed to ${verb} cgroup ${id}: ${dir} does not exist`, { details: { id, dir, errno: 'ENOENT' } });
}

/** The check() reason for an error met while creating or writing the parent. */
export function checkReason(err: unknown, isRoot: boolean): string {
  const file = err instanceof TendError && typeof err.details.file === 'string' ? err.details.file : undefined;
  if (file && (hasErrno(err, 'EACCES') || hasErrno(err, 'EPERM') || hasErrno(err, 'EROFS'))) {
    return isRoot ? `cannot write ${file}: ${hasErrno(err, 'EROFS') ? 'read-only file system' : 'permission denied'}` : `not root: cannot write ${file}`;
  }
  return describeError(err);
}

/** Runs one destroy per id at a time: a second call while one is in flight gets the same promise. */
export class DestroyQueue {
  readonly #inFlight = new Map<string, Promise<void>>();

  run(id: string, fn: () => Promise<void>): Promise<void> {
    const existing = this.#inFlight.get(id);
    if (existing) return existing;
    const p = fn().finally(() => this.#inFlight.delete(id));
    this.#inFlight.set(id, p);
    return p;
  }

  /** Wait for a destroy of `id` in flight, if any (create after destroy must not race it). */
  async settle(id: string): Promise<void> {
    await this.#inFlight.get(id)?.catch(() => undefined);
  }
}

/** Destroy every listed id not in `keep`; throws after trying all when any failed. */
export async function gcCgroups(
  ids: readonly string[],
  keep: ReadonlySet<string>,
  destroy: (id: string) => Promise<void>,
  log: pino.Logger,
): Promise<string[]> {
  const stale = ids.filter((id) => !keep.has(id));
  if (stale.length) log.info({ ids: stale, kept: ids.length - stale.length }, 'destroying cgroups no task owns');
  const results = await Promise.allSettled(stale.map((id) => destroy(id)));
  const failed = stale.filter((_, i) => results[i].status === 'rejected');
  if (failed.length) {
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw new TendError('E_CGROUP', `failed to gc cgroups: ${failed.length} of ${stale.length} could not be destroyed (${failed.join(', ')})`, {
      cause: first?.reason,
      details: { failed, destroyed: stale.filter((id) => !failed.includes(id)) },
    });
  }
  return stale;
}

export function unique<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}
