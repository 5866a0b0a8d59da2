/**
 * HCL2 expression evaluation for job files (contract; implementation in the
 * sibling files). `@cdktn/hcl2json` hands back every non-literal expression
 * as source text in template form: `"${var.x + 1}"`, `"${upper(local.y)}"`,
 * `"prefix-${var.n}-${NOMAD_TASK_NAME}"`, and keeps `$${` escapes and
 * `%{ if }` directives as written. This module evaluates such strings.
 *
 * Scope roots:
 *  - load-time roots, resolved now: `var.<name>`, `local.<name>`.
 *  - runtime roots, preserved verbatim as `${…}` text for interpolateTask at
 *    launch: `NOMAD_*` bare names, `node.*`, `attr.*`, `meta.*`, `env[...]`/`env.X`,
 *    `device.*`, `NOMAD_META_*`. A template mixing both keeps the runtime parts.
 *  - any other root (`${HOME}`, `${UNKNOWN}`) stays as written, as in
 *    Nomad's parser; `onUnknownRef` hears of it.
 */

export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

export interface EvalScope {
  vars: Record<string, Value>;
  locals: Record<string, Value>;
  /** Resolve a local lazily (locals may reference each other); throws ExprError on a cycle. */
  local?: (name: string) => Value;
  /** Names bound around the expression (a `dynamic` block's iterator). */
  bound?: Record<string, Value>;
  /** Told of each reference kept as written because its root is unknown (`${HOME}`), with a hint when it looks like a typo. */
  onUnknownRef?: (ref: string, offset: number, hint?: string) => void;
  /** Where the file functions (`file`, `fileset`, …) read; without it they are refused. */
  files?: import('./fn-file.js').FileAccess;
}

/** An evaluation problem; `offset` is the 0-based char offset into the evaluated string when known. */
export class ExprError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
    /** e.g. `did you mean "var.region"?` */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ExprError';
  }
}

export { evalTemplate, evalDeep, needsEval, referencesOf, unescapeTemplate, isRuntimeRef } from './eval.js';
export { suggest } from './suggest.js';
