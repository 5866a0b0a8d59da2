/**
 * Where the API listens and where tendctl connects: a unix socket
 * (`unix:///var/lib/tend/tend.sock`, or a bare path) or loopback TCP
 * (`http://127.0.0.1:4646`, or `127.0.0.1:4646`). Shared by server and client
 * so both read an address the same way.
 */
import net from 'node:net';
import path from 'node:path';
import { TendError } from '../errors.js';

/** The development default data dir (the agent's `data_dir` default), relative to the working directory. */
export const DEFAULT_DATA_DIR = './state';
/** The socket's file name inside the data dir. */
export const SOCKET_NAME = 'tend.sock';

export interface UnixAddress {
  kind: 'unix';
  /** Absolute socket path. */
  path: string;
  url: string;
}

export interface TcpAddress {
  kind: 'tcp';
  host: string;
  port: number;
  url: string;
}

export type ApiAddress = UnixAddress | TcpAddress;

export function unixAddress(socketPath: string, cwd = process.cwd()): UnixAddress {
  const p = path.resolve(cwd, socketPath);
  return { kind: 'unix', path: p, url: `unix://${p}` };
}

function tcpAddress(host: string, port: number): TcpAddress {
  const h = host.includes(':') ? `[${host}]` : host;
  return { kind: 'tcp', host, port, url: `http://${h}:${port}` };
}

/** `host:port`, `[::1]:port` → parts; throws E_BAD_REQUEST on anything else. */
export function splitHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new TendError('E_BAD_REQUEST', `invalid address "${s}": expected HOST:PORT, e.g. 127.0.0.1:4646`);
  return { host: m[1] ?? m[2], port };
}

/**
 * An address given to tendctl (`-address`, `TEND_ADDR`): `unix:///abs/path`,
 * `unix://rel/path`, a path (`/…`, `./…`), `http://host:port` or `host:port`.
 */
export function parseClientAddress(s: string, cwd = process.cwd()): ApiAddress {
  const text = s.trim();
  if (text.startsWith('unix://')) return unixAddress(text.slice('unix://'.length), cwd);
  if (text.startsWith('unix:')) return unixAddress(text.slice('unix:'.length), cwd);
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../') || text.endsWith('.sock')) return unixAddress(text, cwd);
  if (text.startsWith('https://')) throw new TendError('E_BAD_REQUEST', `invalid address "${s}": the agent serves plain HTTP on loopback; use http://`);
  const hp = text.startsWith('http://') ? text.slice('http://'.length).replace(/\/+$/, '') : text;
  const { host, port } = splitHostPort(hp);
  return tcpAddress(host, port);
}

/** The socket of the default data dir, `./state/tend.sock`. */
export function defaultClientAddress(cwd = process.cwd()): UnixAddress {
  return unixAddress(path.join(DEFAULT_DATA_DIR, SOCKET_NAME), cwd);
}

/** The socket of deploy/agent.hcl's data dir (the packaged agent). */
export const DEPLOY_SOCKET = '/var/lib/tend/tend.sock';

/** Where tendctl looks without -address or TEND_ADDR, in order: the quick start's socket, then the deployed agent's. */
export function defaultClientCandidates(cwd = process.cwd()): UnixAddress[] {
  return [defaultClientAddress(cwd), unixAddress(DEPLOY_SOCKET)];
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.x.x. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const v = net.isIP(host);
  if (v === 4) return host.startsWith('127.');
  if (v === 6) {
    const h = host.toLowerCase();
    return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  }
  return false;
}

/**
 * The agent's optional TCP address (`api { address = "127.0.0.1:4646" }`);
 * anything but loopback is refused: the API gives a shell inside every task.
 */
export function parseListenAddress(s: string): TcpAddress {
  const hp = s.startsWith('http://') ? s.slice('http://'.length).replace(/\/+$/, '') : s;
  let host: string;
  let port: number;
  try {
    ({ host, port } = splitHostPort(hp));
  } catch (err) {
    throw new TendError('E_CONFIG_INVALID', `invalid api.address "${s}": expected 127.0.0.1:PORT`, { cause: err });
  }
  if (!isLoopbackHost(host)) {
    throw new TendError('E_CONFIG_INVALID', `refusing to listen on ${s}: api.address must be a loopback address (127.0.0.1 or ::1), got "${host}"`);
  }
  return tcpAddress(host === 'localhost' ? '127.0.0.1' : host, port);
}
