/**
 * Go's predefined template functions (text/template funcs.go): and, or,
 * not, len, index, slice, print, printf, println, html, js, urlquery, call
 * and the comparisons eq, ne, lt, le, gt, ge, with Go's messages.
 */
import { ArgTypeError, type TemplateFunc } from './exec.js';
import { sprintf } from './printf.js';
import { GoChannel, GoFloat, GoObject, NO_FIELD, byteLength, formatV, isPlainMap, isTrue, kindOf, typeName } from './values.js';

type Fn = TemplateFunc;
const fn = (arity: number, call: (args: unknown[]) => unknown, variadic = false): Fn => ({ arity, variadic, call });

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatV(args[i]);
  }
  return out;
}

/** What html, js and urlquery format: a single string as is, else fmt.Sprint. */
function evalArgs(args: unknown[]): string {
  return args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args);
}

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind | undefined {
  const k = kindOf(v);
  return k === 'bool' || k === 'int' || k === 'float' || k === 'string' || k === 'invalid' ? k : undefined;
}

function num(v: unknown): number {
  return v instanceof GoFloat ? v.value : (v as number);
}

function eq(args: unknown[]): boolean {
  if (args.length < 2) throw new Error('missing argument for comparison');
  const a = args[0] === null ? undefined : args[0];
  const k1 = basicKind(a) ?? 'other';
  for (let i = 1; i < args.length; i++) {
    const b = args[i] === null ? undefined : args[i];
    const k2 = basicKind(b) ?? 'other';
    if (k1 !== k2) {
      if (a !== undefined && b !== undefined) throw new Error('incompatible types for comparison');
      continue;
    }
    switch (k1) {
      case 'int':
      case 'float':
        if (num(a) === num(b)) return true;
        break;
      case 'invalid':
        return true;
      case 'other':
        if (Array.isArray(a) || isPlainMap(a) || (a instanceof GoObject && a.goKind !== 'struct')) {
          throw new Error(`non-comparable type ${formatV(a)}: ${typeName(a)}`);
        }
        if (a === b) return true;
        break;
      default:
        if (a === b) return true;
    }
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  a = a === null ? undefined : a;
  b = b === null ? undefined : b;
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (!k1 || !k2 || k1 === 'invalid' || k2 === 'invalid') throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  if (k1 === 'bool') throw new Error('invalid type for comparison');
  if (k1 === 'string') return (a as string) < (b as string);
  return num(a) < num(b);
}

function intArg(v: unknown, what: string): number {
  if (v === undefined || v === null) throw new Error(`cannot index ${what} with nil`);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`cannot index ${what} with type ${typeName(v)}`);
  return v;
}

function index(args: unknown[]): unknown {
  let item = args[0];
  if (item === undefined) throw new Error('index of untyped nil');
  for (let i = 1; i < args.length; i++) {
    const key = args[i];
    if (item === null || item === undefined) throw new Error('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      const x = intArg(key, 'slice/array');
      if (x < 0 || x >= bytes.length) throw new Error(`index out of range: ${x}`);
      item = bytes[x];
    } else if (Array.isArray(item) || (item instanceof GoObject && item.goKind === 'slice')) {
      const list = Array.isArray(item) ? item : item.goEntries().map(([, v]) => v);
      const x = intArg(key, 'slice/array');
      if (x < 0 || x >= list.length) throw new Error(`index out of range: ${x}`);
      item = list[x];
    } else if (item instanceof GoObject && item.goKind === 'map') {
      if (typeof key !== 'string') throw new Error(`value has type ${typeName(key)}; should be string`);
      const v = item.goGet(key);
      item = v === NO_FIELD ? item.goZero() : v;
    } else if (isPlainMap(item)) {
      if (typeof key !== 'string') throw new Error(`value has type ${typeName(key)}; should be string`);
      item = Object.hasOwn(item, key) ? item[key] : null;
    } else {
      throw new Error(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function slice(args: unknown[]): unknown {
  const item = args[0];
  if (item === undefined || item === null) throw new Error('slice of untyped nil');
  const idx = args.slice(1);
  if (idx.length > 3) throw new Error(`too many slice indexes: ${idx.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (idx.length === 3) throw new Error('cannot 3-index slice a string');
    len = byteLength(item);
  } else if (Array.isArray(item)) {
    len = item.length;
  } else {
    throw new Error(`can't slice item of type ${typeName(item)}`);
  }
  const x = [0, len, len];
  idx.forEach((v, i) => {
    const n = intArg(v, 'slice/array');
    if (n < 0 || n > len) throw new Error(`index out of range: ${n}`);
    x[i] = n;
  });
  if (x[0] > x[1]) throw new Error(`invalid slice index: ${x[0]} > ${x[1]}`);
  if (idx.length === 3 && x[1] > x[2]) throw new Error(`invalid slice index: ${x[1]} > ${x[2]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(x[0], x[1]).toString('utf8');
  return item.slice(x[0], x[1]);
}

function length(v: unknown): number {
  if (v === undefined || v === null) throw new Error('len of nil pointer');
  if (typeof v === 'string') return byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof GoChannel) return 0;
  if (v instanceof GoObject && v.goKind !== 'struct') return v.goEntries().length;
  if (isPlainMap(v)) return Object.keys(v).length;
  throw new Error(`len of type ${typeName(v)}`);
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const simple: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };
    if (ch in simple) out += simple[ch];
    else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out;
}

function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Go's builtins. `and`/`or` are evaluated lazily by the evaluator; their `call` is unused. */
export function builtinFunctions(): Map<string, TemplateFunc> {
  return new Map<string, TemplateFunc>([
    ['and', fn(1, (a) => a[a.length - 1], true)],
    ['or', fn(1, (a) => a[a.length - 1], true)],
    ['not', fn(1, (a) => !isTrue(a[0]))],
    ['len', fn(1, (a) => length(a[0]))],
    ['index', fn(1, index, true)],
    ['slice', fn(1, slice, true)],
    ['print', fn(0, (a) => sprint(a), true)],
    ['println', fn(0, (a) => a.map((x) => formatV(x)).join(' ') + '\n', true)],
    [
      'printf',
      fn(
        1,
        (a) => {
          if (typeof a[0] !== 'string') throw new ArgTypeError(`wrong type for value; expected string; got ${typeName(a[0])}`);
          return sprintf(a[0], a.slice(1));
        },
        true,
      ),
    ],
    ['html', fn(0, (a) => htmlEscape(evalArgs(a)), true)],
    ['js', fn(0, (a) => jsEscape(evalArgs(a)), true)],
    ['urlquery', fn(0, (a) => queryEscape(evalArgs(a)), true)],
    [
      'call',
      fn(
        1,
        (a) => {
          throw new Error(`non-function ${a[0] === undefined || a[0] === null ? 'nil' : formatV(a[0])} of type ${typeName(a[0])}`);
        },
        true,
      ),
    ],
    ['eq', fn(1, eq, true)],
    ['ne', fn(2, (a) => !eq(a))],
    ['lt', fn(2, (a) => lt(a[0], a[1]))],
    ['le', fn(2, (a) => lt(a[0], a[1]) || eq(a))],
    ['gt', fn(2, (a) => !(lt(a[0], a[1]) || eq(a)))],
    ['ge', fn(2, (a) => !lt(a[0], a[1]))],
  ]);
}
