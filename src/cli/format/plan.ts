/**
 * Prints a plan the way `nomad job plan` does: jobs, their groups with what
 * happens to how many instances, each task with why, and each changed field
 * old → new with what its change does.
 *
 *   +/- Job: "web"
 *   +/- Task Group: "g" (1 restart, 1 in-place update)
 *     +/- Task: "t" [0] (forces restart)
 *       +/- args: ["3600"] → ["3601"] (forces restart)
 *       +/- env.TOKEN: (changed)
 *     ~   Task: "t" [1] (in place)
 *       +/- resources.memory: 64 → 96 (in place)
 *
 * Instances of a task with the same action and the same diff share one
 * entry (`[0-2]`). Env and artifact values are shown only when the plan
 * carries them (-verbose); template data never. Instances a rollout keeps on
 * their version for now say so: `(forces restart; waits for its turn in the
 * rollout (max_parallel 1))`.
 */
import type { FieldChange, Plan, PlanAction } from '../../api/api.js';
import { parseInstanceId } from '../../reconcile/instance-id.js';

/** A change the agent does not apply now (its allocation cannot get its ports): shown, not counted. */
const isHeld = (a: PlanAction) => a.kind === 'none' && (a.fields?.length ?? 0) > 0;

type Kind = PlanAction['kind'] | 'held';
const kindOf = (a: PlanAction): Kind => (isHeld(a) ? 'held' : a.kind);

const MARK: Record<Kind, string> = { start: '+', stop: '-', update: '~', restart: '+/-', none: '', held: '!' };
/** How a group's header counts each kind, as Nomad's "(1 create, 2 in-place update)". */
const COUNTED: [Kind, string][] = [
  ['start', 'start'],
  ['stop', 'stop'],
  ['restart', 'restart'],
  ['update', 'in-place update'],
  ['held', 'held'],
  ['none', 'unchanged'],
];

/** Milliseconds fields, shown as durations. */
const DURATION_FIELDS = new Set(['kill_timeout', 'restart.interval', 'restart.delay']);

function msText(ms: number): string {
  if (ms % 3_600_000 === 0 && ms) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A field's value as the plan shows it: JSON, durations in Go syntax, unset as such. */
export function valueText(field: string, v: unknown): string {
  if (v === null || v === undefined || v === '') return '(unset)';
  if (DURATION_FIELDS.has(field) && typeof v === 'number') return msText(v);
  return JSON.stringify(v);
}

/** Why a field's change does what it does, for the action it is part of ('' when the action says it all). */
function effectNote(c: FieldChange, kind: Kind): string {
  if (c.effect === 'restart') return kind === 'restart' || kind === 'held' ? 'forces restart' : '';
  // Within a restart (or a start), the new process gets everything anyway.
  if (kind === 'restart' || kind === 'start') return '';
  if (c.field === 'templates') return 're-rendered in place';
  return c.effect === 'in-place' ? 'in place' : 'no restart: used at the next stop or restart';
}

const isUnset = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

/** One field's line, or undefined when it says nothing (an unset field of a task to start). */
function changeLine(c: FieldChange, kind: Kind): string | undefined {
  if (kind === 'start' && c.change === 'added' && (c.hidden === 'secret' ? c.field === 'templates' : isUnset(c.new))) return undefined;
  const mark = c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '+/-';
  const note = effectNote(c, kind);
  // Values not shown: `env.FOO: (changed)`, the effect inside the same parentheses.
  if (c.hidden === 'secret') return `      ${mark.padEnd(3)} ${c.field}: (${c.change}${note ? `, ${note}` : ''})`;
  let text: string;
  if (c.change === 'added') text = valueText(c.field, c.new);
  else if (c.change === 'removed') text = c.hidden === 'unrecorded' ? '(removed)' : valueText(c.field, c.old);
  else text = `${c.hidden === 'unrecorded' ? '(not recorded)' : valueText(c.field, c.old)} → ${valueText(c.field, c.new)}`;
  return `      ${mark.padEnd(3)} ${c.field}: ${text}${note ? ` (${note})` : ''}`;
}

/** Why a task's instances get their action (and why they wait for it: a rollout's turn). */
function taskNote(a: PlanAction, kind: Kind): string {
  const note = actionNote(a, kind);
  return a.waits ? `${note}; ${a.waits}` : note;
}

function actionNote(a: PlanAction, kind: Kind): string {
  switch (kind) {
    case 'start':
      return a.reason && a.reason !== 'spec changed' ? `start: ${a.reason}` : a.fields?.length ? 'start: spec changed' : 'start';
    case 'stop':
      return `stop: ${a.reason ?? 'no longer in the job files'}`;
    case 'restart':
      return a.fields?.[0] === 'spec' ? 'forces restart: the spec it runs was not recorded' : 'forces restart';
    case 'update':
      return 'in place';
    case 'held':
      return (a.reason ?? 'not applied').replace(/^[^;]*changed; /, '');
    default:
      return a.reason ?? 'unchanged';
  }
}

/** `[0]`, `[0-2]`, `[0,3,5-7]`. */
export function indexList(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return `[${parts.join(',')}]`;
}

interface Entry {
  kind: Kind;
  task: string;
  indexes: number[];
  first: PlanAction;
  /** The rendered diff lines (the key that joins instances). */
  lines: string[];
}

/** Header mark of a job or group: + only starts, - only stops, +/- any restart, ~ anything else. */
function headMark(kinds: Kind[]): string {
  const set = new Set(kinds.filter((k) => k !== 'none'));
  if (set.size === 0) return '';
  if ([...set].every((k) => k === 'start')) return '+';
  if ([...set].every((k) => k === 'stop')) return '-';
  if (set.has('restart')) return '+/-';
  return '~';
}

function groupCounts(kinds: Kind[]): string {
  const parts: string[] = [];
  for (const [k, label] of COUNTED) {
    const n = kinds.filter((x) => x === k).length;
    if (n) parts.push(`${n} ${label}`);
  }
  return parts.join(', ');
}

export function formatPlan(plan: Plan, opts: { verbose?: boolean } = {}): string {
  // job → group → actions, in id order.
  const jobs = new Map<string, Map<string, PlanAction[]>>();
  for (const a of plan.actions) {
    const id = parseInstanceId(a.task);
    const group = id?.group ?? '?';
    const groups = jobs.get(a.job) ?? new Map<string, PlanAction[]>();
    jobs.set(a.job, groups);
    groups.set(group, [...(groups.get(group) ?? []), a]);
  }
  const out: string[] = [];
  const counts: Record<Kind, number> = { start: 0, stop: 0, update: 0, restart: 0, none: 0, held: 0 };
  let secrets = false;
  for (const [job, groups] of [...jobs].sort(([a], [b]) => a.localeCompare(b))) {
    const all = [...groups.values()].flat();
    for (const a of all) counts[kindOf(a)]++;
    const jobKinds = all.map(kindOf);
    if (!opts.verbose && jobKinds.every((k) => k === 'none')) continue;
    out.push(`${prefix(headMark(jobKinds))}Job: "${job}"`);
    for (const [group, actions] of groups) {
      const kinds = actions.map(kindOf);
      if (!opts.verbose && kinds.every((k) => k === 'none')) continue;
      out.push(`${prefix(headMark(kinds))}Task Group: "${group}" (${groupCounts(kinds)})`);
      const entries: Entry[] = [];
      for (const a of actions) {
        const kind = kindOf(a);
        if (kind === 'none' && !opts.verbose) continue;
        const id = parseInstanceId(a.task);
        const lines = (a.changes ?? []).map((c) => changeLine(c, kind)).filter((l): l is string => l !== undefined);
        if (a.changes?.some((c) => c.hidden === 'secret' && c.field !== 'templates')) secrets = true;
        const task = id?.task ?? a.task;
        const same = entries.find((e) => e.kind === kind && e.task === task && taskNote(e.first, kind) === taskNote(a, kind) && e.lines.join('\n') === lines.join('\n'));
        if (same) same.indexes.push(id?.index ?? 0);
        else entries.push({ kind, task, indexes: [id?.index ?? 0], first: a, lines });
      }
      for (const e of entries) {
        out.push(`  ${prefix(MARK[e.kind])}Task: "${e.task}" ${indexList(e.indexes)} (${taskNote(e.first, e.kind)})`);
        out.push(...e.lines);
      }
    }
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
  if (secrets) out.push('Env and artifact values are not shown; -verbose shows them.');
  if (out.length && out[out.length - 1] !== '') out.push('');
  const total = counts.start + counts.stop + counts.update + counts.restart;
  out.push(
    total === 0
      ? `No changes: ${counts.none + counts.held} task${counts.none + counts.held === 1 ? '' : 's'} up to date${counts.held ? ` (${counts.held} held)` : ''}.`
      : `Plan: ${counts.start} to start, ${counts.restart} to restart, ${counts.update} to update in place, ${counts.stop} to stop, ${counts.none + counts.held} unchanged.`,
  );
  return out.join('\n') + '\n';
}

/** A mark padded so that names line up; no mark, no padding beyond it. */
function prefix(mark: string): string {
  return `${mark.padEnd(3)} `;
}
