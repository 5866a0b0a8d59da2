/**
 * Task arguments as operators type them: the full id `job/group[index]/task`,
 * or a prefix — `job`, `job/group`, `job/group[1]`, `job/task`,
 * `job/group/task` — matching every instance it names.
 */
import { parseInstanceId } from '../reconcile/expand.js';

function groupMatches(seg: string, group: string, index: number): boolean {
  const m = /^(.+)\[(\d+)\]$/.exec(seg);
  return m ? m[1] === group && Number(m[2]) === index : seg === group;
}

export function resolveQuery(query: string, ids: Iterable<string>): string[] {
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
  return out.sort();
}
