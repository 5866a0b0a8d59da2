/**
 * The http check (Consul's CheckHTTP, Nomad's provider checker): one request with node's
 * http/https, no keep-alive (a fresh connection each time, closed after), `timeout` for the
 * whole exchange including redirects (followed, at most 10, as Go's client does).
 *
 *  - 2xx: passing; 429 Too Many Requests: warning; anything else, or no answer: critical;
 *  - output: `HTTP GET <url>: <code> <reason> Output: <the first 4 KiB of the body>`, or what
 *    went wrong (`connect ECONNREFUSED 127.0.0.1:8080`, `timed out after 2s`);
 *  - headers as the job file gives them (each value sent), `Host` among them; a body and a
 *    method; `tls_skip_verify`, `tls_server_name` for https.
 */
import http from 'node:http';
import https from 'node:https';
import { OUTPUT_MAX, type CheckResult, type CheckSpec } from '../services.js';
import { fmtTimeout, outputOf } from './output.js';

const MAX_REDIRECTS = 10;
const USER_AGENT = 'tend Health Check';

type HttpSpec = NonNullable<CheckSpec['http']>;

interface Answer {
  code: number;
  reason: string;
  body: string;
  location?: string;
}

function once(url: URL, spec: HttpSpec, method: string, body: string | undefined, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'user-agent': USER_AGENT, accept: 'text/plain, text/*, */*' };
    for (const [k, vs] of Object.entries(spec.headers)) headers[k.toLowerCase()] = vs.length === 1 ? vs[0] : vs;
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method,
      headers,
      agent: false,
      signal,
      ...(url.protocol === 'https:' ? { rejectUnauthorized: !spec.tlsSkipVerify, ...(spec.serverName ? { servername: spec.serverName } : {}) } : {}),
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        res.destroy();
        resolve({
          code: res.statusCode ?? 0,
          reason: res.statusMessage ?? '',
          body: Buffer.concat(chunks).subarray(0, OUTPUT_MAX).toString('utf8'),
          ...(typeof res.headers.location === 'string' ? { location: res.headers.location } : {}),
        });
      };
      res.on('data', (c: Buffer) => {
        if (size >= OUTPUT_MAX) return;
        chunks.push(c);
        size += c.length;
        if (size >= OUTPUT_MAX) done();
      });
      res.once('end', done);
      res.once('error', done);
      res.once('close', done);
    });
    req.end(body);
  });
}

/** Run one http check. Never throws: a failure is a critical result. */
export async function runHttp(spec: CheckSpec): Promise<CheckResult> {
  const h = spec.http!;
  const signal = AbortSignal.timeout(spec.timeoutMs);
  let url = new URL(h.url);
  let method = h.method;
  let body = h.body;
  const label = `HTTP ${h.method} ${h.url}`;
  try {
    for (let hop = 0; ; hop++) {
      const a = await once(url, h, method, body, signal);
      if (a.code >= 300 && a.code < 400 && a.location && hop < MAX_REDIRECTS) {
        const next = new URL(a.location, url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') return { status: 'critical', code: a.code, output: `${label}: redirected to ${next.protocol} URL ${next.href}` };
        // As Go's client: 301/302/303 continue as GET without a body; 307/308 repeat the request.
        if (a.code !== 307 && a.code !== 308) {
          if (method !== 'GET' && method !== 'HEAD') method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      const status = a.code >= 200 && a.code < 300 ? 'passing' : a.code === 429 ? 'warning' : 'critical';
      return { status, code: a.code, output: outputOf(`${label}: ${a.code} ${a.reason} Output: ${a.body}`) };
    }
  } catch (err) {
    if (signal.aborted) return { status: 'critical', output: `${label}: timed out after ${fmtTimeout(spec.timeoutMs)}` };
    return { status: 'critical', output: outputOf(`${label}: ${(err as Error).message}`) };
  }
}
