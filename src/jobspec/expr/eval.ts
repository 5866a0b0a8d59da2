// Placeholder until the evaluator lands (owned by the expr work).
import type { EvalScope, Value } from './index.js';

/** Evaluate one template string. A whole-string single interpolation `"${expr}"` yields the expression's typed value. */
export function evalTemplate(_text: string, _scope: EvalScope): Value {
  throw new Error('not implemented');
}
/** Walk a JSON value from hcl2json and evaluate every string that needs it (objects/arrays recursively). */
export function evalDeep(_value: unknown, _scope: EvalScope): Value {
  throw new Error('not implemented');
}
/** True when the string holds `${` or `%{` (not escaped as `$${` / `%%{`). */
export function needsEval(_text: string): boolean {
  throw new Error('not implemented');
}
/** Load-time references (`var.x`, `local.y`) used by a template string, for dependency ordering of locals. */
export function referencesOf(_text: string): { root: 'var' | 'local'; name: string }[] {
  throw new Error('not implemented');
}
/** Turn `$${` into `${` and `%%{` into `%{` in a literal string. */
export function unescapeTemplate(_text: string): string {
  throw new Error('not implemented');
}
/** True for a runtime root reference text like `NOMAD_TASK_DIR`, `attr.kernel.name`, `env["HOME"]`. */
export function isRuntimeRef(_ref: string): boolean {
  throw new Error('not implemented');
}
