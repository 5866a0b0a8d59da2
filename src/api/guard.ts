/**
 * The http.Server of one API listener (the unix socket or the TCP address)
 * with the limits of limits.ts applied: its own connection cap, header and
 * idle deadlines, 408/400 replies to clients that fail to send a request, and
 * the metrics and throttled log lines of refusals and timeouts.
 *
 * A cap per listener: clients of the TCP listener (any local user can
 * connect to it) cannot use up the connections of the unix socket.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type pino from 'pino';
import type { PromMetrics } from './metrics.js';
import { ThrottledCount, type ApiLimits } from './limits.js';
import { errnoCode } from '../errors.js';

export type ListenerKind = 'unix' | 'tcp';

export interface GuardedServerOptions {
  listener: ListenerKind;
  limits: ApiLimits;
  log: pino.Logger;
  metrics: PromMetrics;
}

/** If the client does not read the error reply, its connection is cut after this anyway. */
const REPLY_GRACE_MS = 1000;

function statusOfClientError(err: Error): number {
  switch (errnoCode(err)) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    default:
      return 400;
  }
}

/**
 * Answers a client whose request could not be parsed or did not arrive in
 * time, and closes the connection. The server's sockets are half-open
 * (allowHalfOpen), so ending our side alone would leave the fd to a client
 * that never closes: the socket is destroyed once the reply is out.
 */
function replyAndClose(socket: Duplex, status: number): void {
  // A response already under way on this socket must not get a second status line.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const grace = setTimeout(() => socket.destroy(), REPLY_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(grace));
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

export function createGuardedServer(o: GuardedServerOptions): http.Server {
  const { listener, limits, log, metrics } = o;
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    // Bounds the whole request body, exec's stdin included: off. JSON bodies
    // have their own deadline (limits.bodyTimeoutMs, readJsonBody).
    requestTimeout: 0,
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  });
  // No socket inactivity timeout: `logs -f` and `exec` may be quiet for hours.
  server.timeout = 0;
  // Past the cap Node closes a new connection as soon as it is accepted and emits 'drop'.
  server.maxConnections = limits.maxConnections;

  let open = 0;
  metrics.apiConnections(listener, 0);
  server.on('connection', (socket: Duplex) => {
    metrics.apiConnections(listener, ++open);
    socket.once('close', () => metrics.apiConnections(listener, --open));
  });

  const refused = new ThrottledCount(limits.logIntervalMs);
  server.on('drop', () => {
    metrics.apiConnectionRefused(listener);
    const n = refused.hit();
    if (n) log.warn({ listener, maxConnections: limits.maxConnections, refused: n }, 'api connection cap reached, refusing connections');
  });

  const slow = new ThrottledCount(limits.logIntervalMs);
  server.on('clientError', (err: Error, socket: Duplex) => {
    const status = statusOfClientError(err);
    if (status === 408) {
      metrics.apiTimeout(listener, 'headers');
      const n = slow.hit();
      if (n) log.info({ listener, headersTimeoutMs: limits.headersTimeoutMs, closed: n }, 'api clients too slow to send request headers, closed');
    } else {
      log.debug({ listener, err: err.message, code: errnoCode(err) }, 'api client error');
    }
    replyAndClose(socket, status);
  });
  return server;
}
