/**
 * The addresses ports are on, found once at agent start (Nomad's network fingerprint, for one
 * node): "default" is the address of `client { network_interface }`, else of the interface of the
 * default route (lowest metric in /proc/net/route), else 127.0.0.1; each `host_network` is the
 * first address of its `interface` and/or within its `cidr`. An interface's first IPv4 address
 * wins over IPv6 (a link-local IPv6 address is never chosen).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { TendError } from '../errors.js';
import type { ClientNetworkConfig } from '../agent/config-model.js';
import type { HostNetwork, PortConfig } from './ports.js';

export interface IfaceAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
}

export type Interfaces = Record<string, IfaceAddress[]>;

export const LOOPBACK = '127.0.0.1';

/** The interface of the default route with the lowest metric, from /proc/net/route text. */
export function defaultRouteInterface(routeText: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of routeText.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, , flags, , , metric, mask] = f;
    if (dest !== '00000000' || mask !== '00000000' || (parseInt(flags, 16) & 1) === 0) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

function parseV4(a: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return undefined;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

function parseV6(a: string): bigint | undefined {
  if (!a.includes(':')) return undefined;
  const [head, tail] = a.split('::');
  if (a.split('::').length > 2) return undefined;
  const part = (s: string) => (s ? s.split(':') : []);
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g: string) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc: bigint, g: string) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Whether `address` lies within `cidr` (IPv4 or IPv6). */
export function inCidr(address: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const a4 = parseV4(address);
  const n4 = parseV4(net);
  if (a4 !== undefined && n4 !== undefined) {
    if (bits < 0 || bits > 32) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (a4 & mask) === (n4 & mask);
  }
  const a6 = parseV6(address);
  const n6 = parseV6(net);
  if (a6 === undefined || n6 === undefined || bits < 0 || bits > 128) return false;
  const shift = BigInt(128 - bits);
  return a6 >> shift === n6 >> shift;
}

const linkLocal = (a: IfaceAddress) => a.family === 'IPv6' && /^fe80:/i.test(a.address);

/** The address to use of a list: the first IPv4, else the first IPv6 that is not link-local. */
export function pickAddress(addrs: readonly IfaceAddress[]): string | undefined {
  return addrs.find((a) => a.family === 'IPv4')?.address ?? addrs.find((a) => a.family === 'IPv6' && !linkLocal(a))?.address;
}

/**
 * The agent's port settings with addresses: "default" and each host network that resolves.
 * Throws E_CONFIG_INVALID when `network_interface` names no interface; a host network that
 * matches no address is left out, with the reason in `unresolved` (ports asking for it wait).
 */
export function resolvePortConfig(cfg: ClientNetworkConfig, ifaces: Interfaces, routeText: string): PortConfig {
  const names = Object.keys(ifaces).sort();
  let address = LOOPBACK;
  if (cfg.networkInterface !== undefined) {
    const addrs = ifaces[cfg.networkInterface];
    const a = addrs && pickAddress(addrs);
    if (!a) {
      throw new TendError(
        'E_CONFIG_INVALID',
        `failed to find the address of client.network_interface "${cfg.networkInterface}": ${addrs ? 'it has no usable address' : `no such interface (have: ${names.join(', ')})`}`,
      );
    }
    address = a;
  } else {
    const iface = defaultRouteInterface(routeText);
    address = (iface && ifaces[iface] && pickAddress(ifaces[iface])) || LOOPBACK;
  }
  const networks = new Map<string, HostNetwork>([['default', { name: 'default', address, reserved: [] }]]);
  const unresolved = new Map<string, string>();
  for (const hn of cfg.hostNetworks) {
    const pool = hn.interface !== undefined ? (ifaces[hn.interface] ?? []) : Object.values(ifaces).flat();
    const within = hn.cidr === undefined ? pool : pool.filter((a) => inCidr(a.address, hn.cidr!));
    const a = pickAddress(within);
    if (a) networks.set(hn.name, { name: hn.name, address: a, reserved: hn.reservedPorts });
    else unresolved.set(hn.name, `no address of this node matches it (${[hn.interface !== undefined ? `interface "${hn.interface}"` : '', hn.cidr !== undefined ? `cidr "${hn.cidr}"` : ''].filter(Boolean).join(', ')})`);
  }
  return { minDynamic: cfg.minDynamicPort, maxDynamic: cfg.maxDynamicPort, reserved: cfg.reservedPorts, networks, unresolved };
}

/** The node's interfaces and default route, read now (Linux: /proc/net/route; elsewhere no route: loopback unless network_interface). */
export function detectPortConfig(cfg: ClientNetworkConfig): PortConfig {
  const ifaces: Interfaces = {};
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    ifaces[name] = (list ?? []).map((i) => ({ address: i.address, family: i.family === 'IPv6' ? 'IPv6' : 'IPv4' }));
  }
  let route = '';
  try {
    route = readFileSync('/proc/net/route', 'utf8');
  } catch {
    /* not Linux */
  }
  return resolvePortConfig(cfg, ifaces, route);
}
