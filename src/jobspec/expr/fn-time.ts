/** Nomad's date and time functions (`formatdate`, `timeadd`): pure functions of their arguments, RFC 3339 timestamps. */
import { ExprError, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import { toStr } from './values.js';

const fn = (min: number, max: number, call: (args: Value[]) => Value) => ({ min, max, call });

interface Stamp {
  /** Milliseconds since the epoch, UTC. */
  ms: number;
  /** The timestamp's own UTC offset, minutes (results keep it). */
  offset: number;
  utc: boolean;
}

function parseStamp(text: string): Stamp {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) throw new ExprError(`expected an RFC 3339 timestamp like "2018-01-02T23:12:01Z", got ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const offset = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), frac ? Math.floor(Number(`0${frac}`) * 1000) : 0);
  if (new Date(local).getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new ExprError(`expected a valid date and time, got ${JSON.stringify(text)}`);
  }
  return { ms: local - offset * 60_000, offset, utc: Boolean(z) };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function offsetText(offset: number, colon: boolean): string {
  const a = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}${colon ? ':' : ''}${pad(a % 60)}`;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Format spec as Terraform/Nomad document it: YYYY, MM, DD, hh, mm, ss, EEE, ZZZZZ, … and 'quoted' literals. */
export function formatDate(spec: string, text: string): string {
  const t = parseStamp(text);
  const d = new Date(t.ms + t.offset * 60_000); // read with getUTC*: the timestamp's own wall clock
  const h12 = d.getUTCHours() % 12 || 12;
  const verbs: Record<string, () => string> = {
    YYYY: () => pad(d.getUTCFullYear(), 4),
    YY: () => pad(d.getUTCFullYear() % 100),
    MMMM: () => MONTHS[d.getUTCMonth()],
    MMM: () => MONTHS[d.getUTCMonth()].slice(0, 3),
    MM: () => pad(d.getUTCMonth() + 1),
    M: () => String(d.getUTCMonth() + 1),
    DD: () => pad(d.getUTCDate()),
    D: () => String(d.getUTCDate()),
    EEEE: () => DAYS[d.getUTCDay()],
    EEE: () => DAYS[d.getUTCDay()].slice(0, 3),
    hh: () => pad(d.getUTCHours()),
    h: () => String(d.getUTCHours()),
    HH: () => pad(h12),
    H: () => String(h12),
    AA: () => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
    aa: () => (d.getUTCHours() < 12 ? 'am' : 'pm'),
    mm: () => pad(d.getUTCMinutes()),
    m: () => String(d.getUTCMinutes()),
    ss: () => pad(d.getUTCSeconds()),
    s: () => String(d.getUTCSeconds()),
    ZZZZZ: () => offsetText(t.offset, true),
    ZZZZ: () => offsetText(t.offset, false),
    ZZZ: () => (t.utc || t.offset === 0 ? 'UTC' : offsetText(t.offset, false)),
    Z: () => (t.utc || t.offset === 0 ? 'Z' : offsetText(t.offset, true)),
  };
  let out = '';
  for (let i = 0; i < spec.length; ) {
    const c = spec[i];
    if (c === "'") {
      const end = spec.indexOf("'", i + 1);
      if (end < 0) throw new ExprError(`expected a closing quote in the format ${JSON.stringify(spec)}`);
      out += end === i + 1 ? "'" : spec.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) {
      out += c;
      i++;
      continue;
    }
    let j = i;
    while (j < spec.length && spec[j] === c) j++;
    const verb = spec.slice(i, j);
    const f = verbs[verb];
    if (!f) throw new ExprError(`expected a date format verb (YYYY, MM, DD, hh, mm, ss, …), got ${JSON.stringify(verb)}`, undefined, "quote literal letters: 'T'");
    out += f();
    i = j;
  }
  return out;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1h30m", "-10m", "1.5s") in ms. */
export function goDurationMs(text: string): number {
  const m = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(text);
  if (!m) throw new ExprError(`expected a duration like "1h30m" or "-10s", got ${JSON.stringify(text)}`);
  let total = 0;
  for (const [, n, unit] of m[2].matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(n) * UNITS[unit];
  return m[1] === '-' ? -total : total;
}

/** RFC 3339 in the timestamp's own offset, without fractional seconds (Go's time.RFC3339). */
function formatStamp(ms: number, offset: number, utc: boolean): string {
  const d = new Date(Math.floor((ms + offset * 60_000) / 1000) * 1000);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${date}T${time}${utc || offset === 0 ? 'Z' : offsetText(offset, true)}`;
}

export const TIME_FUNCTIONS: FunctionTable = {
  formatdate: fn(2, 2, ([spec, ts]) => formatDate(toStr(spec), toStr(ts))),
  timeadd: fn(2, 2, ([ts, dur]) => {
    const t = parseStamp(toStr(ts));
    return formatStamp(t.ms + goDurationMs(toStr(dur)), t.offset, t.utc);
  }),
};
