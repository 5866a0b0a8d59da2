/** Nomad's IP network functions (`cidrhost`, `cidrnetmask`, `cidrsubnet`, `cidrsubnets`), IPv4 and IPv6, as go-cty-funcs computes them. */
import { isIPv4, isIPv6 } from 'node:net';
import { ExprError, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import { toNumber, toStr } from './values.js';

const fn = (min: number, max: number, call: (args: Value[]) => Value) => ({ min, max, call });

interface Prefix {
  bits: 32 | 128;
  /** Network address (host bits cleared). */
  addr: bigint;
  len: number;
}

function parseAddr(text: string): { bits: 32 | 128; value: bigint } {
  if (isIPv4(text)) return { bits: 32, value: text.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n) };
  if (isIPv6(text)) {
    let t = text;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    if (v4) {
      const n = parseAddr(v4[1]).value;
      t = t.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
    const h = head ? head.split(':') : [];
    const tl = tail === undefined ? [] : tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
    return { bits: 128, value: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  throw new ExprError(`expected an IP address, got ${JSON.stringify(text)}`);
}

function parsePrefix(text: string): Prefix {
  const m = /^([^/]+)\/(\d+)$/.exec(text);
  if (!m) throw new ExprError(`expected a CIDR prefix like "10.0.0.0/16", got ${JSON.stringify(text)}`);
  const { bits, value } = parseAddr(m[1]);
  const len = Number(m[2]);
  if (len > bits) throw new ExprError(`expected a prefix length of at most ${bits}, got ${len}`);
  const hostMask = (1n << BigInt(bits - len)) - 1n;
  return { bits, addr: value & ~hostMask, len };
}

function formatAddr(bits: 32 | 128, v: bigint): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function whole(v: Value, what: string): number {
  const n = toNumber(v);
  if (!Number.isInteger(n)) throw new ExprError(`expected a whole number for ${what}, got ${n}`);
  return n;
}

function host(prefix: string, num: number): string {
  const p = parsePrefix(prefix);
  const size = 1n << BigInt(p.bits - p.len);
  const n = BigInt(num);
  if (n >= size || -n > size) throw new ExprError(`expected a host number that fits in ${p.bits - p.len} bits, got ${num}`);
  return formatAddr(p.bits, p.addr + (n < 0n ? size + n : n));
}

function subnet(p: Prefix, newbits: number, num: number): Prefix {
  const len = p.len + newbits;
  if (newbits < 0) throw new ExprError(`expected newbits >= 0, got ${newbits}`);
  if (len > p.bits) throw new ExprError(`expected a prefix of at most ${p.bits} bits, got ${p.len} + ${newbits} = ${len}`);
  if (num < 0 || BigInt(num) >= 1n << BigInt(newbits)) throw new ExprError(`expected a network number that fits in ${newbits} bits, got ${num}`);
  return { bits: p.bits, addr: p.addr | (BigInt(num) << BigInt(p.bits - len)), len };
}

const show = (p: Prefix): string => `${formatAddr(p.bits, p.addr)}/${p.len}`;

function subnets(prefix: string, newbits: number[]): string[] {
  const base = parsePrefix(prefix);
  const out: string[] = [];
  let next = base.addr;
  for (const nb of newbits) {
    const len = base.len + nb;
    if (nb < 1 || len > base.bits) throw new ExprError(`expected newbits from 1 to ${base.bits - base.len}, got ${nb}`);
    const size = 1n << BigInt(base.bits - len);
    const start = ((next + size - 1n) / size) * size; // align to this subnet's size
    if (start + size > base.addr + (1n << BigInt(base.bits - base.len))) throw new ExprError(`expected the subnets to fit in ${prefix}, got not enough address space`);
    out.push(show({ bits: base.bits, addr: start, len }));
    next = start + size;
  }
  return out;
}

export const NET_FUNCTIONS: FunctionTable = {
  cidrhost: fn(2, 2, ([p, n]) => host(toStr(p), whole(n, 'hostnum'))),
  cidrnetmask: fn(1, 1, ([p]) => {
    const pr = parsePrefix(toStr(p));
    if (pr.bits !== 32) throw new ExprError('expected an IPv4 prefix (an IPv6 prefix has no netmask form)');
    return formatAddr(32, ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - pr.len)) - 1n));
  }),
  cidrsubnet: fn(3, 3, ([p, nb, n]) => show(subnet(parsePrefix(toStr(p)), whole(nb, 'newbits'), whole(n, 'netnum')))),
  cidrsubnets: fn(1, Infinity, ([p, ...nbs]) => subnets(toStr(p), nbs.map((n) => whole(n, 'newbits')))),
};
