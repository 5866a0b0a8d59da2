/**
 * The log monitor's control protocol: one JSON request line per connection
 * on the unix socket `<dataDir>/logmon.sock`, answered by one JSON line.
 *
 *   {"op":"ping"}                          → {"ok":true,"pid":123}
 *   {"op":"add","source":…,"target":…}     → {"ok":true}
 *   {"op":"remove","id":"…"}               → {"ok":true}   (after flushing)
 *   {"op":"sync","all":[{source,target}]}  → {"ok":true}
 *   {"op":"status"}                        → {"ok":true,"pid":123,"status":LogmonStatus}
 *   {"op":"stop"}                          → {"ok":true}   (then the monitor exits)
 *   any failure                            → {"ok":false,"error":"…"}
 *
 * Unix socket paths are limited to 107 bytes, so the data dir must be short
 * enough for `<dataDir>/logmon.sock`.
 */
import net from 'node:net';
import path from 'node:path';
import { TendError } from '../../errors.js';
import type { LogSource, LogTarget } from './logs.js';

export type LogmonRequest =
  | { op: 'ping' }
  | { op: 'add'; source: LogSource; target: LogTarget }
  | { op: 'remove'; id: string }
  | { op: 'sync'; all: { source: LogSource; target: LogTarget }[] }
  | { op: 'status' }
  | { op: 'stop' };

/** Output a monitor could not write for lack of space (see rotator.ts DropStats). */
export interface LogmonDrops {
  droppedBytes: number;
  /** Dropped and not yet followed by a marker: non-zero while the filesystem is full. */
  pendingBytes: number;
  error?: string;
  since?: string;
}

export interface LogmonStatus {
  /** Every byte dropped since the monitor started, tasks since removed included. */
  droppedBytes: number;
  /** Tasks dropping right now (pendingBytes > 0). */
  dropping: number;
  /** Tasks that dropped anything, by id. */
  tasks: Record<string, LogmonDrops>;
  /** Why the last write of logmon.json failed, while it keeps failing. */
  stateError?: string;
}

export type LogmonResponse = { ok: true; pid?: number; status?: LogmonStatus } | { ok: false; error: string };

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH = 107;

export function logmonPaths(dataDir: string) {
  const socket = path.join(dataDir, 'logmon.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new TendError(
      'E_EXECUTOR',
      `failed to place the log monitor socket: expected a path of at most ${MAX_SOCKET_PATH} bytes, got ${Buffer.byteLength(socket)} (${socket}); use a shorter data dir`,
    );
  }
  return {
    socket: path.join(dataDir, 'logmon.sock'),
    state: path.join(dataDir, 'logmon.json'),
    lock: path.join(dataDir, 'logmon.lock'),
    log: path.join(dataDir, 'logmon.log'),
  };
}

/** Send one request and read its answer; rejects with the socket error (ENOENT, ECONNREFUSED) when no monitor listens. */
export function requestLogmon(socketPath: string, req: LogmonRequest, timeoutMs = 10_000): Promise<LogmonResponse> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new TendError('E_EXECUTOR', `failed to reach log monitor: no answer to ${req.op} within ${timeoutMs}ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      conn.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as LogmonResponse);
      } catch (err) {
        reject(new TendError('E_EXECUTOR', `failed to read log monitor answer: ${String(err)}`, { cause: err }));
      }
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('close', () => {
      clearTimeout(timer);
      reject(new TendError('E_EXECUTOR', `failed to read log monitor answer: connection closed`));
    });
  });
}
