/** Collection, type conversion and numeric functions (Terraform semantics). */
import { ExprError, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import {
  compareStrings,
  describeValue,
  equals,
  isObject,
  sortedKeys,
  toBool,
  toList,
  toNumber,
  toObject,
  toStr,
  type ValueObject,
} from './values.js';

const fn = (min: number, max: number, call: (args: Value[]) => Value) => ({ min, max, call });
const num1 = (f: (n: number) => number) => fn(1, 1, ([n]) => f(toNumber(n)));

function whole(v: Value, what: string): number {
  const n = toNumber(v);
  if (!Number.isInteger(n)) throw new ExprError(`expected a whole number for ${what}, got ${describeValue(v)}`);
  return n;
}

function distinct(list: Value[]): Value[] {
  const out: Value[] = [];
  for (const v of list) if (!out.some((o) => equals(o, v))) out.push(v);
  return out;
}

/** A set as HCL orders it: no duplicates; strings sorted lexically, numbers numerically. */
function toSet(list: Value[]): Value[] {
  const out = distinct(list);
  if (out.every((v) => typeof v === 'string')) return (out as string[]).sort(compareStrings);
  if (out.every((v) => typeof v === 'number')) return (out as number[]).sort((a, b) => a - b);
  return out;
}

function flatten(list: Value[], out: Value[] = []): Value[] {
  for (const v of list) {
    if (Array.isArray(v)) flatten(v, out);
    else out.push(v);
  }
  return out;
}

const PARSEINT_DIGITS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function parseInteger(text: string, base: number): number {
  if (!Number.isInteger(base) || base < 2 || base > 62) throw new ExprError(`expected a base from 2 to 62, got ${base}`);
  const neg = text.startsWith('-');
  const body = neg || text.startsWith('+') ? text.slice(1) : text;
  if (body === '') throw new ExprError(`expected a number in base ${base}, got ${JSON.stringify(text)}`);
  let n = 0n;
  for (const ch of body) {
    const d = base <= 36 ? PARSEINT_DIGITS.indexOf(ch.toLowerCase()) : PARSEINT_DIGITS.indexOf(ch);
    if (d < 0 || d >= base) throw new ExprError(`expected a number in base ${base}, got ${JSON.stringify(text)}`);
    n = n * BigInt(base) + BigInt(d);
  }
  return Number(neg ? -n : n);
}

const MAX_RANGE = 1024;

function range(args: Value[]): Value {
  const nums = args.map((a) => toNumber(a));
  const [start, limit] = nums.length === 1 ? [0, nums[0]] : [nums[0], nums[1]];
  const step = nums[2] ?? (start <= limit ? 1 : -1);
  if (step === 0) throw new ExprError('expected a non-zero step, got 0');
  if ((step > 0 && start > limit) || (step < 0 && start < limit)) {
    throw new ExprError(`expected a step that moves from ${start} towards ${limit}, got ${step}`);
  }
  const out: number[] = [];
  for (let v = start; step > 0 ? v < limit : v > limit; v += step) {
    if (out.length >= MAX_RANGE) throw new ExprError(`expected at most ${MAX_RANGE} elements, got more`);
    out.push(v);
  }
  return out;
}

/** Convert an argument that is null-tolerant: null passes through as in Terraform's to* functions. */
const convert = (f: (v: Value) => Value) => fn(1, 1, ([v]) => (v === null ? null : f(v)));

export const COLLECTION_FUNCTIONS: FunctionTable = {
  length: fn(1, 1, ([v]) => {
    if (typeof v === 'string') return Array.from(v).length;
    if (Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new ExprError(`expected a string, list or map, got ${describeValue(v)}`);
  }),
  concat: fn(1, Infinity, (lists) => lists.flatMap((l) => toList(l))),
  contains: fn(2, 2, ([list, v]) => toList(list).some((x) => equals(x, v))),
  distinct: fn(1, 1, ([list]) => distinct(toList(list))),
  element: fn(2, 2, ([list, i]) => {
    const l = toList(list);
    const n = whole(i, 'the index');
    if (l.length === 0) throw new ExprError('expected a non-empty list, got an empty list');
    if (n < 0) throw new ExprError(`expected a non-negative index, got ${n}`);
    return l[n % l.length];
  }),
  flatten: fn(1, 1, ([list]) => flatten(toList(list))),
  keys: fn(1, 1, ([m]) => sortedKeys(toObject(m))),
  values: fn(1, 1, ([m]) => {
    const o = toObject(m);
    return sortedKeys(o).map((k) => o[k]);
  }),
  lookup: fn(2, 3, ([m, key, ...def]) => {
    const o = toObject(m);
    const k = toStr(key);
    if (Object.hasOwn(o, k)) return o[k];
    if (def.length > 0) return def[0];
    throw new ExprError(`expected the map to have key ${JSON.stringify(k)}, got no such key and no default`);
  }),
  merge: fn(0, Infinity, (maps) => {
    const out: ValueObject = {};
    for (const m of maps) if (m !== null) Object.assign(out, toObject(m, 'map or object'));
    return out;
  }),
  range: fn(1, 3, range),
  reverse: fn(1, 1, ([list]) => [...toList(list)].reverse()),
  slice: fn(3, 3, ([list, s, e]) => {
    const l = toList(list);
    const [a, b] = [whole(s, 'the start index'), whole(e, 'the end index')];
    if (a < 0 || b > l.length || a > b) throw new ExprError(`expected 0 <= start <= end <= ${l.length}, got start ${a} and end ${b}`);
    return l.slice(a, b);
  }),
  sort: fn(1, 1, ([list]) => toList(list).map((v) => toStr(v)).sort(compareStrings)),
  zipmap: fn(2, 2, ([ks, vs]) => {
    const [k, v] = [toList(ks), toList(vs)];
    if (k.length !== v.length) throw new ExprError(`expected as many values as keys (${k.length}), got ${v.length}`);
    const out: ValueObject = {};
    k.forEach((key, i) => (out[toStr(key)] = v[i]));
    return out;
  }),
  coalesce: fn(1, Infinity, (vals) => {
    const found = vals.find((v) => v !== null && v !== '');
    if (found === undefined) throw new ExprError('expected a non-null, non-empty argument, got none');
    return found;
  }),
  coalescelist: fn(1, Infinity, (lists) => {
    for (const l of lists) if (toList(l).length > 0) return l;
    throw new ExprError('expected a non-empty list, got none');
  }),
  compact: fn(1, 1, ([list]) => toList(list).filter((v) => v !== null && toStr(v) !== '').map((v) => toStr(v))),
  index: fn(2, 2, ([list, v]) => {
    const i = toList(list).findIndex((x) => equals(x, v));
    if (i < 0) throw new ExprError(`expected the list to contain ${describeValue(v)}, got no such element`);
    return i;
  }),
  setunion: fn(1, Infinity, (sets) => toSet(sets.flatMap((s) => toList(s, 'set')))),
  setintersection: fn(1, Infinity, (sets) => {
    const [first, ...rest] = sets.map((s) => toList(s, 'set'));
    return toSet(first.filter((v) => rest.every((r) => r.some((x) => equals(x, v)))));
  }),
  tolist: convert((v) => toList(v)),
  toset: convert((v) => toSet(toList(v, 'list or set'))),
  tomap: convert((v) => toObject(v)),
  tostring: convert((v) => toStr(v)),
  tonumber: convert((v) => toNumber(v)),
  tobool: convert((v) => toBool(v)),
  min: fn(1, Infinity, (ns) => Math.min(...ns.map((n) => toNumber(n)))),
  max: fn(1, Infinity, (ns) => Math.max(...ns.map((n) => toNumber(n)))),
  abs: num1(Math.abs),
  ceil: num1(Math.ceil),
  floor: num1(Math.floor),
  signum: num1((n) => (n > 0 ? 1 : n < 0 ? -1 : 0)),
  pow: fn(2, 2, ([a, b]) => Math.pow(toNumber(a), toNumber(b))),
  parseint: fn(2, 2, ([s, base]) => parseInteger(toStr(s), whole(base, 'the base'))),
};
