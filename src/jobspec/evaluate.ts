/**
 * Load-time evaluation of attribute values from hcl2json: strings holding
 * `${…}` or `%{…}` go through the expression evaluator; strings whose only
 * interpolations are plain runtime references (`${NOMAD_TASK_DIR}`) and
 * strings without any are kept as they are, without calling it.
 */
import { evalDeep, type EvalScope, type Value } from './expr/index.js';
import { SIMPLE_RUNTIME_REF } from './runtime-refs.js';

/** Does this string need the evaluator? */
export function stringNeedsEval(text: string): boolean {
  if (!text.includes('{')) return false;
  if (!text.includes('${') && !text.includes('%{')) return false;
  const rest = text.includes('${') ? text.replace(SIMPLE_RUNTIME_REF, '') : text;
  return rest.includes('${') || rest.includes('%{');
}

/** Does any string inside this value need the evaluator? */
export function valueNeedsEval(value: unknown): boolean {
  if (typeof value === 'string') return stringNeedsEval(value);
  if (Array.isArray(value)) return value.some(valueNeedsEval);
  if (value !== null && typeof value === 'object') return Object.values(value).some(valueNeedsEval);
  return false;
}

/** Evaluate a value (throws ExprError or other errors from the evaluator). */
export function evaluateValue(value: unknown, scope: EvalScope): unknown {
  if (!valueNeedsEval(value)) return value;
  return evalDeep(value, scope) as Value;
}

/** Every string inside a value, for reference checks. */
export function* stringsIn(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const v of value) yield* stringsIn(v);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) yield* stringsIn(v);
}
