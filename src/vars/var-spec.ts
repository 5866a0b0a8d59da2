/**
 * Nomad's variable specification (`nomad var init`, `nomad var put @spec`),
 * in JSON or HCL: what a file of the variables dir holds and what `tendctl
 * var put -in json|hcl` reads.
 *
 *   path  = "nomad/jobs/web"          # optional: else from the command line or the file name
 *   items {                           # required: at least one
 *     password = "…"
 *   }
 *
 * JSON takes the same keys, or Nomad's API shape as `nomad var get -out json`
 * prints it (`Path`, `Items`, `ModifyIndex`, `CreateIndex`, …): a spec
 * carrying a modify index is a check-and-set, as in Nomad. `namespace` may
 * only be "default": tend has no namespaces. HCL specs, as Nomad's, are
 * plain attributes and blocks: no functions.
 *
 * Errors name the file, the line when known and the key, never a value: a
 * JSON parser message that quotes the text is replaced by its position.
 */
import { TendError, describeError } from '../errors.js';
import { checkItems, pathProblem } from './path.js';
import type { VariableItems } from './vars.js';

export interface VarSpec {
  path?: string;
  items: VariableItems;
  /** `ModifyIndex` of a spec printed by `var get -out json`: the check-index of a put. */
  modifyIndex?: number;
}

export type SpecFormat = 'json' | 'hcl';

const KEYS: Record<string, keyof VarSpec | 'namespace' | 'ignored'> = {
  path: 'path',
  Path: 'path',
  items: 'items',
  Items: 'items',
  namespace: 'namespace',
  Namespace: 'namespace',
  modifyIndex: 'modifyIndex',
  ModifyIndex: 'modifyIndex',
  // Printed by `var get -out json`; set by the store, not by a spec.
  createIndex: 'ignored',
  CreateIndex: 'ignored',
  createTime: 'ignored',
  CreateTime: 'ignored',
  modifyTime: 'ignored',
  ModifyTime: 'ignored',
  file: 'ignored',
  File: 'ignored',
};

function specError(where: string, message: string, line?: number): TendError {
  return new TendError('E_VAR_INVALID', `failed to read variable specification ${where}${line ? `:${line}` : ''}: ${message}`, {
    details: { file: where, ...(line ? { line } : {}) },
  });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Line and column (1-based) of a character offset. */
function lineCol(text: string, pos: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, Math.min(pos, text.length)));
  const line = before.split('\n').length;
  return { line, col: pos - before.lastIndexOf('\n') };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(msg);
    if (m) {
      const { line, col } = lineCol(text, Number(m[1]));
      throw specError(where, `invalid JSON at line ${line}, column ${col}`, line);
    }
    // V8 quotes the text in some messages ("Unexpected token 'x', "{"a": x…" is not valid JSON"): never repeat it.
    throw specError(where, msg.includes('"') ? 'invalid JSON' : `invalid JSON: ${msg}`);
  }
}

async function parseHcl(text: string, where: string): Promise<unknown> {
  const { hclParser } = await import('../jobspec/hcl-parser.js');
  try {
    return await hclParser().parse(where, text);
  } catch (err) {
    // hcl2json: "file:line,col-line,col: summary; detail" — the summary only: a detail may quote the text.
    const m = /:(\d+),(\d+)[^:]*: ([^;\]]*)/.exec(describeError(err));
    if (m) throw specError(where, `${m[3].trim()} (line ${m[1]}, column ${m[2]})`, Number(m[1]));
    throw specError(where, 'invalid HCL');
  }
}

/** A one-block HCL body (`[ {…} ]`) or a map attribute, as an object. */
function unwrap(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 && typeof v[0] === 'object' ? v[0] : v;
}

/** Parse a specification; `where` names it in messages (a file path, or "stdin"). */
export async function parseVarSpec(text: string, format: SpecFormat, where: string): Promise<VarSpec> {
  const raw = format === 'json' ? parseJson(text, where) : await parseHcl(text, where);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw specError(where, `expected an object with "items", got ${Array.isArray(raw) ? 'a list' : raw === null ? 'null' : typeof raw}`);
  const out: Partial<VarSpec> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = KEYS[k];
    if (key === undefined) {
      const hint = ['path', 'items', 'namespace', 'modifyIndex'].find((c) => editDistance(k.toLowerCase(), c.toLowerCase()) <= 2);
      throw specError(where, `unknown key "${k}": expected path, items${hint ? `; did you mean "${hint}"?` : ''}`);
    }
    if (key === 'ignored') continue;
    if (key === 'namespace') {
      const ns = unwrap(v);
      if (ns !== '' && ns !== 'default') throw specError(where, `namespace: tend has no namespaces: expected "default", got ${JSON.stringify(ns)}`);
      continue;
    }
    if (key === 'path') {
      if (typeof v !== 'string') throw specError(where, `path: expected a string, got ${typeof v}`);
      const problem = pathProblem(v);
      if (problem) throw specError(where, `path: ${problem}`);
      out.path = v;
    } else if (key === 'modifyIndex') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw specError(where, `${k}: expected a whole number >= 0, got ${JSON.stringify(v)}`);
      out.modifyIndex = v;
    } else {
      try {
        out.items = checkItems(unwrap(v), where);
      } catch (err) {
        throw specError(where, describeError(err).replace(`${where}: `, ''));
      }
    }
  }
  if (!out.items) throw specError(where, 'items: required: expected at least one item');
  return out as VarSpec;
}

/** The format a file name says: `.hcl` (`.nv.hcl`) or `.json` (`.nv.json`); undefined for other names. */
export function specFormatOf(name: string): SpecFormat | undefined {
  if (name.endsWith('.hcl')) return 'hcl';
  if (name.endsWith('.json')) return 'json';
  return undefined;
}

/** A file name without its spec extension: `web.nv.hcl` → `web`, `db.json` → `db`. */
export function stripSpecExtension(name: string): string {
  return name.replace(/(\.nv)?\.(hcl|json)$/, '');
}
