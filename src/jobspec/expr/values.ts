/**
 * Values during evaluation and HCL's conversions between them. `UNKNOWN`
 * stands for a value only known at launch (a runtime reference): every
 * operation on it yields UNKNOWN, and the template keeps that `${…}` as text.
 */
import { ExprError, type Value } from './index.js';

export const UNKNOWN: unique symbol = Symbol('unknown');
export type Unknown = typeof UNKNOWN;
/** A value during evaluation: known, or only known at launch. */
export type Val = Value | Unknown;
export type ValueObject = { [k: string]: Value };

export function isObject(v: Val): v is ValueObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: Val): string {
  if (v === UNKNOWN) return 'runtime value';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Short description for "expected X, got Y" messages: `string "abc"`, `list`, `null`. */
export function describeValue(v: Val): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeName(v)} ${formatNumberOrBool(v)}`;
  return typeName(v);
}

function formatNumberOrBool(v: number | boolean): string {
  return typeof v === 'number' ? formatNumber(v) : String(v);
}

/** Numbers print as HCL prints them: integers without ".0", no exponent. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new ExprError(`expected a finite number, got ${n}`);
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? n.toFixed(0) : BigInt(n).toString();
  // Binary floating point shows artefacts HCL's arbitrary-precision numbers do not (0.1 + 0.2): 15 significant digits.
  const s = String(Number(n.toPrecision(15)));
  if (!s.includes('e')) return s;
  const [mant, expPart] = s.split('e');
  const exp = Number(expPart);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointAt = mant.replace('-', '').indexOf('.') < 0 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.');
  const newPoint = pointAt + exp;
  const body = newPoint <= 0 ? '0.' + '0'.repeat(-newPoint) + digits : digits.padEnd(newPoint, '0');
  return (neg ? '-' : '') + body;
}

const NUMBER_RE = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function toNumber(v: Val, what = 'number'): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (NUMBER_RE.test(s)) return Number(s);
  }
  throw new ExprError(`expected ${what}, got ${describeValue(v)}`);
}

export function toBool(v: Val): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ExprError(`expected bool, got ${describeValue(v)}`);
}

/** String conversion as HCL does for string parameters and templates: numbers and bools convert, null stays null. */
export function toStr(v: Val): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  throw new ExprError(`expected string, got ${describeValue(v)}`);
}

export function toList(v: Val, what = 'list'): Value[] {
  if (Array.isArray(v)) return v;
  throw new ExprError(`expected ${what}, got ${describeValue(v)}`);
}

export function toObject(v: Val, what = 'map'): ValueObject {
  if (isObject(v)) return v;
  throw new ExprError(`expected ${what}, got ${describeValue(v)}`);
}

/** Deep equality without conversion (`1 == "1"` is false, as in HCL). */
export function equals(a: Val, b: Val): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equals(a[k], b[k]));
  }
  return false;
}

/** Does any part of this value stand for a runtime value? */
export function containsUnknown(v: Val | Val[]): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some((x) => containsUnknown(x));
  if (isObject(v)) return Object.values(v).some((x) => containsUnknown(x));
  return false;
}

/** Keys of an object in HCL's (lexical) order. */
export function sortedKeys(o: ValueObject): string[] {
  return Object.keys(o).sort(compareStrings);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
