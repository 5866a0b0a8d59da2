/**
 * `GET /v1/logs/<id>?stream=stdout|stderr&n=N&follow=1`: a task's output as
 * `text/plain`, read across its rotated files (`<logDir>/<task>.stdout.N`,
 * highest N newest) by the executor's log reader (`readLogs`). With `follow=1` the
 * response stays open and follows rotation until the client goes away or the
 * server closes.
 */
import { stat } from 'node:fs/promises';
import type { RouteContext } from './routes.js';
import type { TaskView } from './api.js';
import { TendError, errnoCode } from '../errors.js';
import { readLogs as executorReadLogs, type ReadLogsOptions } from '../executor/logs/reader.js';
import { badRequest, queryFlag, queryInt } from './http.js';

/** The log reader's signature (src/executor/logs/reader.ts); tests may pass their own. */
export type ReadLogs = (opts: ReadLogsOptions) => AsyncIterable<Buffer>;

async function logLocation(ctx: RouteContext, id: string): Promise<{ logDir: string; task: string; view?: TaskView }> {
  if (ctx.opts.logsOf) return ctx.opts.logsOf(id);
  const view = await ctx.api.task(id);
  if (!view.dirs?.logs) throw noOutputYet(id, view);
  return { logDir: view.dirs.logs, task: view.dirs.logKey, view };
}

/** A task that has never run has no output: say so, and why it has not run (its state, the first clause of its error). */
function noOutputYet(id: string, view: TaskView | undefined): TendError {
  const why = view ? `${view.state}${view.error ? `: ${firstClause(view.error)}` : ''}` : 'pending';
  return new TendError('E_TASK_NOT_RUNNING', `task ${id} has no output yet: it has not started (${why})`, { details: { task: id, state: view?.state } });
}

function firstClause(text: string): string {
  const i = text.indexOf(': ');
  return i > 0 ? text.slice(0, i) : text;
}

export async function serveLogs(ctx: RouteContext, id: string): Promise<void> {
  const { res, url } = ctx;
  const streamParam = url.searchParams.get('stream') ?? 'stdout';
  if (streamParam !== 'stdout' && streamParam !== 'stderr') throw badRequest(`invalid stream: expected stdout or stderr, got "${streamParam}"`);
  const tail = queryInt(url, 'n');
  const follow = queryFlag(url, 'follow');
  const where = await logLocation(ctx, id);
  try {
    await stat(where.logDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw noOutputYet(id, where.view);
    throw err;
  }
  const readLogs = ctx.opts.readLogs ?? executorReadLogs;

  const stop = new AbortController();
  const onClose = () => stop.abort();
  res.once('close', onClose);
  ctx.closing.addEventListener('abort', onClose, { once: true });
  try {
    const chunks = readLogs({ ...where, stream: streamParam, tail, follow, signal: stop.signal })[Symbol.asyncIterator]();
    const headers = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    let next: IteratorResult<Buffer>;
    if (follow) {
      // Following may wait long for the first line: the client gets the headers now.
      res.writeHead(200, headers);
      res.flushHeaders();
      next = await chunks.next();
    } else {
      // Reading what exists never blocks: its errors are still JSON errors.
      next = await chunks.next();
      res.writeHead(200, headers);
    }
    while (!next.done && !stop.signal.aborted) {
      if (!res.write(next.value)) await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          stop.signal.removeEventListener('abort', done);
          resolve();
        };
        res.on('drain', done);
        stop.signal.addEventListener('abort', done);
      });
      if (stop.signal.aborted) break;
      next = await chunks.next();
    }
    if (stop.signal.aborted) await chunks.return?.();
  } catch (err) {
    if (stop.signal.aborted) return;
    if (!res.headersSent) throw err;
    // Mid-stream: cut the response so the client sees a broken stream, not a clean end.
    ctx.log.warn({ err, task: id }, 'log stream failed');
    res.destroy();
  } finally {
    res.off('close', onClose);
    ctx.closing.removeEventListener('abort', onClose);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
