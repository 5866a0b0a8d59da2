/**
 * Input variables and locals: `variable "x" { type, default }` blocks,
 * values from -var-file files and -var NAME=VALUE flags (in that order of
 * precedence, lowest first), and `locals { … }` evaluated lazily with cycle
 * detection. The result is the evaluation scope for the rest of the file.
 */
import { ExprError, suggest, type EvalScope, type Value } from './expr/index.js';
import type { Reporter } from './diagnostics.js';
import type { PathStep } from './locate.js';
import { evaluateValue } from './evaluate.js';
import { knownNames, variable as variableSchema } from './schema.js';
import type { FileAccess } from './expr/fn-file.js';

/** A declared variable's type, from `type = string` (hcl2json: "${string}"). */
export function typeName(raw: unknown): string {
  if (typeof raw !== 'string') return 'any';
  return raw.replace(/^\$\{\s*/, '').replace(/\s*\}$/, '').trim() || 'any';
}

/** Convert a -var text to the variable's type; throws Error with "expected X, got Y". */
export function convertVar(name: string, text: string, type: string): Value {
  if (type === 'string') return text;
  if (type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`expected a number for variable "${name}", got "${text}"`);
    return n;
  }
  if (type === 'bool') {
    if (text !== 'true' && text !== 'false') throw new Error(`expected true or false for variable "${name}", got "${text}"`);
    return text === 'true';
  }
  if (/^(list|set|tuple|map|object)\b/.test(type)) {
    try {
      return JSON.parse(text) as Value;
    } catch {
      throw new Error(`expected a ${type} value (as JSON) for variable "${name}", got "${text}"`);
    }
  }
  return text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface VariableInputs {
  /** Values from -var-file files, merged in order. */
  fileValues: Record<string, unknown>;
  /** -var NAME=VALUE texts. */
  flagValues: Record<string, string>;
}

/** Build the scope from the file's `variable` and `locals` blocks; reports every problem. */
export function buildScope(raw: Record<string, unknown>, inputs: VariableInputs, r: Reporter, files?: FileAccess): { scope: EvalScope; unset: Set<string> } {
  const vars: Record<string, Value> = {};
  const unset = new Set<string>();
  const decls = raw.variable;
  if (decls !== undefined && !isObject(decls)) r.error('schema', [], 'variable', 'expected a "variable" block with 1 label');
  for (const [name, bodies] of Object.entries(isObject(decls) ? decls : {})) {
    const body = (Array.isArray(bodies) ? bodies[0] : bodies) as unknown;
    const steps: PathStep[] = [{ type: 'variable', labels: [name] }];
    if (Array.isArray(bodies) && bodies.length > 1) r.error('schema', steps, undefined, `variable "${name}" is declared ${bodies.length} times`);
    const b = isObject(body) ? body : {};
    for (const key of Object.keys(b)) {
      if (!knownNames(variableSchema).includes(key)) {
        const near = suggest(key, knownNames(variableSchema));
        r.error('schema', steps, key, `unknown field "${key}"`, near ? `did you mean "${near}"?` : undefined);
      }
    }
    const type = typeName(b.type);
    if (name in inputs.flagValues) {
      try {
        vars[name] = convertVar(name, inputs.flagValues[name], type);
      } catch (err) {
        r.error('schema', steps, undefined, (err as Error).message);
      }
    } else if (name in inputs.fileValues) vars[name] = inputs.fileValues[name] as Value;
    else if ('default' in b) vars[name] = b.default as Value;
    else {
      unset.add(name);
      r.error('schema', steps, undefined, `variable "${name}" has no value`, `set it with -var ${name}=VALUE or in a -var-file`);
    }
  }

  // locals: every `locals { … }` block, evaluated on first use.
  const defs = new Map<string, { value: unknown; steps: PathStep[] }>();
  const blocks = Array.isArray(raw.locals) ? raw.locals : raw.locals === undefined ? [] : [raw.locals];
  blocks.forEach((blk, index) => {
    const steps: PathStep[] = [{ type: 'locals', ...(index ? { index } : {}) }];
    for (const [name, value] of Object.entries(isObject(blk) ? blk : {})) {
      if (defs.has(name)) r.error('schema', steps, name, `local "${name}" is defined twice`);
      else defs.set(name, { value, steps });
    }
  });
  const locals: Record<string, Value> = {};
  const failed = new Set<string>();
  const stack: string[] = [];
  const scope: EvalScope = { vars, locals, ...(files ? { files } : {}) };
  scope.local = (name: string): Value => {
    if (name in locals) return locals[name];
    const def = defs.get(name);
    if (!def) {
      const near = suggest(name, defs.keys());
      throw new ExprError(`unknown local "local.${name}"`, undefined, near ? `did you mean "local.${near}"?` : undefined);
    }
    if (failed.has(name)) throw new ExprError(`local "local.${name}" has an error (see its definition)`);
    if (stack.includes(name)) throw new ExprError(`locals refer to each other in a cycle: ${[...stack.slice(stack.indexOf(name)), name].map((n) => `local.${n}`).join(' → ')}`);
    stack.push(name);
    try {
      const v = evaluateValue(def.value, scope) as Value;
      locals[name] = v;
      return v;
    } finally {
      stack.pop();
    }
  };
  for (const [name, def] of defs) {
    try {
      scope.local(name);
    } catch (err) {
      if (failed.has(name)) continue;
      failed.add(name);
      if (mentionsUnset(err, unset)) continue;
      r.error('schema', def.steps, name, err instanceof Error ? err.message : String(err), err instanceof ExprError ? err.hint : undefined);
    }
  }
  return { scope, unset };
}

/** An evaluation error caused by a variable already reported as having no value. */
export function mentionsUnset(err: unknown, unset: Set<string>): boolean {
  if (!unset.size || !(err instanceof Error)) return false;
  const m = /var\.([\w-]+)/.exec(err.message);
  return m !== null && unset.has(m[1]);
}
