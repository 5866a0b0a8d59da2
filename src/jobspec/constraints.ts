/**
 * Constraints select which jobs this node runs (one repository can serve a
 * fleet). Nomad's operators, evaluated against the node's attributes and
 * meta; a failing constraint means "not for this node", never an error.
 */
import type { Constraint, Job, NodeInfo } from './model.js';

/** Resolve `${attr.x}`, `${meta.x}`, `${node.class}`, `${node.unique.name}`, …; anything else is a literal. */
export function resolveTarget(target: string, node: NodeInfo): string | undefined {
  const m = /^\$\{\s*([^}]+?)\s*\}$/.exec(target);
  if (!m) return target;
  const ref = m[1];
  if (ref.startsWith('attr.')) return node.attributes[ref.slice(5)];
  if (ref.startsWith('meta.')) return node.meta[ref.slice(5)];
  switch (ref) {
    case 'node.unique.name':
      return node.name;
    case 'node.unique.id':
      return node.id;
    case 'node.class':
      return node.class;
    case 'node.datacenter':
      return node.datacenter;
  }
  return undefined;
}

interface Version {
  parts: number[];
  pre: string;
}

export function parseVersion(text: string, strict = false): Version | undefined {
  const re = strict ? /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/ : /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
  const m = re.exec(text.trim());
  if (!m) return undefined;
  if (strict) return { parts: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? '' };
  return { parts: m[1].split('.').map(Number), pre: m[2] ?? '' };
}

export function compareVersions(a: Version, b: Version): number {
  const n = Math.max(a.parts.length, b.parts.length, 3);
  for (let i = 0; i < n; i++) {
    const d = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (a.pre === b.pre) return 0;
  if (!a.pre) return 1; // a release sorts after its prereleases
  if (!b.pre) return -1;
  return a.pre < b.pre ? -1 : 1;
}

/** Does `version` satisfy a range like ">= 1.2, < 2" or "~> 3.2"? */
export function versionMatches(version: string, range: string, strict = false): boolean {
  const v = parseVersion(version, strict);
  if (!v) return false;
  for (const clause of range.split(',')) {
    const m = /^\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*$/.exec(clause);
    if (!m) return false;
    const op = m[1] ?? '=';
    const want = parseVersion(m[2], strict);
    if (!want) return false;
    const c = compareVersions(v, want);
    let ok: boolean;
    switch (op) {
      case '=':
        ok = c === 0;
        break;
      case '!=':
        ok = c !== 0;
        break;
      case '>':
        ok = c > 0;
        break;
      case '<':
        ok = c < 0;
        break;
      case '>=':
        ok = c >= 0;
        break;
      case '<=':
        ok = c <= 0;
        break;
      default: {
        // ~> 3.2 → >= 3.2, < 4; ~> 3.2.1 → >= 3.2.1, < 3.3
        const keep = Math.max(want.parts.length - 1, 1);
        const upper = want.parts.slice(0, keep);
        upper[keep - 1]++;
        ok = c >= 0 && compareVersions(v, { parts: upper, pre: '' }) < 0 && (v.pre === '' || want.pre !== '');
      }
    }
    if (!ok) return false;
  }
  return true;
}

function compareOrder(l: string, r: string): number {
  const a = Number(l);
  const b = Number(r);
  if (l.trim() !== '' && r.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return Math.sign(a - b);
  return l < r ? -1 : l > r ? 1 : 0;
}

const setOf = (s: string) => new Set(s.split(',').map((x) => x.trim()).filter(Boolean));

/** Is the constraint met on this node? distinct_hosts / distinct_property always are (one node). */
export function constraintMet(c: Constraint, node: NodeInfo): boolean {
  const l = resolveTarget(c.attribute, node);
  const r = resolveTarget(c.value, node);
  switch (c.operator) {
    case 'distinct_hosts':
    case 'distinct_property':
      return true;
    case 'is_set':
      return l !== undefined;
    case 'is_not_set':
      return l === undefined;
    case '=':
    case '==':
    case 'is':
      return l !== undefined && r !== undefined && l === r;
    case '!=':
    case 'not':
      return l !== r;
  }
  if (l === undefined || r === undefined) return false;
  switch (c.operator) {
    case '<':
      return compareOrder(l, r) < 0;
    case '<=':
      return compareOrder(l, r) <= 0;
    case '>':
      return compareOrder(l, r) > 0;
    case '>=':
      return compareOrder(l, r) >= 0;
    case 'regexp':
      try {
        return new RegExp(r).test(l);
      } catch {
        return false;
      }
    case 'version':
      return versionMatches(l, r);
    case 'semver':
      return versionMatches(l, r, true);
    case 'set_contains':
    case 'set_contains_all': {
      const have = setOf(l);
      return [...setOf(r)].every((x) => have.has(x));
    }
    case 'set_contains_any': {
      const have = setOf(l);
      return [...setOf(r)].some((x) => have.has(x));
    }
  }
  return false;
}

const describe = (c: Constraint) => `${c.attribute} ${c.operator} ${JSON.stringify(c.value)}`.replace(/ ""$/, '');

/** Why this node cannot run the job (the first failing constraint, job, group or task level), or undefined. */
export function exclusionReason(job: Job, node: NodeInfo): string | undefined {
  for (const c of job.constraints) if (!constraintMet(c, node)) return `constraint ${describe(c)} not met (job "${job.id}")`;
  for (const g of job.groups) {
    for (const c of g.constraints) if (!constraintMet(c, node)) return `constraint ${describe(c)} not met (job "${job.id}" › group "${g.name}")`;
    for (const t of g.tasks) {
      for (const c of t.constraints) if (!constraintMet(c, node)) return `constraint ${describe(c)} not met (job "${job.id}" › group "${g.name}" › task "${t.name}")`;
    }
  }
  return undefined;
}
