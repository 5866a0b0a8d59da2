/**
 * The tcp check (Consul's CheckTCP): a connection to the address and port within `timeout`,
 * closed at once. Connected: passing, `TCP connect 127.0.0.1:8080: Success`; refused, unreachable
 * or too slow: critical, with why.
 */
import net from 'node:net';
import { joinHostPort } from '../../ports/ports.js';
import type { CheckResult, CheckSpec } from '../services.js';
import { fmtTimeout } from './output.js';

/** Run one tcp check. Never throws. */
export function runTcp(spec: CheckSpec): Promise<CheckResult> {
  const target = joinHostPort(spec.address ?? '', spec.port ?? 0);
  return new Promise((resolve) => {
    const sock = net.connect({ host: spec.address, port: spec.port ?? 0 });
    const timer = setTimeout(() => finish({ status: 'critical', output: `TCP connect ${target}: timed out after ${fmtTimeout(spec.timeoutMs)}` }), spec.timeoutMs);
    let settled = false;
    function finish(r: CheckResult): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    }
    sock.once('connect', () => finish({ status: 'passing', output: `TCP connect ${target}: Success` }));
    sock.once('error', (err) => finish({ status: 'critical', output: `TCP connect ${target}: ${err.message}` }));
  });
}
