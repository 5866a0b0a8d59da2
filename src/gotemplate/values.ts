/**
 * Go values as the template engine sees them. Plain JS values stand for
 * Go's dynamic values (`interface{}` data such as parsed JSON):
 *
 * | JS                         | Go                          |
 * |----------------------------|-----------------------------|
 * | `undefined`, `null`        | no value / nil              |
 * | string, boolean            | string, bool                |
 * | number (integral)          | int                         |
 * | GoFloat                    | float64                     |
 * | Array                      | []interface{}               |
 * | plain object               | map[string]interface{}      |
 * | GoObject subclass          | a typed struct or map with methods (NomadVarItems, …) |
 *
 * Floats are boxed because Go tells `1` from `1.0`: they print differently
 * (`1e+06`), and `eq 1 1.0` is an error.
 */

/** A Go float64. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** A method a typed value exposes to templates; `args` are the template's arguments. */
export type GoMethod = (...args: unknown[]) => unknown;

/**
 * A typed Go value: a struct (fields and methods) or a named map/slice type
 * with methods. Subclasses describe themselves through these hooks.
 */
export abstract class GoObject {
  /** The Go type's name for messages, as Go prints it (`dependency.NomadVarItem`). */
  abstract readonly goType: string;
  /** 'struct' (always true, has fields), 'map' (entries by key) or 'slice'. */
  abstract readonly goKind: 'struct' | 'map' | 'slice';
  /** A method by name, or undefined. Go looks methods up before fields and map keys. */
  goMethod(_name: string): GoMethod | undefined {
    return undefined;
  }
  /** A struct field, or NO_FIELD. */
  goField(_name: string): unknown {
    return NO_FIELD;
  }
  /** Map and slice kinds: the entries in Go's range order (maps sorted by key). */
  goEntries(): Array<[unknown, unknown]> {
    return [];
  }
  /** Map kind: the element for a key, or NO_FIELD when absent. */
  goGet(_key: string): unknown {
    return NO_FIELD;
  }
  /** Map kind: the element type's zero value (what `index` returns for a missing key). */
  goZero(): unknown {
    return undefined;
  }
  /** fmt.Stringer: what `{{ . }}` prints; undefined when the type has no String method. */
  goString(): string | undefined {
    return undefined;
  }
  /** Struct kinds: the field values in declaration order, for %v. */
  goFields(): unknown[] {
    return [];
  }
  /** What encoding/json sees (MarshalJSON, or the exported fields). */
  abstract goJSON(): unknown;
}

/** Returned by GoObject hooks when a field or key is absent. */
export const NO_FIELD: unique symbol = Symbol('no field');

/** A receive-only channel (consul-template's `loop` returns one): ranges with one variable only. */
export class GoChannel {
  constructor(
    readonly items: readonly unknown[],
    readonly goType = 'chan int64',
  ) {}
}

export type Kind = 'invalid' | 'bool' | 'int' | 'float' | 'string' | 'slice' | 'map' | 'struct' | 'chan' | 'func';

export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'undefined':
      return 'invalid';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'function':
      return 'func';
    case 'object':
      if (v === null) return 'invalid';
      if (v instanceof GoFloat) return 'float';
      if (Array.isArray(v)) return 'slice';
      if (v instanceof GoObject) return v.goKind;
      if (v instanceof GoChannel) return 'chan';
      return 'map';
    default:
      return 'invalid';
  }
}

/** The Go type name of a value, for messages ("string", "map[string]interface {}", …). */
export function typeName(v: unknown): string {
  if (v instanceof GoObject) return v.goType;
  if (v instanceof GoChannel) return v.goType;
  switch (kindOf(v)) {
    case 'invalid':
      return '<nil>';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
    case 'slice':
      return '[]interface {}';
    case 'func':
      return 'func';
    default:
      return 'map[string]interface {}';
  }
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoFloat) && !(v instanceof GoObject) && !(v instanceof GoChannel);
}

/** The number inside an int or a float. */
export function numberOf(v: unknown): number {
  return v instanceof GoFloat ? v.value : (v as number);
}

/** Go's truth: false, 0, a nil value, an empty string, slice or map are false. */
export function isTrue(v: unknown): boolean {
  switch (typeof v) {
    case 'undefined':
      return false;
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    case 'function':
      return true;
    case 'object':
      if (v === null) return false;
      if (v instanceof GoFloat) return v.value !== 0;
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof GoChannel) return true;
      if (v instanceof GoObject) return v.goKind === 'struct' || v.goEntries().length > 0;
      for (const k in v) if (Object.hasOwn(v, k)) return true;
      return false;
    default:
      return true;
  }
}

/** A map's entries in Go's range order: keys sorted (numbers numerically, strings by bytes). */
export function sortedEntries(m: Record<string, unknown>): Array<[string, unknown]> {
  const keys = Object.keys(m);
  keys.sort(compareStrings);
  const out: Array<[string, unknown]> = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = [keys[i], m[keys[i]]];
  return out;
}

/** Go compares strings by bytes (UTF-8), JS by UTF-16 units; they differ only past the BMP. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Length in Go's terms: strings in bytes. */
export function byteLength(s: string): number {
  // ASCII fast path: most template strings are ASCII.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}

/**
 * Go's float formatting for %v (strconv 'g' with the shortest digits): the
 * exponent form when the decimal exponent is < -4 or >= 6, so 1e6 prints
 * `1e+06` and 123456789.0 prints `1.23456789e+08`.
 */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const e = f.toExponential();
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${e.slice(0, at)}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  return String(f);
}

/** How `{{ value }}` prints (fmt.Fprint of the value, with `<no value>` for a missing one). */
export function printValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isInteger(v) ? String(v) : formatFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return '<no value>';
    default:
      return formatV(v, true);
  }
}

/** fmt's %v of a value (nested values are printed the way fmt prints them inside [] and map[]). */
export function formatV(v: unknown, top = false): string {
  if (v === undefined || v === null) return top ? '<no value>' : '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isInteger(v) ? String(v) : formatFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'function':
      return '0x0';
  }
  if (v instanceof GoFloat) return formatFloat(v.value);
  if (v instanceof GoObject) {
    const s = v.goString();
    if (s !== undefined) return s;
    if (v.goKind === 'struct') return `{${v.goFields().map((x) => formatV(x)).join(' ')}}`;
    if (v.goKind === 'slice') return `[${v.goEntries().map(([, x]) => formatV(x)).join(' ')}]`;
    return `map[${v.goEntries().map(([k, x]) => `${formatV(k)}:${formatV(x)}`).join(' ')}]`;
  }
  if (v instanceof GoChannel) return '0xc000010000';
  if (Array.isArray(v)) return `[${v.map((x) => formatV(x)).join(' ')}]`;
  return `map[${sortedEntries(v as Record<string, unknown>).map(([k, x]) => `${k}:${formatV(x)}`).join(' ')}]`;
}

