/**
 * `GET /v1/events?follow=1`: the backlog after `after`, then live events, as
 * newline-delimited JSON, with `{"heartbeat": time}` lines while idle so
 * clients and proxies see the stream alive. Subscribes before reading the
 * backlog and drops what it already sent by `seq`, so nothing falls between.
 */
import type { EventQuery, TaskEvent } from './api.js';
import type { RouteContext } from './routes.js';
import { NDJSON_HEADERS } from './http.js';

/** Beyond this many unsent bytes the client is too slow: the stream ends rather than grow without bound. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export function eventMatches(e: TaskEvent, q: EventQuery): boolean {
  if (q.task && e.task !== q.task) return false;
  if (q.job && (e.job ?? e.task?.split('/')[0]) !== q.job) return false;
  return true;
}

export function followEvents(ctx: RouteContext, q: EventQuery): Promise<void> {
  const { api, res } = ctx;
  return new Promise<void>((resolve) => {
    let last = q.after ?? 0;
    let backlogDone = false;
    const early: TaskEvent[] = [];
    const send = (e: TaskEvent) => {
      if (e.seq <= last || res.writableEnded) return;
      last = e.seq;
      res.write(JSON.stringify(e) + '\n');
      if (res.writableLength > MAX_BUFFERED) {
        ctx.log.warn({ buffered: res.writableLength }, 'event stream client too slow, ending stream');
        finish();
      }
    };
    const unsubscribe = api.subscribe((e) => {
      if (!eventMatches(e, q)) return;
      if (backlogDone) send(e);
      else early.push(e);
    });
    const heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(JSON.stringify({ heartbeat: new Date().toISOString() }) + '\n');
    }, ctx.opts.heartbeatMs ?? 15_000);
    let finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      unsubscribe();
      clearInterval(heartbeat);
      ctx.closing.removeEventListener('abort', finish);
      if (!res.writableEnded && !res.destroyed) res.end();
      resolve();
    }
    ctx.closing.addEventListener('abort', finish);
    // 'close' on the response: the client went away (or the stream ended).
    res.once('close', finish);

    res.writeHead(200, NDJSON_HEADERS);
    res.flushHeaders();
    try {
      for (const e of api.events(q)) send(e);
    } catch (err) {
      ctx.log.warn({ err }, 'failed to read event backlog');
    }
    backlogDone = true;
    for (const e of early.sort((a, b) => a.seq - b.seq)) send(e);
    early.length = 0;
  });
}
