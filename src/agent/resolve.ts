/**
 * Task arguments as operators type them: the full id `job/group[index]/task`,
 * or a prefix — `job`, `job/group`, `job/group[1]`, `job/task`,
 * `job/group/task` — matching every instance it names; or, as Nomad users
 * type them, a prefix of the allocation id `tendctl status TASK` shows
 * (at least 4 hex digits: every task of that allocation). A query that
 * matches nothing gets "did you mean" candidates (`suggestTasks`).
 */
import { parseInstanceId } from '../reconcile/expand.js';
import { suggest } from '../jobspec/expr/suggest.js';

function groupMatches(seg: string, group: string, index: number): boolean {
  const m = /^(.+)\[(\d+)\]$/.exec(seg);
  return m ? m[1] === group && Number(m[2]) === index : seg === group;
}

/** Instance id → allocation id, for alloc-id prefixes. */
export type AllocIds = ReadonlyMap<string, string>;

export function resolveQuery(query: string, ids: Iterable<string>, allocs?: AllocIds): string[] {
  const q = query.trim().replace(/\/+$/, '');
  const all = [...ids];
  if (all.includes(q)) return [q];
  const segs = q.split('/');
  const out: string[] = [];
  for (const id of all) {
    const p = parseInstanceId(id);
    if (!p || p.job !== segs[0]) continue;
    if (segs.length === 1) out.push(id);
    else if (segs.length === 2 && (groupMatches(segs[1], p.group, p.index) || segs[1] === p.task)) out.push(id);
    else if (segs.length === 3 && groupMatches(segs[1], p.group, p.index) && segs[2] === p.task) out.push(id);
  }
  if (out.length === 0) for (const id of all) if (id.startsWith(q)) out.push(id);
  if (out.length === 0 && allocs && /^[0-9a-f]{4}[0-9a-f-]{0,32}$/.test(q)) {
    for (const id of all) if (allocs.get(id)?.startsWith(q)) out.push(id);
  }
  return out.sort();
}

/**
 * What a query that matches nothing was likely meant to be, at most 3: `web[0]` (a job or group
 * with an index) → its instances at that index; a mistyped job → the same query on the job it
 * is closest to; else the closest id.
 */
export function suggestTasks(query: string, ids: Iterable<string>): string[] {
  const all = [...ids];
  const q = query.trim().replace(/\/+$/, '');
  const parsed = all.map((id) => ({ id, p: parseInstanceId(id) }));
  const indexed = /^([^/[\]]+)\[(\d+)\]$/.exec(q);
  if (indexed) {
    const [, name, n] = indexed;
    const hits = parsed.filter(({ p }) => p && (p.job === name || p.group === name) && p.index === Number(n)).map(({ id }) => id);
    if (hits.length) return hits.sort().slice(0, 3);
  }
  const segs = q.split('/');
  const jobs = new Set(parsed.flatMap(({ p }) => (p ? [p.job] : [])));
  if (!jobs.has(segs[0])) {
    const job = suggest(segs[0], jobs);
    if (job) {
      const fixed = [job, ...segs.slice(1)].join('/');
      const hits = resolveQuery(fixed, all);
      return hits.length === 1 ? hits : [fixed];
    }
  }
  const near = suggest(q, all);
  return near ? [near] : [];
}
