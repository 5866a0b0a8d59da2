/**
 * The module's entry points (see index.ts): parse once per distinct string
 * (a bounded cache), evaluate against a scope, walk hcl2json output.
 */
import { ExprError, type EvalScope, type Value } from './index.js';
import { parseExpression, parseTemplate } from './parser.js';
import { isRuntimeRoot, newCtx } from './evaluate.js';
import { evalTemplateNode } from './evaluate-template.js';
import type { Node, TemplateNode, TemplatePart } from './ast.js';
import { UNKNOWN, toStr } from './values.js';

/** Distinct strings whose parse is kept; the oldest is dropped first. */
const CACHE_LIMIT = 10_000;
const cache = new Map<string, TemplateNode | ExprError>();

function parseCached(text: string): TemplateNode {
  let hit = cache.get(text);
  if (hit === undefined) {
    try {
      hit = parseTemplate(text);
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      hit = err;
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(text, hit);
  }
  if (hit instanceof ExprError) throw hit;
  return hit;
}

/** Evaluate one template string. A whole-string single interpolation `"${expr}"` yields the expression's typed value. */
export function evalTemplate(text: string, scope: EvalScope): Value {
  if (!needsEval(text)) return unescapeTemplate(text);
  const v = evalTemplateNode(parseCached(text), newCtx(scope, text), true);
  // At the top level a runtime part is kept as text, so UNKNOWN never comes back; the guard is for the type.
  return v === UNKNOWN ? text : v;
}

/** Walk a JSON value from hcl2json and evaluate every string that needs it (objects/arrays recursively). */
export function evalDeep(value: unknown, scope: EvalScope): Value {
  if (typeof value === 'string') return evalTemplate(value, scope);
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => evalDeep(v, scope));
  if (typeof value === 'object') {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = needsEval(k) ? evalTemplate(k, scope) : unescapeTemplate(k);
      if (typeof key === 'object') throw new ExprError(`expected an object key that is a string, got ${Array.isArray(key) ? 'list' : key === null ? 'null' : 'object'}`);
      out[toStr(key)] = evalDeep(v, scope);
    }
    return out;
  }
  throw new ExprError(`expected a JSON value, got ${typeof value}`);
}

/**
 * True when the string holds `${` or `%{` (not escaped as `$${` / `%%{`).
 * A run of two or more `$` (or `%`) before `{` is an escape; exactly one opens.
 */
export function needsEval(text: string): boolean {
  let i = text.indexOf('{', 1);
  while (i > 0) {
    const c = text.charCodeAt(i - 1);
    if ((c === 36 /* $ */ || c === 37) /* % */ && text.charCodeAt(i - 2) !== c) return true;
    i = text.indexOf('{', i + 1);
  }
  return false;
}

/** Turn `$${` into `${` and `%%{` into `%{` in a literal string. */
export function unescapeTemplate(text: string): string {
  if (!text.includes('${') && !text.includes('%{')) return text;
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

/** Load-time references (`var.x`, `local.y`) used by a template string, for dependency ordering of locals. */
export function referencesOf(text: string): { root: 'var' | 'local'; name: string }[] {
  if (!needsEval(text)) return [];
  let tpl: TemplateNode;
  try {
    tpl = parseCached(text);
  } catch {
    return []; // evaluating the string reports the syntax error
  }
  const seen = new Set<string>();
  const out: { root: 'var' | 'local'; name: string }[] = [];
  const add = (root: 'var' | 'local', name: string): void => {
    const key = `${root}.${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ root, name });
  };
  walkParts(tpl.parts, new Set(), add);
  return out;
}

type Add = (root: 'var' | 'local', name: string) => void;

function rootRef(target: Node, bound: Set<string>): 'var' | 'local' | undefined {
  if (target.kind !== 'variable' || bound.has(target.name)) return undefined;
  return target.name === 'var' || target.name === 'local' ? target.name : undefined;
}

function walkParts(parts: TemplatePart[], bound: Set<string>, add: Add): void {
  for (const part of parts) {
    if (typeof part === 'string') continue;
    if (part.kind === 'interp') walk(part.expr, bound, add);
    else if (part.kind === 'if') {
      walk(part.cond, bound, add);
      walkParts(part.then, bound, add);
      walkParts(part.else, bound, add);
    } else {
      walk(part.collection, bound, add);
      walkParts(part.body, withNames(bound, part.keyVar, part.valueVar), add);
    }
  }
}

function withNames(bound: Set<string>, ...names: (string | undefined)[]): Set<string> {
  const out = new Set(bound);
  for (const n of names) if (n !== undefined) out.add(n);
  return out;
}

function walk(node: Node, bound: Set<string>, add: Add): void {
  switch (node.kind) {
    case 'getattr': {
      const root = rootRef(node.target, bound);
      if (root !== undefined) add(root, node.name);
      else walk(node.target, bound, add);
      return;
    }
    case 'index': {
      const root = rootRef(node.target, bound);
      if (root !== undefined && node.key.kind === 'literal' && typeof node.key.value === 'string') add(root, node.key.value);
      else walk(node.target, bound, add);
      walk(node.key, bound, add);
      return;
    }
    case 'template':
      walkParts(node.parts, bound, add);
      return;
    case 'paren':
      walk(node.inner, bound, add);
      return;
    case 'splat':
      walk(node.target, bound, add);
      walk(node.each, bound, add);
      return;
    case 'call':
      node.args.forEach((a) => walk(a, bound, add));
      return;
    case 'unary':
      walk(node.operand, bound, add);
      return;
    case 'binary':
      walk(node.left, bound, add);
      walk(node.right, bound, add);
      return;
    case 'conditional':
      walk(node.cond, bound, add);
      walk(node.then, bound, add);
      walk(node.else, bound, add);
      return;
    case 'tuple':
      node.items.forEach((i) => walk(i, bound, add));
      return;
    case 'object':
      node.items.forEach((i) => {
        walk(i.key, bound, add);
        walk(i.value, bound, add);
      });
      return;
    case 'for': {
      walk(node.collection, bound, add);
      const inner = withNames(bound, node.keyVar, node.valueVar);
      if (node.key !== undefined) walk(node.key, inner, add);
      walk(node.value, inner, add);
      if (node.cond !== undefined) walk(node.cond, inner, add);
      return;
    }
    default:
      return;
  }
}

/** True for a runtime root reference text like `NOMAD_TASK_DIR`, `attr.kernel.name`, `env["HOME"]` (bare or inside `${…}`). */
export function isRuntimeRef(ref: string): boolean {
  let text = ref.trim();
  if (text.startsWith('${') && text.endsWith('}')) text = text.slice(2, -1);
  let node: Node;
  try {
    node = parseExpression(text);
  } catch {
    return false;
  }
  for (;;) {
    if (node.kind === 'variable') return isRuntimeRoot(node.name);
    if (node.kind === 'getattr') node = node.target;
    else if (node.kind === 'index' && node.key.kind === 'literal' && node.key.value !== null) node = node.target;
    else return false;
  }
}
