/**
 * Which CPUs a task cgroup gets: its exclusive cores (recorded in the
 * allocator, so that they survive in `assignments()`), or the shared pool
 * (every available CPU no task holds). When the exclusive set changes, the
 * cgroups on the shared pool are rewritten so that exclusive cores stay
 * exclusive.
 */
import type { CpusetAllocator } from './cgroups.js';
import { formatCpuList } from './cpuset.js';

export class SharedPool {
  readonly #allocator: CpusetAllocator;
  readonly #allCpus: readonly number[];
  /**
   * The shared CPUs last written to every shared cgroup; undefined until the first sync, so the
   * first change after an agent start rewrites them all (a previous run may have left them narrowed).
   */
  #synced: string | undefined;

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
   * set (adopted, so a reservation made with `reserve` and a set chosen by the
   * caller both count), else an earlier reservation for the id, else the shared pool.
   */
  onCreate(id: string, requested: number[] | undefined): number[] {
    if (requested && requested.length) {
      this.#allocator.adopt(id, requested);
      return [...requested];
    }
    return this.#allocator.assignments()[id] ?? this.shared();
  }

  /** On update: undefined leaves the cpuset alone, [] returns the task to the shared pool. */
  onUpdate(id: string, requested: number[] | undefined): number[] | undefined {
    if (requested === undefined) return undefined;
    if (requested.length) {
      this.#allocator.adopt(id, requested);
      return [...requested];
    }
    this.#allocator.release(id);
    return this.shared();
  }

  /** Forget a destroyed (or failed to create) task's exclusive CPUs. */
  onDestroy(id: string): void {
    this.#allocator.release(id);
  }

  /** Whether the shared cgroups must be rewritten: the shared CPUs differ from what was last written. */
  needsSync(): boolean {
    return formatCpuList(this.shared()) !== this.#synced;
  }

  /** Record that every shared cgroup now has `cpus` (what `shared()` gave before the writes). */
  markSynced(cpus: readonly number[]): void {
    this.#synced = formatCpuList(cpus);
  }

  /** Ids among `ids` on the shared pool. */
  sharedIds(ids: readonly string[]): string[] {
    const held = this.#allocator.assignments();
    return ids.filter((id) => !(id in held));
  }
}
