/**
 * consul-template's helper functions that need no outside data: strings,
 * collections, math, encodings and hashes, with consul-template's argument
 * order (the piped value last) and messages.
 */
import { createHash, createHmac } from 'node:crypto';
import { ArgTypeError, type TemplateFunc } from './exec.js';
import { GoChannel, GoFloat, GoObject, kindOf, typeName } from './values.js';

const fn = (arity: number, call: TemplateFunc['call'], variadic = false): TemplateFunc => ({ arity, variadic, call });

/** A string parameter: Go refuses anything else (a NomadVarItem too: use `.Value`). */
export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) throw new ArgTypeError('invalid value; expected string');
  throw new ArgTypeError(`wrong type for value; expected string; got ${v === null ? 'interface {}' : typeName(v)}`);
}

function int(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (v === undefined) throw new ArgTypeError('invalid value; expected int');
  throw new ArgTypeError(`wrong type for value; expected int; got ${v === null ? 'interface {}' : typeName(v)}`);
}

/** A []string parameter (also accepted: any list whose elements are all strings). */
function strings(v: unknown): string[] {
  const list = Array.isArray(v) ? v : v instanceof GoObject && v.goKind === 'slice' ? v.goEntries().map(([, x]) => x) : undefined;
  if (list && list.every((x) => typeof x === 'string')) return list as string[];
  throw new ArgTypeError(`wrong type for value; expected []string; got ${v === undefined ? '<nil>' : typeName(v)}`);
}

function list(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof GoObject && v.goKind === 'slice') return v.goEntries().map(([, x]) => x);
  return undefined;
}

/** consul-template's `in`: an element of a list (same kind), or a substring of a string. */
export function isIn(l: unknown, v: unknown): boolean {
  const items = list(l);
  if (items) {
    const kv = kindOf(v);
    for (const x of items) {
      const kx = kindOf(x);
      if ((kx === 'int' || kx === 'float' || kx === 'string') && kx === kv && num(x) === num(v)) return true;
    }
    return false;
  }
  return typeof l === 'string' && typeof v === 'string' && l.includes(v);
}

function num(v: unknown): unknown {
  return v instanceof GoFloat ? v.value : v;
}

/** containsAll/Any/None/NotAll (consul-template's containsSomeFunc). */
function containsSome(retTrue: boolean, invert: boolean): TemplateFunc {
  return fn(2, ([v, l]) => {
    const needles = list(v);
    if (!needles) throw new ArgTypeError(`wrong type for value; expected []interface {}; got ${typeName(v)}`);
    for (const x of needles) if (isIn(l, x) !== invert) return !retTrue;
    return retTrue;
  });
}

type Num = { kind: 'int' | 'float'; v: number };

function numArg(name: string, v: unknown): Num {
  if (typeof v === 'number') return { kind: Number.isInteger(v) ? 'int' : 'float', v };
  if (v instanceof GoFloat) return { kind: 'float', v: v.value };
  throw new Error(`${name}: unknown type for ${JSON.stringify(v === undefined || v === null ? '<nil>' : String(v))} (${typeName(v)})`);
}

/** consul-template's math: `op b a` computes a OP b (the piped value is `a`). */
function math(name: string, op: (a: number, b: number, ints: boolean) => number, floatsOk = true): TemplateFunc {
  return fn(2, ([b, a]) => {
    const x = numArg(name, a);
    const y = numArg(name, b);
    if (!floatsOk && (x.kind === 'float' || y.kind === 'float')) {
      const bad = x.kind === 'float' ? a : b;
      throw new Error(`${name}: unknown type for ${JSON.stringify(String(numArg(name, bad).v))} (float64)`);
    }
    const ints = x.kind === 'int' && y.kind === 'int';
    const r = op(x.v, y.v, ints);
    return ints ? r : new GoFloat(r);
  });
}

function intDiv(a: number, b: number, ints: boolean, rem: boolean): number {
  if (ints && b === 0) throw new Error('runtime error: integer divide by zero');
  if (!ints) return rem ? a % b : a / b;
  return rem ? a % b : Math.trunc(a / b);
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`parseBool: strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

function parseIntStrict(name: string, fnName: string, s: string, unsigned: boolean): number {
  if (!(unsigned ? /^\+?[0-9]+$/ : /^[+-]?[0-9]+$/).test(s)) throw new Error(`${name}: strconv.${fnName}: parsing ${JSON.stringify(s)}: invalid syntax`);
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw new Error(`${name}: strconv.${fnName}: parsing ${JSON.stringify(s)}: value out of range`);
  return v;
}

/**
 * Go's padded base64 decoding (StdEncoding / URLEncoding): strict about the
 * alphabet and padding, newlines skipped, errors at Go's input byte.
 */
function b64decode(name: string, s: string, url: boolean): string {
  const ok = url ? /[A-Za-z0-9\-_]/ : /[A-Za-z0-9+/]/;
  const fail = (at: number): never => {
    throw new Error(`${name}: illegal base64 data at input byte ${at}`);
  };
  let clean = '';
  let i = 0;
  const next = (): [string | undefined, number] => {
    while (i < s.length && (s[i] === '\n' || s[i] === '\r')) i++;
    return i < s.length ? [s[i], i++] : [undefined, i];
  };
  for (;;) {
    let j = 0;
    let quantumStart = -1;
    for (; j < 4; j++) {
      const [c, at] = next();
      if (quantumStart < 0) quantumStart = at;
      if (c === undefined) {
        if (j === 0) return Buffer.from(clean, url ? 'base64url' : 'base64').toString('utf8');
        fail(at - j);
      }
      if (c === '=') {
        // Padding: "xx==" or "xxx=", then the end.
        if (j < 2) fail(at);
        if (j === 2) {
          const [c2, at2] = next();
          if (c2 !== '=') fail(c2 === undefined ? at2 - 1 : at2);
        }
        const [rest, atRest] = next();
        if (rest !== undefined) fail(atRest);
        return Buffer.from(clean, url ? 'base64url' : 'base64').toString('utf8');
      }
      if (!ok.test(c!)) fail(at);
      clean += c;
    }
  }
}

/** Go's regexp syntax in JS: (?P<name>…) and leading (?i)(?s)(?m) flags. */
export function goRegExp(re: string, global = false): RegExp {
  let flags = global ? 'g' : '';
  let src = re;
  const m = /^\(\?([ims]+)\)/.exec(src);
  if (m) {
    flags += m[1];
    src = src.slice(m[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(src, flags);
  } catch (err) {
    throw new Error(`error parsing regexp: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/** Go's Regexp.Expand template: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_, all: string, braced?: string, bare?: string) => {
    if (all === '$') return '$';
    const name = braced ?? bare!;
    const v = /^[0-9]+$/.test(name) ? match[Number(name)] : match.groups?.[name];
    return v ?? '';
  });
}

function replaceAllRegex(re: RegExp, repl: string, s: string): string {
  let out = '';
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out += s.slice(last, m.index) + expand(repl, m);
    last = m.index + m[0].length;
    if (m[0].length === 0) re.lastIndex++;
  }
  return out + s.slice(last);
}

function toTitle(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, pre: string, c: string) => pre + c.toUpperCase());
}

function indent(spaces: number, s: string): string {
  if (spaces < 0) throw new Error('indent value must be a positive integer');
  const prefix = ' '.repeat(spaces);
  return s.replace(/(^|\n)(?=[^\n])/g, `$1${prefix}`);
}

/** The helper functions by name. */
export function helperFunctions(): Array<[string, TemplateFunc]> {
  return [
    ['base64Encode', fn(1, ([s]) => Buffer.from(str(s), 'utf8').toString('base64'))],
    ['base64Decode', fn(1, ([s]) => b64decode('base64Decode', str(s), false))],
    ['base64URLEncode', fn(1, ([s]) => Buffer.from(str(s), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_'))],
    ['base64URLDecode', fn(1, ([s]) => b64decode('base64URLDecode', str(s), true))],
    ['contains', fn(2, ([v, l]) => isIn(l, v))],
    ['in', fn(2, ([l, v]) => isIn(l, v))],
    ['containsAll', containsSome(true, true)],
    ['containsAny', containsSome(false, false)],
    ['containsNone', containsSome(true, false)],
    ['containsNotAll', containsSome(false, true)],
    [
      'loop',
      fn(
        1,
        (args) => {
          if (args.length > 2) throw new Error(`loop: wrong number of arguments, expected 1 or 2, but got ${args.length}`);
          const to = (v: unknown): number => {
            if (typeof v === 'number' && Number.isInteger(v)) return v;
            if (typeof v === 'string') return v === '' ? 0 : parseIntStrict('parseInt', 'ParseInt', v, false);
            throw new Error(`loop: bad argument type: ${typeName(v)}`);
          };
          const [start, stop] = args.length === 1 ? [0, to(args[0])] : [to(args[0]), to(args[1])];
          const items: number[] = [];
          for (let i = start; i < stop; i++) items.push(i);
          return new GoChannel(items);
        },
        true,
      ),
    ],
    ['join', fn(2, ([sep, a]) => strings(a).join(str(sep)))],
    [
      'split',
      fn(2, ([sep, s]) => {
        const t = str(s).trim();
        if (t === '') return [];
        return str(sep) === '' ? [...t] : t.split(str(sep));
      }),
    ],
    [
      'splitToMap',
      fn(3, ([sep1, sep2, s]) => {
        const out: Record<string, string> = {};
        const t = str(s).trim();
        if (t === '') return out;
        for (const part of t.split(str(sep1))) {
          const at = part.indexOf(str(sep2));
          if (at >= 0) out[part.slice(0, at)] = part.slice(at + str(sep2).length);
        }
        return out;
      }),
    ],
    ['replaceAll', fn(3, ([f, t, s]) => str(s).replaceAll(str(f), str(t)))],
    ['regexReplaceAll', fn(3, ([re, repl, s]) => replaceAllRegex(goRegExp(str(re), true), str(repl), str(s)))],
    ['regexMatch', fn(2, ([re, s]) => goRegExp(str(re)).test(str(s)))],
    ['toLower', fn(1, ([s]) => str(s).toLowerCase())],
    ['toUpper', fn(1, ([s]) => str(s).toUpperCase())],
    ['toTitle', fn(1, ([s]) => toTitle(str(s)))],
    ['trimSpace', fn(1, ([s]) => str(s).replace(/^[\s\u0085]+|[\s\u0085]+$/g, ''))],
    ['trim', fn(2, ([cut, s]) => trimSet(str(s), str(cut)))],
    ['trimPrefix', fn(2, ([p, s]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)))],
    ['trimSuffix', fn(2, ([p, s]) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)))],
    ['indent', fn(2, ([n, s]) => indent(int(n), str(s)))],
    ['parseBool', fn(1, ([s]) => (str(s) === '' ? false : parseBool(str(s))))],
    ['parseInt', fn(1, ([s]) => (str(s) === '' ? 0 : parseIntStrict('parseInt', 'ParseInt', str(s), false)))],
    ['parseUint', fn(1, ([s]) => (str(s) === '' ? 0 : parseIntStrict('parseUint', 'ParseUint', str(s), true)))],
    [
      'parseFloat',
      fn(1, ([s]) => {
        const t = str(s);
        if (t === '') return new GoFloat(0);
        if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|[Ii]nf(inity)?|NaN)$/.test(t)) {
          throw new Error(`parseFloat: strconv.ParseFloat: parsing ${JSON.stringify(t)}: invalid syntax`);
        }
        return new GoFloat(/inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : Number(t));
      }),
    ],
    ['sha256Hex', fn(1, ([s]) => createHash('sha256').update(str(s), 'utf8').digest('hex'))],
    ['md5sum', fn(1, ([s]) => createHash('md5').update(str(s), 'utf8').digest('hex'))],
    ['hmacSHA256Hex', fn(2, ([m, k]) => createHmac('sha256', str(k)).update(str(m), 'utf8').digest('hex'))],
    ['add', math('add', (a, b) => a + b)],
    ['subtract', math('subtract', (a, b) => a - b)],
    ['multiply', math('multiply', (a, b) => a * b)],
    ['divide', math('divide', (a, b, ints) => intDiv(a, b, ints, false))],
    ['modulo', math('modulo', (a, b, ints) => intDiv(a, b, ints, true), false)],
    ['minimum', math('minimum', (a, b) => Math.min(a, b))],
    ['maximum', math('maximum', (a, b) => Math.max(a, b))],
  ];
}

/** strings.Trim: remove leading and trailing runes contained in cutset. */
function trimSet(s: string, cutset: string): string {
  const set = new Set(cutset);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a])) a++;
  while (b > a && set.has(chars[b - 1])) b--;
  return chars.slice(a, b).join('');
}
