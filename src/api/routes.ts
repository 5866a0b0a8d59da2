/**
 * The API's endpoints. JSON unless noted; errors are
 * `{ "error": { "code": "E_TASK_NOT_FOUND", "message": "…" } }` with 400,
 * 401, 404, 409 or 500. `<id>` is a task instance id, URL-encoded
 * (`web%2Fserver%5B0%5D%2Fserver`), or an unambiguous prefix of one.
 *
 *   GET  /v1/node                       NodeView
 *   GET  /v1/jobs                       JobView[]
 *   GET  /v1/files                      FileView[]
 *   GET  /v1/tasks                      TaskView[]
 *   GET  /v1/services                   ServiceSummaryView[] (the local catalog, by name)
 *   GET  /v1/service/<name>             ServiceInstanceView[] with checks; 404 E_SERVICE_NOT_FOUND
 *   GET  /v1/task/<id>[?stats=1]        TaskView with events, spec, dirs (and stats)
 *   GET  /v1/resolve?q=PREFIX           { matches: string[] }
 *   POST /v1/resync                     relist the jobs dir now: {generation, files} once the agent has the set
 *   GET  /v1/events?after=&task=&job=&limit=     TaskEvent[]
 *   GET  /v1/events?follow=1&…          NDJSON stream of TaskEvent, heartbeats while idle
 *   GET  /v1/logs/<id>?stream=stdout|stderr&n=N&follow=1&timestamps=1&since=&merge=1   text/plain stream (routes-logs.ts)
 *   POST /v1/task/<id>/signal {signal}  { task, signal }
 *   POST /v1/task/<id>/restart          { task }
 *   POST /v1/task/<id>/exec?cmd=…&cmd=…&stdin=1   NDJSON frames (routes-exec.ts)
 *   POST /v1/job/<job>/periodic/force   { job, child }: launch a periodic job's child now
 *   POST /v1/job/<job>/dispatch {meta, payload}   { job, child }: dispatch a parameterized job
 *                                       (payload base64, at most 16 KiB decoded; body at most 64 KiB)
 *   GET  /v1/job/<job>/deployment       DeploymentView: the job's latest rollout
 *   POST /v1/job/<job>/deployment/fail  DeploymentView: the running rollout fails (auto_revert reverts)
 *   POST /v1/job/<job>/deployment/promote   { ...DeploymentView, promoted }: health_check = "manual"
 *   GET  /v1/plan[?dir=&verbose=1]      Plan
 *   GET  /v1/stats                      Record<id, TaskStats>
 *   GET  /v1/samples                    SamplesView: the newest CPU/memory sample per task (starts the sampler)
 *   GET  /v1/samples/<id>               SampleSeries: one task's samples over the last minutes
 *   GET  /v1/vars[?prefix=P]            VariableMetadata[] (no items), sorted by path (routes-vars.ts)
 *   GET  /v1/var/<path>                 Variable with items; 404 E_VAR_NOT_FOUND
 *   PUT  /v1/var/<path>[?cas=N] {items} Variable as written; 409 E_VAR_CONFLICT / E_VAR_READ_ONLY
 *   DELETE /v1/var/<path>[?cas=N]       { path }
 *   GET  /metrics                       Prometheus text
 *   GET  /ui/                           the web status page (routes-ui.ts); its files need no token on TCP
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pino from 'pino';
import type { AgentApi, DispatchInput, EventQuery } from './api.js';
import type { ApiServerOptions } from './server.js';
import type { ApiLimits } from './limits.js';
import { badRequest, httpError, queryFlag, queryInt, readJsonBody, sendJson } from './http.js';
import { followEvents } from './routes-events.js';
import { serveLogs } from './routes-logs.js';
import { serveExec } from './routes-exec.js';
import { serveVar, serveVarList } from './routes-vars.js';
import { serveUi, UI_PREFIX } from './routes-ui.js';
import { TendError } from '../errors.js';
import { ambiguousMessage, notFoundMessage } from './task-errors.js';

export interface RouteContext {
  api: AgentApi;
  opts: ApiServerOptions;
  /** The server's limits, resolved from `opts.limits`. */
  limits: ApiLimits;
  log: pino.Logger;
  /** Aborted when the server closes: streams end. */
  closing: AbortSignal;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

function notFound(url: URL): TendError {
  return httpError('E_BAD_REQUEST', 404, `no such endpoint: ${url.pathname}`);
}

function methodNotAllowed(ctx: RouteContext, allowed: string): TendError {
  ctx.res.setHeader('allow', allowed);
  return httpError('E_BAD_REQUEST', 405, `method ${ctx.req.method} not allowed on ${ctx.url.pathname}: use ${allowed}`);
}

/**
 * The one instance a query names: the id itself, or the single instance an
 * unambiguous prefix matches. 404 naming the query when none, 409 listing
 * the matches when several.
 */
export function resolveTaskId(api: AgentApi, query: string): string {
  if (!query) throw badRequest('missing task id');
  const matches = api.resolve(query);
  if (matches.includes(query)) return query;
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    const suggestions = api.suggestTasks?.(query) ?? [];
    throw new TendError('E_TASK_NOT_FOUND', notFoundMessage(query, suggestions), { details: { task: query, suggestions } });
  }
  throw new TendError('E_TASK_AMBIGUOUS', ambiguousMessage(query, matches), {
    details: { task: query, matches },
  });
}

/** Every instance a query names (`web`, `web/frontend`, `web/frontend[1]`); E_TASK_NOT_FOUND as resolveTaskId. */
export function resolveTaskIds(api: AgentApi, query: string): string[] {
  const matches = api.resolve(query);
  if (matches.includes(query)) return [query];
  if (matches.length > 1) return matches;
  return [resolveTaskId(api, query)];
}

/** Event query from `?after=&task=&job=&limit=`; a task prefix is resolved, an unknown id kept (past tasks have events too). */
export function eventQuery(api: AgentApi, url: URL): EventQuery {
  const q: EventQuery = {};
  const after = queryInt(url, 'after');
  const limit = queryInt(url, 'limit');
  if (after !== undefined) q.after = after;
  if (limit !== undefined) q.limit = limit;
  const job = url.searchParams.get('job');
  if (job) q.job = job;
  const task = url.searchParams.get('task');
  if (task) {
    const matches = api.resolve(task);
    if (matches.includes(task) || matches.length === 0) q.task = task;
    else q.task = resolveTaskId(api, task);
  }
  return q;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`invalid URL encoding in "${s}"`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `{ meta?: {K: "V"}, payload?: "<base64>" }`, checked; 400 saying what was expected. */
export function dispatchInput(body: Record<string, unknown>): DispatchInput {
  const out: DispatchInput = {};
  const unknown = Object.keys(body).filter((k) => k !== 'meta' && k !== 'payload');
  if (unknown.length) throw badRequest(`invalid dispatch request: expected only "meta" and "payload", got ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  if (body.meta !== undefined) {
    const m = body.meta;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || Object.values(m).some((v) => typeof v !== 'string')) {
      throw badRequest('invalid dispatch request: expected "meta" to be an object of strings, e.g. {"meta": {"run": "42"}}');
    }
    out.meta = { ...(m as Record<string, string>) };
  }
  if (body.payload !== undefined) {
    if (typeof body.payload !== 'string' || !BASE64.test(body.payload)) throw badRequest('invalid dispatch request: expected "payload" to be a base64 string');
    out.payload = body.payload;
  }
  return out;
}

export async function dispatch(ctx: RouteContext): Promise<void> {
  const { api, req, res, url } = ctx;
  const method = req.method ?? 'GET';
  const get = (fn: () => unknown | Promise<unknown>) => {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(ctx, 'GET');
    return Promise.resolve(fn()).then((v) => sendJson(res, 200, v));
  };

  if (url.pathname === '/metrics') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(ctx, 'GET');
    const registry = ctx.opts.metrics.registry;
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
    return;
  }

  if (url.pathname === '/ui' || url.pathname.startsWith(UI_PREFIX)) return serveUi(ctx);

  const seg = url.pathname.split('/').filter(Boolean).map(decodeSegment);
  if (seg[0] !== 'v1') throw notFound(url);
  const rest = seg.slice(2);
  switch (seg[1]) {
    case 'node':
      if (rest.length) break;
      return get(() => api.node());
    case 'jobs':
      if (rest.length) break;
      return get(() => api.jobs());
    case 'files':
      if (rest.length) break;
      return get(() => api.files());
    case 'tasks':
      if (rest.length) break;
      return get(() => api.tasks());
    case 'stats':
      if (rest.length) break;
      return get(() => api.stats());
    case 'samples': {
      const { samples, sampleSeries } = api;
      if (!samples || !sampleSeries) break;
      if (!rest.length) return get(() => samples.call(api));
      const id = resolveTaskId(api, rest.join('/'));
      return get(() => sampleSeries.call(api, id));
    }
    case 'services':
      if (rest.length) break;
      return get(() => api.services());
    case 'service':
      if (rest.length !== 1) break;
      return get(() => api.service(rest[0]));
    case 'vars':
      if (rest.length) break;
      return serveVarList(ctx);
    case 'var':
      if (!rest.length) break;
      return serveVar(ctx);
    case 'resync': {
      if (rest.length || !api.resync) break;
      if (method !== 'POST') throw methodNotAllowed(ctx, 'POST');
      await readJsonBody(req, { timeoutMs: ctx.limits.bodyTimeoutMs });
      return sendJson(res, 200, await api.resync());
    }
    case 'plan':
      if (rest.length) break;
      return get(() => api.plan(url.searchParams.get('dir') || undefined, { verbose: url.searchParams.get('verbose') === '1' }));
    case 'resolve': {
      if (rest.length) break;
      const q = url.searchParams.get('q');
      if (q === null) throw badRequest('missing query: /v1/resolve?q=PREFIX');
      return get(() => {
        const matches = api.resolve(q);
        return matches.length ? { matches } : { matches, suggestions: api.suggestTasks?.(q) ?? [] };
      });
    }
    case 'events': {
      if (rest.length) break;
      if (method !== 'GET') throw methodNotAllowed(ctx, 'GET');
      const q = eventQuery(api, url);
      if (queryFlag(url, 'follow')) return followEvents(ctx, q);
      return get(() => api.events(q));
    }
    case 'logs': {
      if (!rest.length) break;
      if (method !== 'GET') throw methodNotAllowed(ctx, 'GET');
      const q = rest.join('/');
      return serveLogs(ctx, queryFlag(url, 'merge') ? resolveTaskIds(api, q) : [resolveTaskId(api, q)]);
    }
    case 'job': {
      // The job id is one URL-encoded segment (a child's id holds "/").
      if (rest[1] === 'deployment') {
        if (rest.length === 2) return get(() => api.deployment(rest[0]));
        if (rest.length !== 3 || (rest[2] !== 'fail' && rest[2] !== 'promote')) break;
        if (method !== 'POST') throw methodNotAllowed(ctx, 'POST');
        await readJsonBody(req, { timeoutMs: ctx.limits.bodyTimeoutMs });
        return sendJson(res, 200, rest[2] === 'fail' ? await api.failDeployment(rest[0]) : await api.promoteDeployment(rest[0]));
      }
      const force = rest.length === 3 && rest[1] === 'periodic' && rest[2] === 'force';
      const dispatchJob = rest.length === 2 && rest[1] === 'dispatch';
      if (!force && !dispatchJob) break;
      if (method !== 'POST') throw methodNotAllowed(ctx, 'POST');
      const body = await readJsonBody(req, { timeoutMs: ctx.limits.bodyTimeoutMs });
      if (force) return sendJson(res, 200, await api.forcePeriodic(rest[0]));
      return sendJson(res, 200, await api.dispatchJob(rest[0], dispatchInput(body)));
    }
    case 'task': {
      if (!rest.length) break;
      const action = rest.length > 1 && method === 'POST' ? rest[rest.length - 1] : undefined;
      if (action === 'signal' || action === 'restart' || action === 'exec') {
        const id = resolveTaskId(api, rest.slice(0, -1).join('/'));
        if (action === 'exec') return serveExec(ctx, id);
        const body = await readJsonBody(req, { timeoutMs: ctx.limits.bodyTimeoutMs });
        if (action === 'restart') {
          // What the restart will do, for tendctl to say: the state it finds the task in, its kill signal and timeout.
          const before = await api.task(id).catch(() => undefined);
          await api.restart(id);
          const spec = before?.spec as { kill_signal?: unknown; kill_timeout?: unknown } | undefined;
          return sendJson(res, 200, {
            task: id,
            ...(before ? { state: before.state } : {}),
            ...(typeof spec?.kill_signal === 'string' ? { killSignal: spec.kill_signal } : {}),
            ...(typeof spec?.kill_timeout === 'string' ? { killTimeout: spec.kill_timeout } : {}),
          });
        }
        const signal = body.signal;
        if (typeof signal !== 'string' || !signal) throw badRequest('missing signal: expected {"signal": "SIGHUP"}');
        await api.signal(id, signal);
        return sendJson(res, 200, { task: id, signal });
      }
      if (method === 'POST') throw notFound(url);
      const id = resolveTaskId(api, rest.join('/'));
      return get(() => api.task(id, { stats: queryFlag(url, 'stats') }));
    }
  }
  throw notFound(url);
}
