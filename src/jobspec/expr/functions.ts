/**
 * The function table: Nomad's HCL2 functions (jobspec2's table) plus a few
 * of Terraform's that tend had already. The file functions read relative to
 * the job file (fn-file.ts); `uuidv4` and `bcrypt` draw from the file's
 * content (fn-extra.ts), so a job file means the same on every load.
 * Terraform functions Nomad does not have are known but refused, with the
 * reason. `try` and `can` take unevaluated arguments and live in evaluate.ts.
 */
import { ExprError, type EvalScope, type Value } from './index.js';
import { suggest } from './suggest.js';
import { UNKNOWN, type Val } from './values.js';
import { STRING_FUNCTIONS } from './fn-string.js';
import { COLLECTION_FUNCTIONS } from './fn-collection.js';
import { ENCODING_FUNCTIONS } from './fn-encoding.js';
import { FILE_FUNCTIONS } from './fn-file.js';
import { NET_FUNCTIONS } from './fn-net.js';
import { TIME_FUNCTIONS } from './fn-time.js';
import { EXTRA_FUNCTIONS } from './fn-extra.js';

export interface FunctionDef {
  /** Fewest and most arguments (`max` Infinity for variadic functions). */
  min: number;
  max: number;
  /** `scope` gives the file functions their job file's dir (and `uuidv4` its seed). */
  call(args: Value[], scope?: EvalScope): Value;
}

export type FunctionTable = Record<string, FunctionDef>;

/** Terraform functions Nomad's job parser does not have (so a job file using one would not run on Nomad), and why tend has none either. */
const UNSUPPORTED: Record<string, string> = {
  templatefile: 'Nomad has no templatefile(); use file() with a template block, or fileescaped()',
  timestamp: 'Nomad has no timestamp(); a job file must mean the same on every load',
  plantimestamp: 'Nomad has no plantimestamp()',
  timecmp: 'Nomad has no timecmp()',
  uuid: 'Nomad has uuidv4() instead',
  rsadecrypt: "Node's crypto refuses RSA PKCS#1 v1.5 decryption (CVE-2023-46809), and tend does not write RSA by hand",
  convert: 'tend cannot read type expressions yet; use tostring(), tonumber(), tolist(), tomap()',
  filebase64sha256: 'Nomad has no filebase64sha256()',
  filebase64sha512: 'Nomad has no filebase64sha512()',
  filemd5: 'Nomad has no filemd5()',
  filesha1: 'Nomad has no filesha1()',
  filesha256: 'Nomad has no filesha256()',
  filesha512: 'Nomad has no filesha512()',
  base64gzip: 'Nomad has no base64gzip()',
  textencodebase64: 'Nomad has no textencodebase64()',
  textdecodebase64: 'Nomad has no textdecodebase64()',
  base64sha256: 'Nomad has no base64sha256()',
  base64sha512: 'Nomad has no base64sha512()',
  sum: 'Nomad has no sum()',
  transpose: 'Nomad has no transpose()',
  alltrue: 'Nomad has no alltrue()',
  anytrue: 'Nomad has no anytrue()',
  one: 'Nomad has no one()',
  type: 'Nomad has no type()',
  sensitive: 'Nomad has no sensitive()',
  nonsensitive: 'Nomad has no nonsensitive()',
};

export const FUNCTIONS: FunctionTable = Object.assign(
  Object.create(null) as FunctionTable,
  STRING_FUNCTIONS,
  COLLECTION_FUNCTIONS,
  ENCODING_FUNCTIONS,
  FILE_FUNCTIONS,
  NET_FUNCTIONS,
  TIME_FUNCTIONS,
  EXTRA_FUNCTIONS,
);

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

function arity(def: FunctionDef): string {
  if (def.max === Infinity) return `at least ${def.min} ${plural(def.min)}`;
  if (def.min === def.max) return `${def.min} ${plural(def.min)}`;
  return `${def.min} to ${def.max} arguments`;
}

/** The error for a name that is not a function tend runs, or undefined when it is one. */
export function unknownFunctionError(name: string): ExprError | undefined {
  if (name in FUNCTIONS || name === 'try' || name === 'can') return undefined;
  if (Object.hasOwn(UNSUPPORTED, name)) return new ExprError(`function "${name}" is not supported by tend`, undefined, UNSUPPORTED[name]);
  const close = suggest(name, [...Object.keys(FUNCTIONS), 'try', 'can']);
  return new ExprError(`unknown function "${name}"`, undefined, close === undefined ? undefined : `did you mean "${close}"?`);
}

/** Call a function by name; any runtime argument makes the result a runtime value. Errors carry no offset. */
export function callFunction(name: string, args: Val[], scope?: EvalScope): Val {
  const def = FUNCTIONS[name];
  if (def === undefined) throw unknownFunctionError(name)!;
  if (args.length < def.min || args.length > def.max) throw new ExprError(`expected ${arity(def)}, got ${args.length}`);
  if (args.includes(UNKNOWN)) return UNKNOWN;
  return def.call(args as Value[], scope);
}
