/**
 * The grpc check (Consul's CheckGRPC): the standard health service, `grpc.health.v1.Health/Check`,
 * over node's built-in http2 (cleartext h2c, or TLS with `grpc_use_tls`). The message formats are
 * one field each, so they are encoded here rather than with a protobuf library:
 *
 *   HealthCheckRequest  { string service = 1; }       → 0x0a <varint length> <utf-8 bytes>
 *   HealthCheckResponse { ServingStatus status = 1; } → 0x08 <varint>  (1 = SERVING)
 *
 * each framed as gRPC does: a 0 byte (not compressed), a 4-byte big-endian length, the message.
 * SERVING with grpc-status 0: passing; anything else, or no answer within `timeout`: critical.
 */
import http2 from 'node:http2';
import { joinHostPort } from '../../ports/ports.js';
import type { CheckResult, CheckSpec } from '../services.js';
import { fmtTimeout, outputOf } from './output.js';

const PATH = '/grpc.health.v1.Health/Check';
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A gRPC frame of HealthCheckRequest{service}. */
export function encodeRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const msg = name.length ? Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** The ServingStatus of a HealthCheckResponse frame (0, UNKNOWN, when the field is absent); undefined when malformed. */
export function decodeResponse(frame: Buffer): number | undefined {
  if (frame.length < 5 || frame[0] !== 0) return undefined;
  const len = frame.readUInt32BE(1);
  const msg = frame.subarray(5, 5 + len);
  if (msg.length !== len) return undefined;
  let status = 0;
  for (let i = 0; i < msg.length; ) {
    const tag = msg[i++];
    const wire = tag & 7;
    let v = 0;
    let shift = 0;
    if (wire === 0) {
      for (;;) {
        if (i >= msg.length) return undefined;
        const b = msg[i++];
        v |= (b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
      }
      if (tag >> 3 === 1) status = v;
    } else if (wire === 2) {
      for (;;) {
        if (i >= msg.length) return undefined;
        const b = msg[i++];
        v |= (b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
      }
      i += v;
    } else {
      return undefined;
    }
  }
  return status;
}

/** Run one grpc check. Never throws. */
export function runGrpc(spec: CheckSpec): Promise<CheckResult> {
  const g = spec.grpc!;
  const target = joinHostPort(spec.address ?? '', spec.port ?? 0);
  const label = `gRPC check ${target}${g.service ? `/${g.service}` : ''}`;
  return new Promise((resolve) => {
    let settled = false;
    const session = http2.connect(`${g.tls ? 'https' : 'http'}://${target}`, g.tls ? { rejectUnauthorized: !g.tlsSkipVerify, ...(g.serverName ? { servername: g.serverName } : {}) } : {});
    const timer = setTimeout(() => finish({ status: 'critical', output: `${label}: timed out after ${fmtTimeout(spec.timeoutMs)}` }), spec.timeoutMs);
    function finish(r: CheckResult): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    }
    session.once('error', (err) => finish({ status: 'critical', output: outputOf(`${label}: ${err.message}`) }));
    const req = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'tend-health-check' });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    req.once('response', (h) => (headers = h));
    req.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
    req.once('error', (err) => finish({ status: 'critical', output: outputOf(`${label}: ${err.message}`) }));
    req.once('trailers', (t) => (headers = { ...headers, ...t }));
    req.once('end', () => {
      const grpcStatus = Number(headers['grpc-status'] ?? -1);
      if (grpcStatus !== 0) {
        const msg = headers['grpc-message'] ? decodeURIComponent(String(headers['grpc-message'])) : `HTTP ${headers[':status'] ?? '?'}`;
        return finish({ status: 'critical', output: outputOf(`${label}: rpc error: code = ${grpcStatus} desc = ${msg}`) });
      }
      const status = decodeResponse(Buffer.concat(chunks));
      if (status === 1) return finish({ status: 'passing', output: `${label}: success` });
      finish({ status: 'critical', output: `${label}: ${status === undefined ? 'malformed response' : `status ${STATUS[status] ?? status}`}` });
    });
    req.end(encodeRequest(g.service));
  });
}
