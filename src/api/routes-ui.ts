/**
 * `GET /ui/…`: the web status page (src/ui/), read-only, on every listener.
 *
 * The page and its script are public code and hold no data: on TCP they are
 * served without the token (a browser cannot send a header on navigation).
 * Every figure the page shows comes from the `/v1/` endpoints, which the
 * script calls with `Authorization: Bearer <token>` like tendctl (the token
 * comes from the URL's fragment, `/ui/#token=…`, which never reaches a
 * server, and stays in the tab's sessionStorage, which no other origin, port
 * included, can read). No cookie: nothing ambient another local web server
 * or page could replay.
 *
 * Headers: a strict Content-Security-Policy (scripts and styles from this
 * origin only, no inline script, no framing), nosniff, no referrer.
 * index.html is revalidated on every load (ETag); the hashed script and
 * style are immutable.
 */
import type { IncomingMessage } from 'node:http';
import type { RouteContext } from './routes.js';
import { httpError } from './http.js';
import { uiAssets } from './ui-assets.js';

export const UI_PREFIX = '/ui/';

export const UI_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** A GET or HEAD of the page's files: served on TCP without the token (they hold no data). */
export function isUiAssetRequest(req: IncomingMessage, pathname: string): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (pathname === '/ui' || pathname.startsWith(UI_PREFIX));
}

export async function serveUi(ctx: RouteContext): Promise<void> {
  const { req, res, url } = ctx;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    throw httpError('E_BAD_REQUEST', 405, `method ${req.method} not allowed on ${url.pathname}: the web page is read-only`);
  }
  if (url.pathname === '/ui') {
    res.writeHead(301, { location: `${UI_PREFIX}${url.search}`, 'content-length': 0, ...UI_HEADERS });
    res.end();
    return;
  }
  const name = url.pathname.slice(UI_PREFIX.length) || 'index.html';
  const assets = await uiAssets();
  const a = name.includes('/') ? undefined : assets.get(name);
  if (!a) throw httpError('E_BAD_REQUEST', 404, `no such file of the web page: ${url.pathname}`);
  const headers = {
    ...UI_HEADERS,
    'content-type': a.contentType,
    etag: a.etag,
    'cache-control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': a.body.length });
  res.end(req.method === 'HEAD' ? undefined : a.body);
}
