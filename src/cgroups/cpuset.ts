/**
 * Exclusive CPUs for tasks with `cores`, and the cpuset list format
 * ("0-3,6"). Pure: no file system here; the managers write what it decides.
 */
import { TendError } from '../errors.js';
import type { CpusetAllocator } from './cgroups.js';

/** Parse a kernel CPU list ("0-3,6", "" for none). */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.trim().split(',')) {
    const t = part.trim();
    if (!t) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(t);
    if (!m) throw new TendError('E_CGROUP', `invalid cpu list: expected ranges like "0-3,6", got ${JSON.stringify(text)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Format CPU ids the way the kernel prints them ("0-3,6"). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The node's CPUs minus the agent's reserved ones, handed out exclusively, lowest ids first.
 * Each id's CPUs are kept in the order it got them: a resize keeps the oldest ones, so a task
 * that grows and shrinks back returns to the CPU it started on (results are always sorted).
 */
export class CpusetPool implements CpusetAllocator {
  readonly available: readonly number[];
  /** CPUs per id, oldest first. */
  readonly #held = new Map<string, number[]>();

  constructor(cpus: readonly number[], reserved: readonly number[] = []) {
    const skip = new Set(reserved);
    this.available = Object.freeze([...new Set(cpus)].filter((c) => !skip.has(c)).sort((a, b) => a - b));
  }

  reserve(id: string, count: number): number[] {
    if (!Number.isInteger(count) || count < 1) {
      throw new TendError('E_CGROUP', `failed to reserve cpus for ${id}: expected a positive integer count, got ${count}`);
    }
    const mine = this.#held.get(id) ?? [];
    if (mine.length === count) return sorted(mine);
    const taken = this.#takenByOthers(id);
    // Keep what the id already holds first, so that a resize moves as little as possible.
    const candidates = [...mine, ...this.available.filter((c) => !taken.has(c) && !mine.includes(c))];
    if (candidates.length < count) {
      throw new TendError('E_CGROUP', `failed to reserve ${count} cpus for ${id}: ${candidates.length} free of ${this.available.length}`, {
        details: { id, requested: count, free: candidates.length },
      });
    }
    const cpus = candidates.slice(0, count);
    this.#held.set(id, cpus);
    return sorted(cpus);
  }

  adopt(id: string, cpus: number[]): void {
    const taken = this.#takenByOthers(id);
    const clash = cpus.find((c) => taken.has(c));
    if (clash !== undefined) {
      const owner = [...this.#held].find(([other, held]) => other !== id && held.includes(clash))?.[0];
      throw new TendError('E_CGROUP', `failed to adopt cpus ${formatCpuList(cpus)} for ${id}: cpu ${clash} is held by ${owner}`, {
        details: { id, cpu: clash, owner },
      });
    }
    if (cpus.length === 0) {
      this.#held.delete(id);
      return;
    }
    // Keep the order of the CPUs the id already held; new ones follow, lowest first.
    const next = new Set(cpus);
    const kept = (this.#held.get(id) ?? []).filter((c) => next.has(c));
    this.#held.set(id, [...kept, ...sorted([...next].filter((c) => !kept.includes(c)))]);
  }

  release(id: string): void {
    this.#held.delete(id);
  }

  shared(): number[] {
    const taken = this.#takenByOthers(undefined);
    return this.available.filter((c) => !taken.has(c));
  }

  assignments(): Record<string, number[]> {
    return Object.fromEntries([...this.#held].map(([id, cpus]) => [id, sorted(cpus)]));
  }

  #takenByOthers(id: string | undefined): Set<number> {
    const out = new Set<number>();
    for (const [other, cpus] of this.#held) if (other !== id) for (const c of cpus) out.add(c);
    return out;
  }
}

function sorted(cpus: readonly number[]): number[] {
  return [...cpus].sort((a, b) => a - b);
}
