/**
 * The http check (Consul's CheckHTTP, Nomad's provider checker): one request with node's
 * http/https, no keep-alive (a fresh connection each time, `Connection: close`), `timeout` for
 * the whole exchange including redirects (followed, at most 10, as Go's client does).
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
/** One agent per protocol without keep-alive: a fresh connection per check, closed after it (cheaper than `agent: false`, which makes an agent per request). */
const agents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
const USER_AGENT = 'tend Health Check';

type HttpSpec = NonNullable<CheckSpec['http']>;

interface Answer {
  code: number;
  reason: string;
  body: string;
  location?: string;
}

/** Request options per check spec (parsed once: a check runs every few seconds for hours). */
const prepared = new WeakMap<HttpSpec, { url: URL; headers: http.OutgoingHttpHeaders }>();

function prepare(spec: HttpSpec): { url: URL; headers: http.OutgoingHttpHeaders } {
  let p = prepared.get(spec);
  if (!p) {
    const headers: http.OutgoingHttpHeaders = { 'user-agent': USER_AGENT, accept: 'text/plain, text/*, */*' };
    for (const [k, vs] of Object.entries(spec.headers)) headers[k.toLowerCase()] = vs.length === 1 ? vs[0] : vs;
    if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
    p = { url: new URL(spec.url), headers };
    prepared.set(spec, p);
  }
  return p;
}

/** One request; `deadline` (epoch ms) bounds the whole exchange. Rejects with `timedOut` set past it. */
function once(url: URL, spec: HttpSpec, method: string, headers: http.OutgoingHttpHeaders, body: string | undefined, deadline: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const req = lib.request(url, {
      method,
      headers,
      agent: url.protocol === 'https:' ? agents.https : agents.http,
      ...(url.protocol === 'https:' ? { rejectUnauthorized: !spec.tlsSkipVerify, ...(spec.serverName ? { servername: spec.serverName } : {}) } : {}),
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(() => reject(Object.assign(new Error('timed out'), { timedOut: true })));
    }, Math.max(0, deadline - Date.now()));
    req.once('error', (err) => finish(() => reject(err)));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        res.destroy();
        finish(() =>
          resolve({
            code: res.statusCode ?? 0,
            reason: res.statusMessage ?? '',
            body: size ? Buffer.concat(chunks).subarray(0, OUTPUT_MAX).toString('utf8') : '',
            ...(typeof res.headers.location === 'string' ? { location: res.headers.location } : {}),
          }),
        );
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
  const deadline = Date.now() + spec.timeoutMs;
  const p = prepare(h);
  let url = p.url;
  let method = h.method;
  let body = h.body;
  let headers = p.headers;
  const label = `HTTP ${h.method} ${h.url}`;
  try {
    for (let hop = 0; ; hop++) {
      const a = await once(url, h, method, headers, body, deadline);
      if (a.code >= 300 && a.code < 400 && a.location && hop < MAX_REDIRECTS) {
        const next = new URL(a.location, url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') return { status: 'critical', code: a.code, output: `${label}: redirected to ${next.protocol} URL ${next.href}` };
        // As Go's client: 301/302/303 continue as GET without a body; 307/308 repeat the request.
        if (a.code !== 307 && a.code !== 308 && body !== undefined) {
          body = undefined;
          headers = { ...headers };
          delete headers['content-length'];
        }
        if (a.code !== 307 && a.code !== 308 && method !== 'GET' && method !== 'HEAD') method = 'GET';
        url = next;
        continue;
      }
      const status = a.code >= 200 && a.code < 300 ? 'passing' : a.code === 429 ? 'warning' : 'critical';
      return { status, code: a.code, output: outputOf(`${label}: ${a.code} ${a.reason} Output: ${a.body}`) };
    }
  } catch (err) {
    if ((err as { timedOut?: boolean }).timedOut) return { status: 'critical', output: `${label}: timed out after ${fmtTimeout(spec.timeoutMs)}` };
    return { status: 'critical', output: outputOf(`${label}: ${(err as Error).message}`) };
  }
}
