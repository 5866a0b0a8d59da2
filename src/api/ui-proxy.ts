/**
 * `tendctl ui` on the unix socket: a browser cannot reach a socket, so this
 * proxy listens on loopback TCP (a random port) and forwards the page's
 * requests to the agent's socket. Only the user who ran it may use it:
 *
 *   - the URL it prints carries a one-time login token (`/ui/?login=…`):
 *     the first visit trades it for a session token, handed to the page in
 *     the redirect's fragment (`/ui/#token=…`), which never reaches a
 *     server; the login link then answers 401;
 *   - every `/v1/` request needs `Authorization: Bearer <session token>`
 *     (the page sends it as it does to the agent's TCP listener); the page's
 *     own files (`/ui/…`) hold no data and need none;
 *   - only GET and HEAD of `/ui/` and `/v1/` are forwarded: the page is
 *     read-only, so is the proxy. Headers are not passed on but the few a
 *     read needs.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseListenAddress, type TcpAddress } from './address.js';
import { TendError } from '../errors.js';

export interface UiProxyOptions {
  /** The agent's unix socket. */
  socket: string;
  /** Where to listen: loopback only (default `127.0.0.1:0`, a free port). */
  listen?: string;
}

export interface UiProxy {
  /** The URL to open, with the one-time login token. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  close(): Promise<void>;
}

/** Request headers passed on to the agent: what a read needs, nothing that identifies or authenticates. */
const FORWARDED = ['accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'cache-control'];

function secret(): string {
  return randomBytes(24).toString('base64url');
}

function same(a: string, b: string): boolean {
  const d = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(d(a), d(b));
}

function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1].trim();
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...(status === 401 ? { 'www-authenticate': 'Bearer realm="tend ui"' } : {}) });
  res.end(body);
}

export async function startUiProxy(o: UiProxyOptions): Promise<UiProxy> {
  let target: TcpAddress;
  try {
    target = parseListenAddress(o.listen ?? '127.0.0.1:0');
  } catch (err) {
    throw new TendError('E_BAD_REQUEST', `invalid -listen "${o.listen}": expected a loopback HOST:PORT such as 127.0.0.1:8080 (port 0: a free one); the proxy must not be reachable from other machines`, { cause: err });
  }
  let login: string | undefined = secret();
  const session = secret();

  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://proxy');
    } catch {
      return refuse(res, 400, 'E_BAD_REQUEST', 'invalid request URL');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return refuse(res, 405, 'E_BAD_REQUEST', `method ${req.method} not allowed: the web page is read-only`);
    }
    const page = url.pathname === '/ui' || url.pathname.startsWith('/ui/');
    if (!page && !url.pathname.startsWith('/v1/')) return refuse(res, 404, 'E_BAD_REQUEST', `no such endpoint: ${url.pathname}`);
    const presented = url.searchParams.get('login');
    if (page && presented !== null) {
      // The one-time link: traded for the session token once, then dead.
      if (!login || !same(presented, login)) return refuse(res, 401, 'E_UNAUTHORIZED', 'this login link is not valid (each link works once): run tendctl ui again');
      login = undefined;
      res.writeHead(303, { location: `/ui/#token=${session}`, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': 0 });
      res.end();
      return;
    }
    if (!page) {
      const token = bearer(req);
      if (!token || !same(token, session)) return refuse(res, 401, 'E_UNAUTHORIZED', 'missing or invalid token: open the link tendctl ui printed');
    }
    forward(o.socket, req, res, url);
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TendError('E_CONFIG_INVALID', `failed to listen on ${target.url}: ${err.message}`, { cause: err })));
    server.listen(target.port, target.host, () => resolve());
  });
  const a = server.address() as net.AddressInfo;
  const origin = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  return {
    origin,
    url: `${origin}/ui/?login=${login}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function forward(socket: string, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const headers: Record<string, string> = {};
  for (const h of FORWARDED) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const up = http.request({ socketPath: socket, method: req.method, path: `${url.pathname}${url.search}`, headers }, (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    upRes.pipe(res);
  });
  up.on('error', (err) => {
    if (!res.headersSent) refuse(res, 502, 'E_AGENT_UNREACHABLE', `failed to reach the agent at ${socket}: ${err.message}`);
    else res.destroy();
  });
  // The page went away (a log or event stream closed): so does the request to the agent.
  res.once('close', () => up.destroy());
  up.end();
}
