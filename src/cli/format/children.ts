/**
 * The children of a periodic or parameterized job as `tendctl status` lists them: newest first,
 * with their status and their tasks' exits once finished. Pure.
 */
import type { ChildView } from '../../api/api.js';
import { formatRelative, parseTime } from './duration.js';
import { palette as makePalette, type Palette } from './color.js';
import { formatTable } from './table.js';

/** "exit 0", "exit 0, killed by SIGKILL", or "-" while the child runs. */
export function exitText(c: ChildView): string {
  if (!c.exits) return '-';
  return c.exits.map((e) => (e.signal ? `killed by ${e.signal}` : e.code === null ? e.state : `exit ${e.code}`)).join(', ');
}

export interface ChildColumns<C extends ChildView> {
  /** Header of the launch time column ("LAUNCHED", "DISPATCHED"). */
  when: string;
  /** Text after the launch time ("(forced)"). */
  note?(c: C): string;
  /** More columns at the end, header and cell. */
  extra?: { header: string; cell(c: C): string }[];
}

/** The CHILD / STATUS / EXITS / <when> table, or "no children yet". */
export function renderChildren<C extends ChildView>(children: C[], now: number, p: Palette = makePalette(false), indent = '', cols: ChildColumns<C>): string[] {
  if (!children.length) return [`${indent}no children yet`];
  const rows = [...children].reverse().map((c) => {
    const at = parseTime(c.launchedAt);
    const status = c.status === 'failed' ? p.red(c.status) : c.status;
    return [c.id, status, exitText(c), `${at !== undefined ? formatRelative(at, now) : c.launchedAt}${cols.note?.(c) ?? ''}`, ...(cols.extra ?? []).map((x) => x.cell(c))];
  });
  const header = ['CHILD', 'STATUS', 'EXITS', cols.when, ...(cols.extra ?? []).map((x) => x.header)];
  return [formatTable(header, rows, { indent, headerStyle: p.bold }).trimEnd()];
}
