/**
 * The variables endpoints, Nomad's `/v1/var/<path>` and `/v1/vars`:
 *
 *   GET    /v1/vars?prefix=P        metadata of every variable under P, sorted
 *   GET    /v1/var/<path>           the variable with its items
 *   PUT    /v1/var/<path>?cas=N     body {"items": {…}} (Nomad's "Items" too)
 *   DELETE /v1/var/<path>?cas=N
 *
 * `<path>` is taken from the raw request target and decoded once: tendctl
 * sends it as one encoded segment (`nomad%2Fjobs%2Fweb`); plain slashes work
 * too. Nothing normalises it (a `..` stays, and is refused as an invalid
 * path), so a request always names the path it shows. Bodies are never
 * logged; the access log has the path only.
 */
import { sendJson, badRequest, httpError, queryInt, readJsonBody } from './http.js';
import type { RouteContext } from './routes.js';
import type { VariablesApi } from './api.js';
import { TendError } from '../errors.js';

function store(ctx: RouteContext): VariablesApi {
  const v = ctx.api.variables;
  if (!v) throw httpError('E_BAD_REQUEST', 404, 'this agent has no variables store');
  return v;
}

export async function serveVarList(ctx: RouteContext): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    ctx.res.setHeader('allow', 'GET');
    throw httpError('E_BAD_REQUEST', 405, `method ${method} not allowed on /v1/vars: use GET`);
  }
  sendJson(ctx.res, 200, store(ctx).list(ctx.url.searchParams.get('prefix') ?? ''));
}

/** The variable path of `/v1/var/<path>`, from the raw target (URL parsing would resolve `..`). */
function pathOf(ctx: RouteContext): string {
  const target = (ctx.req.url ?? '').split('?')[0];
  const raw = target.startsWith('/v1/var/') ? target.slice('/v1/var/'.length) : '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`invalid URL encoding in the variable path "${raw.slice(0, 140)}"`);
  }
}

export async function serveVar(ctx: RouteContext): Promise<void> {
  const vars = store(ctx);
  const path = pathOf(ctx);
  const cas = queryInt(ctx.url, 'cas');
  switch (ctx.req.method) {
    case 'GET':
    case 'HEAD': {
      const v = vars.get(path);
      if (!v) throw new TendError('E_VAR_NOT_FOUND', `variable ${path} not found`, { details: { path } });
      return sendJson(ctx.res, 200, v);
    }
    case 'PUT':
    case 'POST': {
      const body = await readJsonBody(ctx.req, { timeoutMs: ctx.limits.bodyTimeoutMs, limit: ctx.limits.maxVarBodyBytes }).catch((err) => {
        // The generic message quotes the start of the body: a secret, here.
        if (err instanceof TendError && err.message.startsWith('failed to parse request body')) throw badRequest('failed to parse request body: expected a JSON object {"items": {…}}');
        throw err;
      });
      const items = body.items ?? body.Items;
      if (items === undefined) throw new TendError('E_VAR_INVALID', `variable ${path}: items: required: expected {"items": {"KEY": "VALUE"}}`, { details: { path } });
      return sendJson(ctx.res, 200, await vars.put(path, items as Record<string, string>, cas === undefined ? {} : { cas }));
    }
    case 'DELETE':
      await vars.purge(path, cas === undefined ? {} : { cas });
      return sendJson(ctx.res, 200, { path });
    default:
      ctx.res.setHeader('allow', 'GET, PUT, DELETE');
      throw httpError('E_BAD_REQUEST', 405, `method ${ctx.req.method} not allowed on /v1/var/<path>: use GET, PUT or DELETE`);
  }
}
