/**
 * What is bound on the node, from /proc (Linux): /proc/net/tcp and tcp6 (sockets in LISTEN),
 * udp and udp6 (every bound socket), read in the agent's network namespace — the host's, which
 * exec and raw_exec tasks share. Who holds a socket: the process with an fd `socket:[inode]`,
 * and, for a tend task, its NOMAD_ALLOC_ID, NOMAD_JOB_ID and TEND_TASK_ID. Elsewhere (no /proc)
 * nothing is reported bound; a task's own bind then tells.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readEnviron } from '../executor/proc.js';
import type { Listener, ListenerOwner, PortProbe } from './ports.js';

const TCP_LISTEN = '0A';

/** `0100007F` → 127.0.0.1; 32 hex digits → an IPv6 address (both as the kernel prints them: 32-bit words in host order, little-endian here). */
export function hexAddress(hex: string): string {
  const words: number[][] = [];
  for (let i = 0; i < hex.length; i += 8) {
    const w = hex.slice(i, i + 8);
    words.push([6, 4, 2, 0].map((j) => parseInt(w.slice(j, j + 2), 16)));
  }
  const bytes = words.flat();
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let [best, bestLen] = [-1, 1];
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The bound sockets of one /proc/net table. */
export function parseNetTable(text: string, proto: 'tcp' | 'udp'): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (proto === 'tcp' && f[3] !== TCP_LISTEN) continue;
    const [addr, portHex] = f[1].split(':');
    const port = parseInt(portHex, 16);
    if (!Number.isInteger(port) || port === 0) continue;
    out.push({ proto, port, address: hexAddress(addr), inode: Number(f[9]) });
  }
  return out;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The node's bound sockets and their owners, read from /proc each time. */
export const procProbe: PortProbe = {
  inUse() {
    const out = new Map<number, Listener[]>();
    const tables: [string, 'tcp' | 'udp'][] = [
      ['/proc/net/tcp', 'tcp'],
      ['/proc/net/tcp6', 'tcp'],
      ['/proc/net/udp', 'udp'],
      ['/proc/net/udp6', 'udp'],
    ];
    for (const [path, proto] of tables) {
      for (const l of parseNetTable(read(path), proto)) {
        const list = out.get(l.port);
        if (list) list.push(l);
        else out.set(l.port, [l]);
      }
    }
    return out;
  },
  owners(inodes) {
    const want = new Set(inodes.map((i) => `socket:[${i}]`));
    const out = new Map<number, ListenerOwner>();
    if (!want.size) return out;
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
    } catch {
      return out;
    }
    for (const pid of pids) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue; // gone, or not ours to read
      }
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        if (!want.has(link)) continue;
        const inode = Number(link.slice(8, -1));
        if (out.has(inode)) continue;
        const env = readEnviron(Number(pid));
        out.set(inode, {
          pid: Number(pid),
          command: read(`/proc/${pid}/comm`).trim() || '?',
          ...(env.NOMAD_ALLOC_ID ? { allocId: env.NOMAD_ALLOC_ID } : {}),
          ...(env.NOMAD_JOB_ID ? { job: env.NOMAD_JOB_ID } : {}),
          ...(env.TEND_TASK_ID ? { task: env.TEND_TASK_ID } : {}),
        });
      }
      if (out.size === want.size) break;
    }
    return out;
  },
};
