/**
 * consul-template's `sockaddr`: its argument is a go-sockaddr template
 * (`{{ sockaddr "GetPrivateIP" }}`, `"GetInterfaceIP \"eth0\""`,
 * `"GetAllInterfaces | include \"name\" \"eth0\" | attr \"address\""`),
 * evaluated with this engine and the common go-sockaddr functions over the
 * host's interfaces (os.networkInterfaces, default route from
 * /proc/net/route). Anything else is a clear error.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { BlockList, isIPv4 } from 'node:net';
import type { InterfaceAddress, NetworkInfo } from './gotemplate.js';
import type { TemplateFunc } from './exec.js';
import { GoObject, NO_FIELD } from './values.js';

/** One address of one interface (go-sockaddr's IfAddr). */
export class IfAddr extends GoObject {
  readonly goType = 'sockaddr.IfAddr';
  readonly goKind = 'struct' as const;
  constructor(
    readonly a: InterfaceAddress,
    readonly isDefault: boolean,
  ) {
    super();
  }
  get prefixLen(): number {
    return Number(this.a.cidr?.split('/')[1] ?? (this.a.family === 'IPv4' ? 32 : 128));
  }
  attr(name: string): string {
    switch (name.toLowerCase()) {
      case 'address':
        return this.a.address;
      case 'name':
        return this.a.name;
      case 'type':
        return this.a.family;
      case 'network':
        return networkOf(this.a);
      case 'mask':
      case 'netmask':
        return this.a.netmask;
      case 'size':
        return String(2 ** ((this.a.family === 'IPv4' ? 32 : 128) - this.prefixLen));
      case 'hwaddr':
        return this.a.mac;
      case 'string':
        return this.a.cidr ?? this.a.address;
      default:
        throw new Error(`unsupported attribute name "${name}"`);
    }
  }
  override goField(name: string): unknown {
    try {
      return this.attr(name);
    } catch {
      return NO_FIELD;
    }
  }
  override goString(): string {
    return `${this.a.family === 'IPv4' ? 'IPv4' : 'IPv6'} ${this.a.cidr ?? this.a.address}`;
  }
  goJSON(): unknown {
    return { name: this.a.name, address: this.a.address, cidr: this.a.cidr };
  }
}

function networkOf(a: InterfaceAddress): string {
  if (a.family !== 'IPv4' || !a.cidr) return a.cidr ?? a.address;
  const [ip, len] = a.cidr.split('/');
  const n = ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const mask = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${len}`;
}

/** RFC 6890 special-purpose blocks: go-sockaddr's notion of "private". */
const RFC6890 = new BlockList();
for (const [net, len] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['240.0.0.0', 4],
] as const) RFC6890.addSubnet(net, len, 'ipv4');
for (const [net, len] of [['::1', 128], ['::', 128], ['64:ff9b::', 96], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10]] as const) {
  RFC6890.addSubnet(net, len, 'ipv6');
}
const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

function inRFC6890(a: IfAddr): boolean {
  return RFC6890.check(a.a.address.split('%')[0], isIPv4(a.a.address) ? 'ipv4' : 'ipv6');
}

function isForwardable(a: IfAddr): boolean {
  const ip = a.a.address.split('%')[0];
  return !a.a.internal && ip !== '0.0.0.0' && ip !== '::' && !LINK_LOCAL.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
}

/** This host's network, as `NetworkInfo`. */
export const hostNetwork: NetworkInfo = {
  interfaces() {
    const out: InterfaceAddress[] = [];
    for (const [name, addrs] of Object.entries(networkInterfaces())) {
      for (const a of addrs ?? []) out.push({ name, address: a.address, netmask: a.netmask, family: a.family, internal: a.internal, mac: a.mac, cidr: a.cidr });
    }
    return out;
  },
  defaultInterfaces() {
    try {
      return readFileSync('/proc/net/route', 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f[1] === '00000000' && f[7] === '00000000')
        .map((f) => f[0]);
    } catch {
      return [];
    }
  },
};

/** go-sockaddr's sort "default,type,size": default-route interfaces, IPv4, larger networks first. */
function ordered(list: IfAddr[]): IfAddr[] {
  return [...list].sort(
    (x, y) => Number(y.isDefault) - Number(x.isDefault) || (x.a.family === y.a.family ? 0 : x.a.family === 'IPv4' ? -1 : 1) || x.prefixLen - y.prefixLen,
  );
}

function addrsOf(v: unknown, fnName: string): IfAddr[] {
  if (Array.isArray(v) && v.every((x) => x instanceof IfAddr)) return v as IfAddr[];
  throw new Error(`${fnName}: expected a list of interface addresses`);
}

function matches(a: IfAddr, selector: string, param: string): boolean {
  const p = param.toLowerCase();
  switch (selector.toLowerCase()) {
    case 'name':
      return new RegExp(`^(?:${param})$`).test(a.a.name);
    case 'type':
      return p === 'ip' || a.a.family.toLowerCase() === p;
    case 'flag':
    case 'flags':
      return p.split('|').some((f) =>
        f === 'up' ? true : f === 'loopback' ? a.a.internal : f === 'forwardable' ? isForwardable(a) : f === 'private' ? inRFC6890(a) : f === 'global unicast' ? isForwardable(a) : f === 'default' ? a.isDefault : false,
      );
    case 'rfc':
      if (param !== '6890' && param !== '1918') throw new Error(`unsupported RFC ${param} (tend knows 1918 and 6890)`);
      return inRFC6890(a);
    case 'network': {
      const [net, len] = param.split('/');
      const bl = new BlockList();
      const family = isIPv4(net) ? 'ipv4' : 'ipv6';
      bl.addSubnet(net, Number(len ?? (family === 'ipv4' ? 32 : 128)), family);
      return bl.check(a.a.address.split('%')[0], isIPv4(a.a.address) ? 'ipv4' : 'ipv6');
    }
    case 'address':
      return new RegExp(`^(?:${param})$`).test(a.a.address);
    default:
      throw new Error(`unsupported selector "${selector}"`);
  }
}

/** The go-sockaddr template functions, bound to one network view. */
export function sockaddrFunctions(net: NetworkInfo): Map<string, TemplateFunc> {
  const all = (): IfAddr[] => {
    const defaults = new Set(net.defaultInterfaces());
    return net.interfaces().map((a) => new IfAddr(a, defaults.has(a.name)));
  };
  const privateIfs = () => ordered(all().filter((a) => isForwardable(a))).filter(inRFC6890);
  const publicIfs = () => ordered(all().filter((a) => isForwardable(a))).filter((a) => !inRFC6890(a));
  const interfaceIfs = (name: string) => ordered(all().filter((a) => a.a.name === name && isForwardable(a))).sort((x, y) => x.prefixLen - y.prefixLen);
  const first = (l: IfAddr[]) => l[0]?.a.address ?? '';
  const f = (arity: number, call: (a: unknown[]) => unknown, variadic = false): TemplateFunc => ({ arity, variadic, call });
  const s = (v: unknown) => String(v);
  return new Map<string, TemplateFunc>([
    ['GetAllInterfaces', f(0, () => all())],
    ['GetDefaultInterfaces', f(0, () => all().filter((a) => a.isDefault))],
    ['GetPrivateInterfaces', f(0, privateIfs)],
    ['GetPublicInterfaces', f(0, publicIfs)],
    ['GetPrivateIP', f(0, () => first(privateIfs()))],
    ['GetPrivateIPs', f(0, () => privateIfs().map((a) => a.a.address).join(' '))],
    ['GetPublicIP', f(0, () => first(publicIfs()))],
    ['GetPublicIPs', f(0, () => publicIfs().map((a) => a.a.address).join(' '))],
    ['GetInterfaceIP', f(1, ([n]) => first(interfaceIfs(s(n))))],
    ['GetInterfaceIPs', f(1, ([n]) => interfaceIfs(s(n)).map((a) => a.a.address).join(' '))],
    ['include', f(3, ([sel, p, l]) => addrsOf(l, 'include').filter((a) => matches(a, s(sel), s(p))))],
    ['exclude', f(3, ([sel, p, l]) => addrsOf(l, 'exclude').filter((a) => !matches(a, s(sel), s(p))))],
    ['sort', f(2, ([, l]) => ordered(addrsOf(l, 'sort')))],
    ['limit', f(2, ([n, l]) => addrsOf(l, 'limit').slice(0, Number(n)))],
    ['offset', f(2, ([n, l]) => addrsOf(l, 'offset').slice(Number(n)))],
    ['unique', f(2, ([sel, l]) => addrsOf(l, 'unique').filter((a, i, arr) => arr.findIndex((b) => b.attr(s(sel)) === a.attr(s(sel))) === i))],
    ['attr', f(2, ([sel, l]) => (l instanceof IfAddr ? l.attr(s(sel)) : (addrsOf(l, 'attr')[0]?.attr(s(sel)) ?? '')))],
    ['join', f(3, ([sel, sep, l]) => addrsOf(l, 'join').map((a) => a.attr(s(sel))).join(s(sep)))],
  ]);
}
