/**
 * Prints a plan the way `nomad job plan` does:
 *
 *   + Job: "web"
 *     + start   web/g[2]/t
 *     ~ update  web/g[0]/t (in place: resources.memory)
 *     -/+ restart web/g[1]/t (forces restart: args)
 *     - stop    old/g[0]/t
 *     !   held    api/g[0]/t (args changed; not applied, waiting for ports: …)
 *     -/+ restart web/g[2]/t (forces restart: args; waits for its turn in the rollout (max_parallel 1))
 */
import type { Plan, PlanAction } from '../../api/api.js';

const MARK: Record<string, string> = { start: '+', stop: '-', update: '~', restart: '-/+', none: ' ', held: '!' };

/** A change the agent does not apply now (its allocation cannot get its ports): shown, not counted. */
const isHeld = (a: PlanAction) => a.kind === 'none' && (a.fields?.length ?? 0) > 0;

function line(a: PlanAction): string {
  const kind = isHeld(a) ? 'held' : a.kind;
  let text = `  ${MARK[kind].padEnd(3)} ${kind.padEnd(7)} ${a.task}`;
  const waits = a.waits ? `; ${a.waits}` : '';
  if (a.kind === 'restart') text += ` (forces restart: ${a.fields?.join(', ') || a.reason || 'spec changed'}${waits})`;
  else if (a.kind === 'update') text += ` (in place: ${a.fields?.join(', ') || 'resources'}${waits})`;
  else if (a.reason || a.waits) text += ` (${[a.reason, a.waits].filter(Boolean).join('; ')})`;
  return text;
}

/** Job header mark: + only starts, - only stops, ~ anything else. */
function jobMark(actions: PlanAction[]): string {
  const kinds = new Set(actions.map((a) => a.kind).filter((k) => k !== 'none'));
  if (kinds.size === 0) return ' ';
  if ([...kinds].every((k) => k === 'start')) return '+';
  if ([...kinds].every((k) => k === 'stop')) return '-';
  if (kinds.has('restart')) return '+/-';
  return '~';
}

export function formatPlan(plan: Plan, opts: { verbose?: boolean } = {}): string {
  const byJob = new Map<string, PlanAction[]>();
  for (const a of plan.actions) {
    const list = byJob.get(a.job) ?? [];
    list.push(a);
    byJob.set(a.job, list);
  }
  const out: string[] = [];
  const counts: Record<string, number> = { start: 0, stop: 0, update: 0, restart: 0, none: 0 };
  for (const [job, actions] of [...byJob].sort(([a], [b]) => a.localeCompare(b))) {
    for (const a of actions) counts[a.kind]++;
    const changed = actions.filter((a) => a.kind !== 'none' || isHeld(a));
    if (!changed.length && !opts.verbose) continue;
    out.push(`${jobMark(actions)} Job: "${job}"`);
    for (const a of opts.verbose ? actions : changed) out.push(line(a));
    out.push('');
  }
  for (const f of plan.files) {
    if (f.reads?.length) out.push(`  ${f.path} reads ${f.reads.join(', ')} (a change to one reloads it)`);
  }
  for (const f of plan.files) {
    for (const d of f.diagnostics) {
      if (d.severity !== 'error') continue;
      out.push(`! ${d.file}:${d.line}:${d.column}: ${d.message}${f.lastGoodAt ? ' (last good version in force)' : ''}`);
    }
  }
  if (out.length && out[out.length - 1] !== '') out.push('');
  const total = counts.start + counts.stop + counts.update + counts.restart;
  out.push(
    total === 0
      ? `No changes: ${counts.none} task${counts.none === 1 ? '' : 's'} up to date.`
      : `Plan: ${counts.start} to start, ${counts.restart} to restart, ${counts.update} to update in place, ${counts.stop} to stop, ${counts.none} unchanged.`,
  );
  return out.join('\n') + '\n';
}
