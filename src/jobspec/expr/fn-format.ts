/**
 * format() and formatlist(): printf-style verbs as Terraform (cty) has
 * them: %v %#v %t %b %d %o %x %X %e %E %f %g %G %s %q %%, with flags
 * (`-+ 0#`), width, precision and explicit argument indexes (`%[2]s`).
 */
import { ExprError, type Value } from './index.js';
import { jsonEncode } from './fn-encoding.js';
import { describeValue, formatNumber, toBool, toNumber, toStr } from './values.js';

const VERB_RE = /%([-+ 0#]*)(?:\[(\d+)\])?(\d+)?(?:\.(\d*))?([a-zA-Z%])/y;

interface Spec {
  flags: string;
  width?: number;
  precision?: number;
}

function pad(body: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const len = Array.from(body).length;
  if (len >= width) return body;
  if (spec.flags.includes('-')) return body + ' '.repeat(width - len);
  if (numeric && spec.flags.includes('0')) {
    const sign = /^[+\- ]/.test(body) ? body[0] : '';
    return sign + '0'.repeat(width - len) + body.slice(sign.length);
  }
  return ' '.repeat(width - len) + body;
}

function signed(n: number, text: string, spec: Spec): string {
  if (n < 0 || Object.is(n, -0)) return text.startsWith('-') ? text : '-' + text;
  if (spec.flags.includes('+')) return '+' + text;
  if (spec.flags.includes(' ')) return ' ' + text;
  return text;
}

/** Go's %e: at least two exponent digits. */
function goExp(n: number, precision: number | undefined, upper: boolean): string {
  const s = precision === undefined ? Math.abs(n).toExponential(6) : Math.abs(n).toExponential(precision);
  const [m, e] = s.split('e');
  const exp = (e.startsWith('-') ? '-' : '+') + e.replace(/^[+-]/, '').padStart(2, '0');
  const out = `${m}e${exp}`;
  return upper ? out.toUpperCase() : out;
}

/** Go's %g: shortest digits, exponent form when the exponent is < -4 or >= the precision (6 when not given). */
function goGeneral(n: number, precision: number | undefined, upper: boolean): string {
  const a = Math.abs(n);
  if (a === 0) return '0';
  const shortest = a.toExponential();
  const [mant, e] = (precision === undefined ? shortest : a.toExponential(Math.max(precision, 1) - 1)).split('e');
  const exp = Number(e);
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  const eprec = precision === undefined ? 6 : Math.max(precision, 1);
  if (exp < -4 || exp >= eprec) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const out = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return upper ? out.toUpperCase() : out;
  }
  return formatNumber(Number(`${digits[0]}.${digits.slice(1) || '0'}e${exp}`));
}

function integer(v: Value, verb: string): number {
  const n = toNumber(v);
  if (!Number.isInteger(n)) throw new ExprError(`expected a whole number for %${verb}, got ${describeValue(v)}`);
  return n;
}

function formatOne(verb: string, spec: Spec, v: Value): string {
  switch (verb) {
    case 'v':
      if (spec.flags.includes('#')) return pad(jsonEncode(v), spec, false);
      if (v === null) return pad('null', spec, false);
      if (typeof v === 'object') return pad(jsonEncode(v), spec, false);
      if (typeof v === 'number') return pad(formatNumber(v), spec, true);
      return formatOne('s', spec, v);
    case 's': {
      const s = toStr(v);
      return pad(spec.precision === undefined ? s : Array.from(s).slice(0, spec.precision).join(''), spec, false);
    }
    case 'q':
      return pad(JSON.stringify(toStr(v)), spec, false);
    case 't':
      return pad(String(toBool(v)), spec, false);
    case 'd': {
      const n = integer(v, verb);
      return pad(signed(n, formatNumber(Math.abs(n)), spec), spec, true);
    }
    case 'b':
    case 'o':
    case 'x':
    case 'X': {
      const n = integer(v, verb);
      const radix = verb === 'b' ? 2 : verb === 'o' ? 8 : 16;
      let body = BigInt(Math.abs(n)).toString(radix);
      if (verb === 'X') body = body.toUpperCase();
      if (spec.flags.includes('#')) body = (verb === 'b' ? '0b' : verb === 'o' ? '0' : verb === 'x' ? '0x' : '0X') + body;
      return pad(signed(n, body, spec), spec, true);
    }
    case 'f':
    case 'F': {
      const n = toNumber(v);
      return pad(signed(n, Math.abs(n).toFixed(spec.precision ?? 6), spec), spec, true);
    }
    case 'e':
    case 'E': {
      const n = toNumber(v);
      return pad(signed(n, goExp(n, spec.precision, verb === 'E'), spec), spec, true);
    }
    case 'g':
    case 'G': {
      const n = toNumber(v);
      return pad(signed(n, goGeneral(n, spec.precision, verb === 'G'), spec), spec, true);
    }
  }
  throw new ExprError(`expected a format verb like %s, %d or %v, got "%${verb}"`);
}

export function format(spec: string, args: Value[]): string {
  let out = '';
  let next = 0;
  let used = 0;
  let i = 0;
  while (i < spec.length) {
    const pct = spec.indexOf('%', i);
    if (pct < 0) {
      out += spec.slice(i);
      break;
    }
    out += spec.slice(i, pct);
    VERB_RE.lastIndex = pct;
    const m = VERB_RE.exec(spec);
    if (m === null) throw new ExprError(`expected a format verb after "%" at offset ${pct} of the format string, got ${JSON.stringify(spec.slice(pct, pct + 3))}`);
    i = VERB_RE.lastIndex;
    const [, flags, argIndex, width, precision, verb] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const at = argIndex !== undefined ? Number(argIndex) - 1 : next;
    if (at < 0 || at >= args.length) throw new ExprError(`expected an argument for "${m[0]}", got only ${args.length} ${args.length === 1 ? 'argument' : 'arguments'}`);
    next = at + 1;
    used = Math.max(used, next);
    const p = precision === undefined ? undefined : precision === '' ? 0 : Number(precision);
    out += formatOne(verb, { flags, width: width === undefined ? undefined : Number(width), precision: p }, args[at]);
  }
  if (used < args.length) throw new ExprError(`expected ${used} ${used === 1 ? 'argument' : 'arguments'} for the format string, got ${args.length}`);
  return out;
}

export function formatlist(spec: string, args: Value[]): Value[] {
  let n = -1;
  for (const a of args) {
    if (!Array.isArray(a)) continue;
    if (n >= 0 && a.length !== n) throw new ExprError(`expected lists of the same length, got ${n} and ${a.length}`);
    n = a.length;
  }
  if (n < 0) return [format(spec, args)];
  const out: Value[] = [];
  for (let i = 0; i < n; i++) out.push(format(spec, args.map((a) => (Array.isArray(a) ? a[i] : a))));
  return out;
}
