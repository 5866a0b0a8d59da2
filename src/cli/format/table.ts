/**
 * Column-aligned tables in the style of `nomad` and `kubectl`: a header row,
 * columns separated by two spaces, the last column not padded. Cells may hold
 * colour escapes; widths count visible characters only.
 */
import { visibleWidth } from './color.js';

export interface TableOptions {
  /** Prefix of every line (e.g. two spaces under a section title). */
  indent?: string;
  /** Spaces between columns (default 2). */
  gap?: number;
  /** Styles the header cells (e.g. bold). */
  headerStyle?: (s: string) => string;
}

export function formatTable(header: string[] | undefined, rows: string[][], opts: TableOptions = {}): string {
  const all = header ? [header, ...rows] : rows;
  if (all.length === 0) return '';
  const cols = Math.max(...all.map((r) => r.length));
  const widths = new Array<number>(cols).fill(0);
  for (const r of all) for (let c = 0; c < r.length; c++) widths[c] = Math.max(widths[c], visibleWidth(r[c] ?? ''));
  const gap = ' '.repeat(opts.gap ?? 2);
  const indent = opts.indent ?? '';
  const line = (r: string[], style?: (s: string) => string) => {
    const cells: string[] = [];
    for (let c = 0; c < cols; c++) {
      const text = r[c] ?? '';
      const styled = style ? style(text) : text;
      cells.push(c === cols - 1 ? styled : styled + ' '.repeat(widths[c] - visibleWidth(text)));
    }
    return (indent + cells.join(gap)).trimEnd();
  };
  const out: string[] = [];
  if (header) out.push(line(header, opts.headerStyle));
  for (const r of rows) out.push(line(r));
  return out.join('\n') + '\n';
}

/** Nomad's `Key = Value` lists, keys padded to one width. */
export function formatKeyValues(pairs: [string, string][], indent = ''): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(width)} = ${v}`).join('\n') + (pairs.length ? '\n' : '');
}
