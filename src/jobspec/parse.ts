/**
 * Text → the hcl2json-shaped value of a file, by format, with syntax errors
 * as diagnostics carrying the parser's line and column. Nesting deeper than
 * any job file needs is refused before a parser sees it (nesting.ts); HCL is
 * parsed in the parser's process (hcl-parser.ts), where a crash or a hang
 * costs this file only. The TOML parser is imported by the first TOML file.
 */
import type { Diagnostic } from './model.js';
import type { JobFormat } from './files.js';
import { parseBlockTree, type BlockNode } from './locate.js';
import { HclParserError, hclParser } from './hcl-parser.js';
import { findTooDeep } from './nesting.js';

export interface Parsed {
  value?: Record<string, unknown>;
  diagnostics: Omit<Diagnostic, 'file'>[];
}

const syntax = (line: number, column: number, message: string, hint?: string): Omit<Diagnostic, 'file'> => ({
  severity: 'error',
  kind: 'syntax',
  line,
  column,
  path: '',
  message,
  ...(hint ? { hint } : {}),
});

export async function parseSource(file: string, text: string, format: JobFormat): Promise<Parsed> {
  const deep = findTooDeep(text, format);
  if (deep) {
    const message = `nesting too deep: expected at most ${deep.limit} levels of blocks, brackets and templates, got more; not parsed`;
    return { diagnostics: [syntax(deep.line, deep.column, message)] };
  }
  const parsed = format === 'toml' ? await parseToml(text) : format === 'json' ? parseJson(text) : await parseHclText(file, text);
  // A file that does not parse because a merge left its markers in: say that, not what the parser stumbled on.
  if (parsed.diagnostics.some((d) => d.kind === 'syntax')) {
    const conflict = mergeConflict(text);
    if (conflict) return { diagnostics: [conflict] };
  }
  return parsed;
}

/** The first `<<<<<<<` line of an unresolved merge (git's markers), as a diagnostic with the fix. */
export function mergeConflict(text: string): Omit<Diagnostic, 'file'> | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^<{7}(?: |$)/.test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^>{7}(?: |$)/.test(l));
  const span = end > start ? `lines ${start + 1}-${end + 1}` : `from line ${start + 1}`;
  return syntax(start + 1, 1, 'unresolved merge conflict: the file still has the "<<<<<<<" markers of a merge', `keep one side and delete the <<<<<<<, ======= and >>>>>>> lines (${span}), then save`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `parse config: [f.hcl:3,12-4,1: Invalid expression; Expected …, f.hcl:7,1-2: …]` → one diagnostic each. */
export function hclErrors(file: string, message: string): Omit<Diagnostic, 'file'>[] {
  const body = message.replace(/^parse config: \[/, '').replace(/\]$/, '');
  const out: Omit<Diagnostic, 'file'>[] = [];
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`${esc}:(\\d+),(\\d+)-[\\d,]+: `, 'g');
  const starts = [...body.matchAll(re)];
  starts.forEach((m, i) => {
    const from = m.index! + m[0].length;
    const to = i + 1 < starts.length ? starts[i + 1].index! : body.length;
    const text = body.slice(from, to).replace(/, $/, '');
    const semi = text.indexOf('; ');
    const summary = semi >= 0 ? text.slice(0, semi) : text;
    const detail = semi >= 0 ? text.slice(semi + 2).trim() : '';
    out.push(syntax(Number(m[1]), Number(m[2]), summary.trim(), detail || undefined));
  });
  return out;
}

async function parseHclText(file: string, text: string, retried = false): Promise<Parsed> {
  try {
    const value = (await hclParser().parse(file, text)) as Record<string, unknown>;
    return { value: isObject(value) ? value : {}, diagnostics: [] };
  } catch (err) {
    if (err instanceof HclParserError) return { diagnostics: [syntax(0, 0, `failed to parse: ${err.message}`)] };
    const message = err instanceof Error ? err.message : String(err);
    const unconvertible = /Unable to convert Block to JSON: ([\w-]+)/.exec(message);
    if (unconvertible && !retried) return blankUnconvertible(file, text, unconvertible[1]);
    const diags = hclErrors(file, message);
    return { diagnostics: diags.length ? diags : [syntax(0, 0, `failed to parse HCL: ${message}`)] };
  }
}

/**
 * hcl2json cannot represent repeated blocks whose label counts differ (legal
 * inside a driver's free-form `config`). Blank the body of the `config`
 * blocks holding such a block (keeping lines, so positions stay right),
 * parse again, and say that the config was not checked.
 */
async function blankUnconvertible(file: string, text: string, blockType: string): Promise<Parsed> {
  const tree = parseBlockTree(text);
  const targets: BlockNode[] = [];
  const holds = (n: BlockNode): boolean => n.children.some((c) => c.type === blockType || holds(c));
  const visit = (n: BlockNode): void => {
    for (const c of n.children) {
      if (c.type === 'config' && holds(c)) targets.push(c);
      else visit(c);
    }
  };
  visit(tree);
  if (!targets.length) return { diagnostics: [syntax(0, 0, `failed to parse HCL: repeated "${blockType}" blocks with different label counts`)] };
  let out = text;
  for (const t of targets) out = out.slice(0, t.bodyStart) + out.slice(t.bodyStart, t.end).replace(/[^\n]/g, ' ') + out.slice(t.end);
  const again = await parseHclText(file, out, true);
  const line = text.slice(0, targets[0].start).split('\n').length;
  const col = targets[0].start - text.lastIndexOf('\n', targets[0].start - 1);
  again.diagnostics.push({
    severity: 'warning',
    kind: 'unsupported',
    line,
    column: col,
    path: '',
    message: `driver config holds repeated "${blockType}" blocks with different label counts, which tend cannot read; config not checked`,
  });
  return again;
}

async function parseToml(text: string): Promise<Parsed> {
  const TOML = (await import('@iarna/toml')).default;
  try {
    return { value: TOML.parse(text) as unknown as Record<string, unknown>, diagnostics: [] };
  } catch (err) {
    const e = err as { line?: number; col?: number; message?: string };
    const msg = String(e.message ?? err).split('\n')[0].replace(/ at row \d+, col \d+, pos \d+:$/, '');
    return { diagnostics: [syntax((e.line ?? -1) + 1, (e.col ?? -1) + 1, msg)] };
  }
}

function parseJson(text: string): Parsed {
  try {
    const value = JSON.parse(text);
    if (!isObject(value)) return { diagnostics: [syntax(1, 1, `expected a JSON object, got ${Array.isArray(value) ? 'a list' : typeof value}`)] };
    // Nomad's API form {"Job": {…}} is a different shape: say so rather than report every field.
    if ('Job' in value && isObject(value.Job)) return { diagnostics: [syntax(1, 1, 'expected the jobspec shape ({"job": {"name": {…}}}), got Nomad\'s API JSON ({"Job": {…}})')] };
    return { value, diagnostics: [] };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : unexpectedTokenAt(text, msg);
    if (pos === undefined) return { diagnostics: [syntax(0, 0, msg.split('\n')[0])] };
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    return { diagnostics: [syntax(line, column, msg.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, ''))] };
  }
}

/** Node omits the position for some errors ("Unexpected token ','"): the first such character outside strings. */
function unexpectedTokenAt(text: string, msg: string): number | undefined {
  const m = /Unexpected token '(.)'/.exec(msg);
  if (!m) return /Unexpected end/.test(msg) ? text.length : undefined;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === m[1]) return i;
  }
  return undefined;
}
