/**
 * The field-level diff behind `tendctl plan`: for one instance, every field
 * whose hash differs between the record (what runs) and the file, with the
 * old and new values when both sides kept them. Values that may be secret are
 * withheld unless asked for: env and artifacts (their URLs and headers can
 * carry credentials); template data is never kept, so never shown.
 */
import type { SpecHashes } from '../store/store.js';
import type { FieldChange, FieldEffect, PlanActionKind } from './reconcile.js';
import { fieldClass } from './spec-hash.js';

/** Fields whose values are shown only when asked for (`-verbose`). */
function isSecret(field: string): boolean {
  return field.startsWith('env.') || field === 'artifacts';
}

/** Fields whose values are never kept nor shown. */
function isNeverShown(field: string): boolean {
  return field === 'templates';
}

export function fieldEffect(field: string): FieldEffect {
  const cls = fieldClass(field);
  if (cls === 'restart') return 'restart';
  if (cls === 'resources' || field === 'templates') return 'in-place';
  return 'stored';
}

/**
 * The fields that differ from `old` (undefined: nothing runs, every field is added) to `now`,
 * ordered restart fields first, then in place, then stored; by name within each.
 */
export function fieldChanges(old: SpecHashes | undefined, now: SpecHashes, opts: { verbose?: boolean } = {}): FieldChange[] {
  const out: FieldChange[] = [];
  const names = new Set([...Object.keys(old?.fields ?? {}), ...Object.keys(now.fields)]);
  for (const field of names) {
    const a = old?.fields[field];
    const b = now.fields[field];
    if (a === b) continue;
    const change: FieldChange = { field, change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed', effect: fieldEffect(field) };
    if (isNeverShown(field) || (isSecret(field) && !opts.verbose)) change.hidden = 'secret';
    else {
      if (a !== undefined) {
        if (old?.values && field in old.values) change.old = old.values[field];
        else change.hidden = 'unrecorded';
      }
      if (b !== undefined && now.values && field in now.values) change.new = now.values[field];
    }
    out.push(change);
  }
  const rank: Record<FieldEffect, number> = { restart: 0, 'in-place': 1, stored: 2 };
  return out.sort((x, y) => rank[x.effect] - rank[y.effect] || x.field.localeCompare(y.field));
}

/** Whether an action's diff is worth computing: a record and a file that differ, or (when asked) a task to start. */
export function hasFieldDiff(kind: PlanActionKind, fields: string[] | undefined, hasRecord: boolean, verbose: boolean | undefined): boolean {
  if (hasRecord) return kind === 'restart' || kind === 'update' || (fields?.length ?? 0) > 0;
  return kind === 'start' && verbose === true;
}
