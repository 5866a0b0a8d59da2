/**
 * The function table: Nomad/Terraform's HCL functions that make sense in a
 * job file. Functions that would read the file system, the clock or
 * randomness are known but refused, so a job file means the same on every
 * load. `try` and `can` take unevaluated arguments and live in evaluate.ts.
 */
import { ExprError, type Value } from './index.js';
import { suggest } from './suggest.js';
import { UNKNOWN, type Val } from './values.js';
import { STRING_FUNCTIONS } from './fn-string.js';
import { COLLECTION_FUNCTIONS } from './fn-collection.js';
import { ENCODING_FUNCTIONS } from './fn-encoding.js';

export interface FunctionDef {
  /** Fewest and most arguments (`max` Infinity for variadic functions). */
  min: number;
  max: number;
  call(args: Value[]): Value;
}

export type FunctionTable = Record<string, FunctionDef>;

/** Terraform/Nomad functions tend knows but will not run: they depend on files, time, randomness or the network. */
const UNSUPPORTED = new Set([
  'file',
  'fileexists',
  'fileset',
  'filebase64',
  'filebase64sha256',
  'filebase64sha512',
  'filemd5',
  'filesha1',
  'filesha256',
  'filesha512',
  'templatefile',
  'abspath',
  'pathexpand',
  'timestamp',
  'plantimestamp',
  'timeadd',
  'timecmp',
  'formatdate',
  'uuid',
  'bcrypt',
  'rsadecrypt',
  'cidrhost',
  'cidrnetmask',
  'cidrsubnet',
  'cidrsubnets',
  'base64gzip',
  'textencodebase64',
  'textdecodebase64',
  'yamldecode',
  'sha512',
  'base64sha256',
  'base64sha512',
  'sum',
  'transpose',
  'chunklist',
  'alltrue',
  'anytrue',
  'one',
  'type',
  'sensitive',
  'nonsensitive',
  'log',
]);

export const FUNCTIONS: FunctionTable = Object.assign(Object.create(null) as FunctionTable, STRING_FUNCTIONS, COLLECTION_FUNCTIONS, ENCODING_FUNCTIONS);

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
  if (UNSUPPORTED.has(name)) return new ExprError(`function "${name}" is not supported by tend`);
  const close = suggest(name, [...Object.keys(FUNCTIONS), 'try', 'can']);
  return new ExprError(`unknown function "${name}"`, undefined, close === undefined ? undefined : `did you mean "${close}"?`);
}

/** Call a function by name; any runtime argument makes the result a runtime value. Errors carry no offset. */
export function callFunction(name: string, args: Val[]): Val {
  const def = FUNCTIONS[name];
  if (def === undefined) throw unknownFunctionError(name)!;
  if (args.length < def.min || args.length > def.max) throw new ExprError(`expected ${arity(def)}, got ${args.length}`);
  if (args.includes(UNKNOWN)) return UNKNOWN;
  return def.call(args as Value[]);
}
