/**
 * The agent's HTTP API (node:http, no framework): on a unix socket (mode
 * 0600, so only the agent's user and root can talk to it) and, optionally,
 * on loopback TCP with a bearer token. See routes.ts for the endpoints. On
 * TCP only the web page's files (GET /ui/…, routes-ui.ts) are served without
 * the token: they hold no data, and the page calls the API with the token.
 *
 * Each listener has its own connection cap and header/idle deadlines
 * (limits.ts, guard.ts). On TCP the token is checked as soon as the headers
 * are in: a request without it gets 401 and its connection is closed with the
 * body unread (and no `100 Continue` is sent to invite one).
 *
 * The agent wiring calls `startApiServer(agent, { socket, address, token,
 * logger, metrics })` once the agent runs and `close()` on shutdown.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { lstat, mkdir, chmod, unlink } from 'node:fs/promises';
import path from 'node:path';
import type pino from 'pino';
import type { AgentApi } from './api.js';
import type { PromMetrics } from './metrics.js';
import type { ReadLogs } from './routes-logs.js';
import { parseListenAddress, unixAddress, type ApiAddress } from './address.js';
import { errorBody, isBodyTimeout, sendError } from './http.js';
import { apiLimits, type ApiLimits } from './limits.js';
import { createGuardedServer, type ListenerKind } from './guard.js';
import { dispatch, type RouteContext } from './routes.js';
import { isUiAssetRequest } from './routes-ui.js';
import { TendError, errnoCode } from '../errors.js';

export interface ApiServerOptions {
  /** Unix socket path (default in the agent config: `<data_dir>/tend.sock`). */
  socket: string;
  /** Optional loopback TCP address, `127.0.0.1:PORT` (port 0 picks one); requires `token`. */
  address?: string;
  /** Bearer token required on TCP. Never logged. */
  token?: string;
  logger: pino.Logger;
  metrics: PromMetrics;
  /**
   * Where a task's log files are (`<logDir>/<task>.stdout.N`). When absent, the
   * log dir comes from the task view's `dirs.logs`.
   */
  logsOf?(id: string): { logDir: string; task: string } | Promise<{ logDir: string; task: string }>;
  /** The log reader (default: `readLogs` of src/executor/logs/reader.ts); tests pass their own. */
  readLogs?: ReadLogs;
  /** Interval of heartbeat lines on idle event streams (default 15 s). */
  heartbeatMs?: number;
  /** Deadlines and connection cap (defaults in limits.ts: headers 10 s, idle 30 s, body 10 s, 256 connections per listener). */
  limits?: Partial<ApiLimits>;
}

export interface ApiServer {
  /** The socket path served. */
  readonly socket: string;
  /** The TCP URL actually bound (`http://127.0.0.1:4646`), when TCP is on. */
  readonly tcpUrl?: string;
  /** Ends open streams, stops listening, removes the socket file. */
  close(): Promise<void>;
}

/** Constant-time comparison of the presented bearer token with the configured one. */
function isAuthorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

/** Is anything answering on this socket path? */
function probeSocket(socketPath: string, timeoutMs = 1000): Promise<'alive' | 'stale'> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const done = (v: 'alive' | 'stale' | Error) => {
      sock.destroy();
      clearTimeout(timer);
      if (v instanceof Error) reject(v);
      else resolve(v);
    };
    const timer = setTimeout(() => done('alive'), timeoutMs);
    sock.once('connect', () => done('alive'));
    sock.once('error', (err) => {
      const code = errnoCode(err);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') done('stale');
      else done(new TendError('E_CONFIG_INVALID', `failed to check api socket ${socketPath}: ${err.message}`, { cause: err }));
    });
  });
}

/** Removes a stale socket file; refuses when another agent answers on it or when the path is not a socket. */
async function clearSocketPath(socketPath: string): Promise<void> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new TendError('E_CONFIG_INVALID', `failed to listen on ${socketPath}: the path exists and is not a socket`);
  }
  if ((await probeSocket(socketPath)) === 'alive') {
    throw new TendError('E_CONFIG_INVALID', `failed to listen on ${socketPath}: another tend agent is already serving on this socket`);
  }
  await unlink(socketPath).catch((err) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
  });
}

function listen(server: http.Server, target: ApiAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    if (target.kind === 'unix') {
      // The socket is created with mode 0600 from the start: no window in
      // which another user could connect. bind() runs inside listen() here.
      const old = process.umask(0o177);
      try {
        server.listen(target.path, onListening);
      } finally {
        process.umask(old);
      }
    } else {
      server.listen(target.port, target.host, onListening);
    }
  });
}

export async function startApiServer(api: AgentApi, opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.logger.child({ component: 'api' });
  const sock = unixAddress(opts.socket);
  const tcp = opts.address ? parseListenAddress(opts.address) : undefined;
  if (tcp && !opts.token) {
    throw new TendError('E_CONFIG_INVALID', `refusing to listen on TCP ${opts.address} without api.token: anyone on this host could run commands in every task; set api { token = "…" }`);
  }
  const limits = apiLimits(opts.limits);
  const closing = new AbortController();
  const ctxBase = { api, opts, limits, log, closing: closing.signal };

  /** 'request', or 'checkContinue' (`expectContinue`) for a client that waits for `100 Continue` before its body. */
  const handler = (listener: ListenerKind, expectContinue: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    const viaTcp = listener === 'tcp';
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://tend');
    } catch {
      url = new URL('http://tend/');
    }
    res.once('close', () => {
      // Fixed message, values in fields; never the headers (the token lives there).
      log.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started), tcp: viaTcp }, 'api request');
    });
    // The web page's files hold no data: a browser loads them without a header (routes-ui.ts).
    if (viaTcp && !isAuthorized(req, opts.token as string) && !isUiAssetRequest(req, url.pathname)) {
      const { status, body } = errorBody(
        new TendError('E_UNAUTHORIZED', 'missing or invalid API token: send "Authorization: Bearer <token>" (tendctl -token or TEND_TOKEN)'),
      );
      const text = JSON.stringify(body);
      // Only the headers are in. `connection: close` makes Node close the
      // socket once the reply is out (dropping what little of the body is
      // already buffered) instead of reading the whole body to reuse the
      // connection.
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'www-authenticate': 'Bearer realm="tend"',
        'content-length': Buffer.byteLength(text),
        connection: 'close',
      });
      res.end(text);
      return;
    }
    if (expectContinue) res.writeContinue();
    const ctx: RouteContext = { ...ctxBase, req, res, url };
    dispatch(ctx).catch((err) => {
      const { status } = errorBody(err);
      if (status >= 500) log.warn({ err, method: req.method, path: url.pathname }, 'api request failed');
      if (isBodyTimeout(err)) opts.metrics.apiTimeout(listener, 'body');
      // A body left unread (too large, too slow, not needed) is not drained to keep the connection.
      if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
      sendError(res, err);
    });
  };

  const servers: http.Server[] = [];
  const make = (listener: ListenerKind) => {
    const s = createGuardedServer({ listener, limits, log, metrics: opts.metrics });
    s.on('request', handler(listener, false));
    s.on('checkContinue', handler(listener, true));
    servers.push(s);
    return s;
  };

  await mkdir(path.dirname(sock.path), { recursive: true, mode: 0o700 });
  await clearSocketPath(sock.path);
  const unixServer = make('unix');
  await listen(unixServer, sock);
  await chmod(sock.path, 0o600);

  let tcpUrl: string | undefined;
  if (tcp) {
    const tcpServer = make('tcp');
    try {
      await listen(tcpServer, tcp);
    } catch (err) {
      await new Promise<void>((r) => unixServer.close(() => r()));
      await unlink(sock.path).catch(() => {});
      throw new TendError('E_CONFIG_INVALID', `failed to listen on ${tcp.url}: ${(err as Error).message}`, { cause: err });
    }
    const a = tcpServer.address() as net.AddressInfo;
    tcpUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }
  log.info({ socket: sock.path, tcp: tcpUrl, tokenSet: Boolean(opts.token), limits }, 'api listening');

  let closed: Promise<void> | undefined;
  return {
    socket: sock.path,
    tcpUrl,
    close() {
      closed ??= (async () => {
        closing.abort();
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                s.closeIdleConnections();
                // Streams were asked to end; cut what is still open.
                setImmediate(() => s.closeAllConnections());
              }),
          ),
        );
        await unlink(sock.path).catch(() => {});
        log.info({ socket: sock.path }, 'api closed');
      })();
      return closed;
    },
  };
}
