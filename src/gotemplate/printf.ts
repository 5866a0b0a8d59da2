/**
 * Go's fmt.Sprintf for template values: the verbs templates use (%v %s %q
 * %d %x %X %o %b %c %U %e %E %f %F %g %G %t %T %%), flags `+ - # 0 space`,
 * width and precision (also `*`), and fmt's markers for misuse:
 * `%!d(string=abc)`, `%!s(MISSING)`, `%!(EXTRA int=1)`.
 */
import { GoChannel, GoFloat, GoObject, formatFloat, formatV, isPlainMap, kindOf, sortedEntries, typeName } from './values.js';

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
}

export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  const n = format.length;
  for (let i = 0; i < n; ) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { plus: false, minus: false, sharp: false, space: false, zero: false, width: undefined, prec: undefined };
    for (; i < n; i++) {
      const c = format[i];
      if (c === '+') spec.plus = true;
      else if (c === '-') spec.minus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    const num = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'number' ? a : undefined;
      }
      const m = /^\d+/.exec(format.slice(i, i + 10));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    spec.width = num();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (format[i] === '.') {
      i++;
      spec.prec = num() ?? 0;
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(args[argi++], verb, spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${typeName(a)}=${formatV(a)}`).join(', ') + ')';
  }
  return out;
}

function pad(s: string, spec: Spec, zeroOk = false): string {
  if (spec.width === undefined) return s;
  const len = [...s].length;
  if (len >= spec.width) return s;
  const fill = spec.width - len;
  if (spec.minus) return s + ' '.repeat(fill);
  if (spec.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    const rest = s.slice(sign.length);
    const prefix = /^0[xXbBoO]/.test(rest) && rest.length > 2 ? rest.slice(0, 2) : '';
    return sign + prefix + '0'.repeat(fill) + rest.slice(prefix.length);
  }
  return ' '.repeat(fill) + s;
}

function bad(v: unknown, verb: string): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatV(v)})`;
}

function formatOne(v: unknown, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(typeName(v), spec);
  if (v === undefined || v === null) return verb === 'v' ? pad('<nil>', spec) : bad(v, verb);
  if (v instanceof GoObject) {
    const s = v.goString();
    if (s !== undefined && (verb === 'v' || verb === 's' || verb === 'q' || verb === 'x' || verb === 'X')) return formatString(s, verb, spec);
    if (v.goKind === 'struct') return verb === 'v' ? pad(formatV(v), spec) : bad(v, verb);
    return formatList(v.goKind === 'map', v.goEntries(), verb, spec);
  }
  if (v instanceof GoChannel) return verb === 'v' || verb === 'p' ? '0xc000010000' : bad(v, verb);
  switch (kindOf(v)) {
    case 'bool':
      return verb === 'v' || verb === 't' ? pad(String(v), spec) : bad(v, verb);
    case 'int':
      return formatInt(v as number, verb, spec);
    case 'float':
      return formatFloatVerb(v instanceof GoFloat ? v.value : (v as number), verb, spec);
    case 'string':
      return formatString(v as string, verb, spec);
    case 'slice':
      return formatList(false, (v as unknown[]).map((x, i) => [i, x]), verb, spec);
    case 'map':
      if (isPlainMap(v)) return formatList(true, sortedEntries(v), verb, spec);
  }
  return verb === 'v' ? pad(formatV(v), spec) : bad(v, verb);
}

function formatList(isMap: boolean, entries: Array<[unknown, unknown]>, verb: string, spec: Spec): string {
  // fmt applies the verb to each element (and key).
  const inner = { ...spec, width: undefined };
  const parts = entries.map(([k, x]) => (isMap ? `${formatOne(k, verb, inner)}:${formatOne(x, verb, inner)}` : formatOne(x, verb, inner)));
  return pad(`${isMap ? 'map' : ''}[${parts.join(' ')}]`, spec);
}

function formatInt(v: number, verb: string, spec: Spec): string {
  const neg = v < 0;
  const abs = Math.abs(v);
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      digits = String(abs);
      break;
    case 'b':
      digits = abs.toString(2);
      if (spec.sharp) prefix = '0b';
      break;
    case 'o':
    case 'O':
      digits = abs.toString(8);
      if (verb === 'O') prefix = '0o';
      else if (spec.sharp) prefix = '0';
      break;
    case 'x':
    case 'X':
      digits = abs.toString(16);
      if (verb === 'X') digits = digits.toUpperCase();
      if (spec.sharp) prefix = verb === 'x' ? '0x' : '0X';
      break;
    case 'c':
      return pad(String.fromCodePoint(v), spec);
    case 'q':
      return pad(quoteRune(v), spec);
    case 'U':
      return pad(`U+${abs.toString(16).toUpperCase().padStart(4, '0')}`, spec);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 's':
    case 't':
    default:
      return bad(v, verb);
  }
  if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0');
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + prefix + digits, spec, spec.prec === undefined);
}

function formatFloatVerb(f: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      s = spec.prec === undefined ? formatFloat(Math.abs(f)) : formatG(Math.abs(f), spec.prec === 0 ? 1 : spec.prec, spec.sharp);
      if (verb === 'G') s = s.toUpperCase();
      break;
    case 'e':
    case 'E':
      s = formatE(Math.abs(f), spec.prec ?? 6);
      if (verb === 'E') s = s.toUpperCase();
      break;
    case 'f':
    case 'F':
      s = Number.isFinite(f) ? Math.abs(f).toFixed(spec.prec ?? 6) : formatFloat(Math.abs(f));
      break;
    default:
      return bad(new GoFloat(f), verb);
  }
  if (s === '+Inf') s = 'Inf';
  const neg = f < 0 || Object.is(f, -0);
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + s, spec, Number.isFinite(f));
}

function formatE(f: number, prec: number): string {
  if (!Number.isFinite(f)) return formatFloat(f);
  const e = f.toExponential(Math.min(prec, 100));
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  const a = Math.abs(exp);
  return `${e.slice(0, at)}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
}

function formatG(f: number, prec: number, sharp: boolean): string {
  if (!Number.isFinite(f)) return formatFloat(f);
  if (f === 0) return '0';
  const exp = Number(f.toExponential(prec - 1).split('e')[1]);
  let s: string;
  if (exp < -4 || exp >= prec) {
    s = formatE(f, prec - 1);
    if (!sharp) s = s.replace(/\.?0+e/, 'e');
  } else {
    s = f.toFixed(Math.max(0, prec - 1 - exp));
    if (!sharp && s.includes('.')) s = s.replace(/\.?0+$/, '');
  }
  return s;
}

function formatString(s: string, verb: string, spec: Spec): string {
  switch (verb) {
    case 'v':
    case 's':
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
      return pad(s, spec);
    case 'q':
      if (spec.sharp && !/[`\r\n]/.test(s) && /^[\x20-\x7e\t]*$/.test(s)) return pad('`' + s + '`', spec);
      return pad(quote(s, spec.plus), spec);
    case 'x':
    case 'X': {
      let bytes = Buffer.from(s, 'utf8');
      if (spec.prec !== undefined) bytes = bytes.subarray(0, spec.prec);
      let hex = [...bytes].map((b) => (spec.sharp ? (verb === 'x' ? '0x' : '0X') : '') + b.toString(16).padStart(2, '0')).join(spec.space ? ' ' : '');
      if (verb === 'X') hex = hex.toUpperCase().replace(/0X/g, '0X');
      if (spec.sharp && !spec.space) hex = (verb === 'x' ? '0x' : '0X') + hex.replace(/0[xX]/g, '');
      return pad(hex, spec);
    }
    default:
      return bad(s, verb);
  }
}

/** strconv.Quote: Go escapes, keeping printable Unicode (`ascii`: %+q, escape all non-ASCII). */
export function quote(s: string, ascii = false): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp === 0x07) out += '\\a';
    else if (cp === 0x08) out += '\\b';
    else if (cp === 0x0c) out += '\\f';
    else if (cp === 0x0a) out += '\\n';
    else if (cp === 0x0d) out += '\\r';
    else if (cp === 0x09) out += '\\t';
    else if (cp === 0x0b) out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (!ascii && /[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/u.test(ch) && cp !== 0xa0 && cp !== 0xad) out += ch;
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

function quoteRune(cp: number): string {
  const q = quote(String.fromCodePoint(cp));
  const body = q.slice(1, -1).replace(/\\"/g, '"');
  return `'${body === "'" ? "\\'" : body}'`;
}
