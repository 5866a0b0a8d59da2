/**
 * The diff: one decision per task instance from (desired, record, now).
 * Used by every reconcile pass, by the per-task worker at the moment it runs
 * (so it always acts on the latest state), and by `tendctl plan`.
 */
import type { ActualInstance, Decision, DesiredInstance, DiffOptions, PlanAction, PlanDetail } from './reconcile.js';
import { changedFields } from './spec-hash.js';
import { fieldChanges, hasFieldDiff } from './field-changes.js';
import { parseInstanceId } from './expand.js';
import { UNKNOWN_SPEC } from '../store/store.js';

const NONE: Decision = { kind: 'none' };

export function decide(desired: DesiredInstance | undefined, actual: ActualInstance | undefined, opts: DiffOptions): Decision {
  if (!desired) {
    // A dead record still goes: the stop removes the record and the alloc dir.
    if (!actual) return NONE;
    return { kind: 'stop', reason: 'no longer in the job files' };
  }
  const blocked = opts.driverBlocked(desired.task.driver);
  const held = opts.allocBlocked?.(desired);
  if (!actual) {
    if (blocked) return { kind: 'start', reason: `driver ${desired.task.driver} unavailable: ${blocked}` };
    return held ? { kind: 'start', reason: `waiting for ports: ${held}` } : { kind: 'start' };
  }
  const live = actual.state === 'running' || actual.state === 'starting' || actual.state === 'stopping';
  if (actual.hashes.restart !== desired.hashes.restart) {
    // A record rebuilt without its launch spec: nothing to name but the spec itself.
    const fields = actual.hashes.restart === UNKNOWN_SPEC ? ['spec'] : changedFields(actual.hashes, desired.hashes, 'restart');
    // The edit cannot get its ports: what runs keeps running, with its ports, until it can.
    if ((live || actual.handle) && held) return { kind: 'none', fields, reason: `${fields.join(', ')} changed; not applied, waiting for ports: ${held}` };
    if (live || actual.handle) return { kind: 'restart', fields, reason: `${fields.join(', ')} changed` };
    return { kind: 'start', fields, reason: 'spec changed' };
  }
  switch (actual.state) {
    case 'dead':
      return { kind: 'start' };
    case 'pending':
      // A blocked task waits for its driver. Availability is fixed at agent start, so it is tried again only when its spec changes or the agent restarts.
      if (blocked && actual.error) return NONE;
      // Waiting for ports: tried again once the port book has them (a later pass).
      if (held && actual.error === `waiting for ports: ${held}`) return { kind: 'none', reason: actual.error };
      return { kind: 'start', reason: blocked ? `driver ${desired.task.driver} unavailable: ${blocked}` : held ? `waiting for ports: ${held}` : undefined };
    case 'restarting': {
      const at = actual.nextRestartAt ? Date.parse(actual.nextRestartAt) : 0;
      return at <= opts.now ? { kind: 'start', reason: 'restart policy' } : NONE;
    }
    case 'running':
      // Fields are named only when a hash differs: every pass decides every task.
      if (actual.hashes.resources !== desired.hashes.resources || actual.hashes.policy !== desired.hashes.policy) {
        return { kind: 'update', fields: [...changedFields(actual.hashes, desired.hashes, 'resources'), ...changedFields(actual.hashes, desired.hashes, 'policy')] };
      }
      return NONE;
    case 'complete':
    case 'failed':
      if (actual.hashes.resources !== desired.hashes.resources || actual.hashes.policy !== desired.hashes.policy) {
        return { kind: 'update', fields: [...changedFields(actual.hashes, desired.hashes, 'resources'), ...changedFields(actual.hashes, desired.hashes, 'policy')] };
      }
      return NONE;
    default:
      // starting / stopping: an action is in flight; the worker re-decides when it ends.
      return NONE;
  }
}

/** The whole plan: every desired instance and every record, ordered by id, with the field diff of each change. */
export function diffAll(desired: ReadonlyMap<string, DesiredInstance>, actual: Iterable<ActualInstance>, opts: DiffOptions, detail: PlanDetail = {}): PlanAction[] {
  const byId = new Map<string, ActualInstance>();
  for (const a of actual) byId.set(a.id, a);
  const ids = new Set<string>([...desired.keys(), ...byId.keys()]);
  const out: PlanAction[] = [];
  for (const id of [...ids].sort()) {
    const d = desired.get(id);
    const a = byId.get(id);
    const dec = decide(d, a, opts);
    const action: PlanAction = { kind: dec.kind, task: id, job: d?.job.id ?? a?.job ?? parseInstanceId(id)?.job ?? id };
    if (dec.fields?.length) action.fields = dec.fields;
    if (dec.reason) action.reason = dec.reason;
    // A record rebuilt without its spec has no fields to compare: its reason says so.
    const known = a !== undefined && a.hashes.restart !== UNKNOWN_SPEC;
    if (d && (a === undefined || known) && hasFieldDiff(dec.kind, dec.fields, known, detail.verbose)) {
      const changes = fieldChanges(a?.hashes, d.hashes, detail);
      if (changes.length) action.changes = changes;
    }
    out.push(action);
  }
  return out;
}
