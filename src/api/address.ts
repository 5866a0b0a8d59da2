/**
 * Where the API listens and where tendctl connects: a unix socket
 * (`unix:///var/lib/tend/tend.sock`, or a bare path) or loopback TCP
 * (`http://127.0.0.1:4646`, or `127.0.0.1:4646`). Shared by server and client
 * so both read an address the same way.
 */
import { closeSync, openSync, readSync } from 'node:fs';
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
/** Where the packaged agent's config lives (deploy/tend.service passes it with -config). */
export const DEPLOY_CONFIG = '/etc/tend/agent.hcl';

/**
 * Where tendctl looks without -address or TEND_ADDR, in order: the quick start's socket, the
 * socket that /etc/tend/agent.hcl names (its `api { socket }`, else its `data_dir`), then the
 * deployed default.
 */
export function defaultClientCandidates(cwd = process.cwd(), configFile = DEPLOY_CONFIG): UnixAddress[] {
  const out = [defaultClientAddress(cwd)];
  const configured = socketOfConfig(configFile);
  if (configured) out.push(unixAddress(configured));
  out.push(unixAddress(DEPLOY_SOCKET));
  return out.filter((a, i) => out.findIndex((b) => b.path === a.path) === i);
}

/**
 * The API socket an agent config file sets, read without the HCL parser (tendctl must start
 * fast; this is a hint, tried like the defaults): the top-level `api { socket = "…" }`, else
 * `data_dir = "…"` + `/tend.sock`, as plain quoted strings, relative ones against the file's dir.
 * Undefined when the file is missing, unreadable or sets neither as a plain string.
 */
export function socketOfConfig(file: string): string | undefined {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(256 * 1024);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const top = topLevelStrings(text);
  const dir = path.dirname(file);
  const socket = top.get('api.socket');
  if (socket) return path.resolve(dir, socket);
  const dataDir = top.get('data_dir');
  return dataDir ? path.join(path.resolve(dir, dataDir), SOCKET_NAME) : undefined;
}

/** `name = "string"` at the top level and one block down (`block.name`), skipping comments; no escapes or interpolation. */
function topLevelStrings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack: string[] = [];
  let pendingBlock: string | undefined;
  const re = /#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|([A-Za-z_][\w-]*)\s*=\s*"([^"\\$%\n]*)"|([A-Za-z_][\w-]*)|\{|\}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const tok = m[0];
    if (m[1] !== undefined) {
      if (stack.length <= 1) out.set(stack.length ? `${stack[0]}.${m[1]}` : m[1], m[2]);
      pendingBlock = undefined;
    } else if (m[3] !== undefined) pendingBlock = pendingBlock === undefined ? m[3] : pendingBlock;
    else if (tok === '{') {
      stack.push(pendingBlock ?? '');
      pendingBlock = undefined;
    } else if (tok === '}') {
      stack.pop();
      pendingBlock = undefined;
    } else if (!tok.startsWith('#') && !tok.startsWith('/')) pendingBlock = undefined;
  }
  return out;
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
