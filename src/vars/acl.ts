/**
 * What a task may read, decided as Nomad's ACL does for a workload identity
 * (acl/acl.go `matchingVariablesCapabilitySet`), in this order:
 *
 *  1. a policy `path` without `*` equal to the path: its capabilities;
 *  2. the implicit workload policy: exactly `nomad/jobs`, `nomad/jobs/<job>`,
 *     `nomad/jobs/<job>/<group>` and `nomad/jobs/<job>/<group>/<task>` get
 *     read and list. Nothing below them: `nomad/jobs/<job>/<other>` or
 *     `nomad/jobs/<job>/<group>/<task>/x` is not the task's unless a policy
 *     says so (Nomad compares whole paths, not prefixes);
 *  3. the closest matching glob (`*` matches any run, `/` included): the one
 *     with the smallest `len(path) - len(glob) + count("*")`, ties by pattern.
 *
 * Policies apply to a task when their `job`/`group`/`task` are unset or equal
 * to its identity. Capabilities of one pattern in several policies add up;
 * `read` includes `list`; `deny` wins over anything else on that pattern
 * (Nomad's stated rule; its merge of variable paths keeps both).
 */
import { TendError } from '../errors.js';
import { assertPath, assertPrefix } from './path.js';
import type { Variable, VariableCapability, VariableChange, VariableMetadata, VariablePolicy, VariableReader, WatchTarget, WorkloadIdentity } from './vars.js';

type Caps = Set<VariableCapability>;

/** The capability sets of one task: exact paths and globs from its policies. */
export class TaskAcl {
  readonly identity: WorkloadIdentity;
  readonly #exact = new Map<string, Caps>();
  readonly #globs: { pattern: string; re: RegExp; stars: number; caps: Caps }[] = [];
  readonly #implicit: Set<string>;

  constructor(identity: WorkloadIdentity, policies: readonly VariablePolicy[] = []) {
    for (const k of ['job', 'group', 'task'] as const) {
      const v = identity[k];
      // A "/" would make the implicit paths reach into another job's (a periodic child reads as its parent).
      if (typeof v !== 'string' || v === '' || v.includes('/')) {
        throw new TendError('E_INTERNAL', `failed to build a variables ACL: expected a ${k} name without "/", got ${JSON.stringify(v)}`);
      }
    }
    this.identity = identity;
    const { job, group, task } = identity;
    this.#implicit = new Set(['nomad/jobs', `nomad/jobs/${job}`, `nomad/jobs/${job}/${group}`, `nomad/jobs/${job}/${group}/${task}`]);
    const globs = new Map<string, Caps>();
    for (const p of policies) {
      if (!appliesTo(p, identity)) continue;
      for (const { pattern, capabilities } of p.paths) {
        const into = pattern.includes('*') ? globs : this.#exact;
        const caps = into.get(pattern) ?? new Set<VariableCapability>();
        into.set(pattern, caps);
        for (const c of capabilities) caps.add(c);
        if (caps.has('read')) caps.add('list');
      }
    }
    for (const [pattern, caps] of [...globs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      this.#globs.push({ pattern, re: globRegExp(pattern), stars: pattern.split('*').length - 1, caps });
    }
  }

  /** Does the task have `cap` on `path`? */
  allows(path: string, cap: 'read' | 'list'): boolean {
    const caps = this.#capsOf(path);
    return caps !== undefined && !caps.has('deny') && caps.has(cap);
  }

  #capsOf(path: string): Caps | undefined {
    const exact = this.#exact.get(path);
    if (exact) return exact;
    if (this.#implicit.has(path)) return WORKLOAD_CAPS;
    let best: { diff: number; caps: Caps } | undefined;
    for (const g of this.#globs) {
      if (!g.re.test(path)) continue;
      const diff = path.length - g.pattern.length + g.stars;
      if (!best || diff < best.diff) best = { diff, caps: g.caps };
    }
    return best?.caps;
  }
}

const WORKLOAD_CAPS: Caps = new Set(['read', 'list']);

function appliesTo(p: VariablePolicy, id: WorkloadIdentity): boolean {
  return (p.job === undefined || p.job === id.job) && (p.group === undefined || p.group === id.group) && (p.task === undefined || p.task === id.task);
}

/** `shared/*` → /^shared\/.*$/ : `*` is any run of characters (go-glob), everything else literal. */
function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 's');
}

/** The message every denied read carries. */
export function permissionDenied(path: string, id: WorkloadIdentity): TendError {
  return new TendError('E_PERMISSION_DENIED', `Permission denied reading variable ${path} for task ${id.job}/${id.group}/${id.task}`, {
    details: { path, job: id.job, group: id.group, task: id.task },
  });
}

/** `reader` as `identity` sees it: denied reads throw, lists and prefix watches are filtered. */
export function taskReader(reader: VariableReader, identity: WorkloadIdentity, policies?: readonly VariablePolicy[]): VariableReader {
  const acl = new TaskAcl(identity, policies);
  const check = (path: string): string => {
    assertPath(path);
    if (!acl.allows(path, 'read')) throw permissionDenied(path, identity);
    return path;
  };
  return {
    get: (path: string): Variable | undefined => reader.get(check(path)),
    exists: (path: string): boolean => reader.exists(check(path)),
    list: (prefix = ''): VariableMetadata[] => reader.list(assertPrefix(prefix)).filter((m) => acl.allows(m.path, 'list')),
    watch(target: WatchTarget, listener: (c: VariableChange) => void): () => void {
      if ('path' in target) return reader.watch({ path: check(target.path) }, listener);
      return reader.watch({ prefix: assertPrefix(target.prefix) }, (c) => {
        if (acl.allows(c.path, 'list')) listener(c);
      });
    },
  };
}
