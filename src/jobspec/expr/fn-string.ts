/** String functions (Terraform semantics). */
import { ExprError, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import { format, formatlist } from './fn-format.js';
import { toStr, toNumber, toList, describeValue } from './values.js';

const fn = (min: number, max: number, call: (args: Value[]) => Value) => ({ min, max, call });
const str1 = (f: (s: string) => Value) => fn(1, 1, ([s]) => f(toStr(s)));
const str2 = (f: (a: string, b: string) => Value) => fn(2, 2, ([a, b]) => f(toStr(a), toStr(b)));

/** Compile a Go (RE2) pattern as a JS regex: named groups `(?P<n>…)` and leading flags `(?i)` are translated. */
export function compileRegex(pattern: string, global: boolean): RegExp {
  let src = pattern.replace(/\(\?P</g, '(?<');
  let flags = global ? 'g' : '';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    src = src.slice(lead[0].length);
    for (const f of lead[1]) if (f !== 'U' && !flags.includes(f)) flags += f;
  }
  try {
    return new RegExp(src, flags + 'u');
  } catch {
    try {
      return new RegExp(src, flags);
    } catch (err) {
      throw new ExprError(`expected a valid regular expression, got ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
  }
}

/** Go's replacement syntax (`$1`, `${1}`, `${name}`, `$name`) in JS's (`$1`, `$<name>`). */
export function goReplacement(repl: string): string {
  return repl.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_m, _all, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare;
    if (name === undefined) return '$$';
    return /^\d+$/.test(name) ? `$${name}` : `$<${name}>`;
  });
}

/** The result of one regex match as Terraform's regex() gives it. */
function matchResult(m: RegExpExecArray): Value {
  if (m.length === 1) return m[0];
  if (m.groups !== undefined) {
    if (Object.keys(m.groups).length !== m.length - 1) throw new ExprError('expected only named or only unnamed capture groups, got both');
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(m.groups)) out[k] = v ?? null;
    return out;
  }
  return m.slice(1).map((g) => g ?? null);
}

function chars(s: string): string[] {
  return Array.from(s);
}

export const STRING_FUNCTIONS: FunctionTable = {
  upper: str1((s) => s.toUpperCase()),
  lower: str1((s) => s.toLowerCase()),
  title: str1((s) => s.replace(/(^|[^\p{L}\p{N}_])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase())),
  trimspace: str1((s) => s.trim()),
  trim: str2((s, cutset) => {
    const cut = new Set(chars(cutset));
    const cs = chars(s);
    let a = 0;
    let b = cs.length;
    while (a < b && cut.has(cs[a])) a++;
    while (b > a && cut.has(cs[b - 1])) b--;
    return cs.slice(a, b).join('');
  }),
  trimprefix: str2((s, p) => (p !== '' && s.startsWith(p) ? s.slice(p.length) : s)),
  trimsuffix: str2((s, p) => (p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s)),
  replace: fn(3, 3, ([a, b, c]) => {
    const [s, search, repl] = [toStr(a), toStr(b), toStr(c)];
    if (search.length > 1 && search.startsWith('/') && search.endsWith('/')) {
      return s.replace(compileRegex(search.slice(1, -1), true), goReplacement(repl));
    }
    return search === '' ? s : s.split(search).join(repl);
  }),
  format: fn(1, Infinity, ([spec, ...args]) => format(toStr(spec), args)),
  formatlist: fn(1, Infinity, ([spec, ...args]) => formatlist(toStr(spec), args)),
  join: fn(2, Infinity, ([sep, ...lists]) => {
    const parts: string[] = [];
    for (const list of lists) {
      for (const item of toList(list)) {
        if (item === null) throw new ExprError('expected a list of strings, got a null element');
        parts.push(toStr(item));
      }
    }
    return parts.join(toStr(sep));
  }),
  split: str2((sep, s) => (s === '' ? [''] : sep === '' ? chars(s) : s.split(sep))),
  substr: fn(3, 3, ([s, off, len]) => {
    const cs = chars(toStr(s));
    let offset = toNumber(off);
    const length = toNumber(len);
    if (!Number.isInteger(offset) || !Number.isInteger(length)) throw new ExprError(`expected whole numbers for offset and length, got ${offset} and ${length}`);
    if (offset < 0) offset = Math.max(0, cs.length + offset);
    if (offset > cs.length) throw new ExprError(`expected an offset within the string's ${cs.length} characters, got ${offset}`);
    return cs.slice(offset, length < 0 ? undefined : offset + length).join('');
  }),
  strrev: str1((s) => chars(s).reverse().join('')),
  chomp: str1((s) => s.replace(/(?:\r\n|\n|\r)+$/, '')),
  indent: fn(2, 2, ([n, s]) => {
    const count = toNumber(n);
    if (!Number.isInteger(count) || count < 0) throw new ExprError(`expected a whole number of spaces, got ${describeValue(n)}`);
    return toStr(s).replaceAll('\n', '\n' + ' '.repeat(count));
  }),
  regex: str2((pattern, s) => {
    const m = compileRegex(pattern, false).exec(s);
    if (m === null) throw new ExprError(`expected the pattern ${JSON.stringify(pattern)} to match, got no match`);
    return matchResult(m);
  }),
  regexall: str2((pattern, s) => {
    const re = compileRegex(pattern, true);
    const out: Value[] = [];
    for (const m of s.matchAll(re)) out.push(matchResult(m as RegExpExecArray));
    return out;
  }),
  startswith: str2((s, p) => s.startsWith(p)),
  endswith: str2((s, p) => s.endsWith(p)),
  strcontains: str2((s, p) => s.includes(p)),
};
