/**
 * Which CPUs a task cgroup gets: its exclusive cores (recorded in the
 * allocator, so that they survive in `assignments()`), or the shared pool
 * (every available CPU no task holds). When the exclusive set changes, the
 * cgroups on the shared pool are rewritten so that exclusive cores stay
 * exclusive.
 */
import type { CpusetAllocator } from './cgroups.js';

export class SharedPool {
  readonly #allocator: CpusetAllocator;
  readonly #allCpus: readonly number[];

  constructor(allocator: CpusetAllocator, allCpus: readonly number[]) {
    this.#allocator = allocator;
    this.#allCpus = allCpus;
  }

  isExclusive(id: string): boolean {
    return id in this.#allocator.assignments();
  }

  /** CPUs for a task without exclusive cores; never empty (falls back to every available CPU, then every CPU). */
  shared(): number[] {
    const s = this.#allocator.shared();
    if (s.length) return s;
    return this.#allocator.available.length ? [...this.#allocator.available] : [...this.#allCpus];
  }

  /**
   * CPUs for a task on create: `requested` (non-empty) becomes its exclusive
   * set, else an earlier reservation for the id, else the shared pool.
   * Returns whether the exclusive set changed.
   */
  onCreate(id: string, requested: number[] | undefined): { cpus: number[]; changed: boolean } {
    if (requested && requested.length) return { cpus: [...requested], changed: this.#adopt(id, requested) };
    const held = this.#allocator.assignments()[id];
    return held ? { cpus: held, changed: false } : { cpus: this.shared(), changed: false };
  }

  /** On update: undefined leaves the cpuset alone, [] returns the task to the shared pool. */
  onUpdate(id: string, requested: number[] | undefined): { cpus?: number[]; changed: boolean } {
    if (requested === undefined) return { changed: false };
    if (requested.length) return { cpus: [...requested], changed: this.#adopt(id, requested) };
    const changed = this.isExclusive(id);
    this.#allocator.release(id);
    return { cpus: this.shared(), changed };
  }

  /** Forget a destroyed task; returns whether the exclusive set changed. */
  onDestroy(id: string): boolean {
    const changed = this.isExclusive(id);
    this.#allocator.release(id);
    return changed;
  }

  /** Ids among `ids` on the shared pool. */
  sharedIds(ids: readonly string[]): string[] {
    const held = this.#allocator.assignments();
    return ids.filter((id) => !(id in held));
  }

  #adopt(id: string, cpus: number[]): boolean {
    const before = this.#allocator.assignments()[id];
    this.#allocator.adopt(id, cpus);
    const same = before !== undefined && before.length === cpus.length && [...cpus].sort((a, b) => a - b).every((c, i) => c === before[i]);
    return !same;
  }
}
