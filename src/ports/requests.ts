/**
 * What an allocation asks for: the group's ports and its tasks' legacy task-level ports, and the
 * hash an assignment is kept under (a changed label, static port, `to` or host network is a new
 * request; the dynamic values it was given are not part of it). Cached per Group object, so an
 * unchanged file costs nothing.
 */
import { createHash } from 'node:crypto';
import type { Group } from '../jobspec/model.js';
import type { PortRequest } from './ports.js';

const cache = new WeakMap<Group, { requests: PortRequest[]; spec: string }>();

function build(group: Group): { requests: PortRequest[]; spec: string } {
  const hit = cache.get(group);
  if (hit) return hit;
  const requests: PortRequest[] = [];
  const add = (p: NonNullable<Group['ports']>[number], task?: string) =>
    requests.push({
      label: p.label,
      ...(p.static !== undefined ? { static: p.static } : {}),
      ...(p.to !== undefined ? { to: p.to } : {}),
      hostNetwork: p.hostNetwork,
      ...(p.ignoreCollision ? { ignoreCollision: true } : {}),
      ...(task !== undefined ? { task } : {}),
    });
  for (const p of group.ports ?? []) add(p);
  for (const t of group.tasks) for (const p of t.ports ?? []) add(p, t.name);
  const spec = requests.length
    ? createHash('sha256')
        .update(JSON.stringify(requests.map((r) => [r.label, r.static ?? 0, r.to ?? 0, r.hostNetwork, r.ignoreCollision ?? false, r.task ?? ''])))
        .digest('hex')
        .slice(0, 16)
    : '';
  const out = { requests, spec };
  cache.set(group, out);
  return out;
}

/** The ports a group instance asks for (group network first, then each task's, in file order). */
export function portRequests(group: Group): PortRequest[] {
  return build(group).requests;
}

/** The hash of the group's port requests; "" when it asks for none. */
export function portSpec(group: Group): string {
  return build(group).spec;
}
