/**
 * `GET /v1/logs/<id>?stream=stdout|stderr&n=N&follow=1`: a task's output as
 * `text/plain`, read across its rotated files (`<logDir>/<task>.stdout.N`,
 * highest N newest) by the executor's log reader (`readLogs`). With `follow=1` the
 * response stays open and follows rotation until the client goes away or the
 * server closes.
 *
 * Line mode, when any of these is asked (else the bytes as the task wrote them):
 *  - `timestamps=1`: each line prefixed with the RFC 3339 time it was read
 *    (`2026-11-30T12:00:00.123Z `; `-` for a line written before times were kept);
 *  - `since=`: only lines read since then: a Go duration back from now (`10m`)
 *    or an RFC 3339 time;
 *  - `merge=1` with an id that names several instances (a job, `job/group`,
 *    `job/group[i]`): their lines in one stream, each prefixed `[group[i]/task] `
 *    (the whole id when they are of several jobs), what exists merged in time
 *    order, `n` lines of each; then, following, each line as it comes.
 * A line without its newline is given out with one (at the end of a read, or
 * after half a second while following).
 */
import { stat } from 'node:fs/promises';
import type { RouteContext } from './routes.js';
import type { TaskView } from './api.js';
import { TendError, errnoCode, isTendError } from '../errors.js';
import { readLogs as executorReadLogs, type ReadLogsOptions } from '../executor/logs/reader.js';
import { LogLineReader, type LogLine } from '../executor/logs/lines.js';
import { interleave, mergeByTime } from '../executor/logs/merge.js';
import type { LogStream } from '../executor/logs/rotator.js';
import { parseSince, SINCE_EXPECTED } from './since.js';
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

/** `[group[i]/task]`: an instance's id without its job when every instance shown is of one job. */
export function linePrefixes(ids: string[]): string[] {
  const jobOf = (id: string) => id.slice(0, id.indexOf('/'));
  const oneJob = ids.every((id) => jobOf(id) === jobOf(ids[0]));
  return ids.map((id) => (oneJob ? id.slice(id.indexOf('/') + 1) : id));
}

/** A line as line mode gives it out: `[prefix] `, then with timestamps the time (or `-`), then the text. */
export function formatLogLine(line: LogLine, o: { prefix?: string; timestamps?: boolean }): Buffer {
  const head = `${o.prefix ? `[${o.prefix}] ` : ''}${o.timestamps ? `${line.time === undefined ? '-' : new Date(line.time).toISOString()} ` : ''}`;
  return Buffer.concat([Buffer.from(head), line.text, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');

export async function serveLogs(ctx: RouteContext, ids: string[]): Promise<void> {
  const { url } = ctx;
  const streamParam = url.searchParams.get('stream') ?? 'stdout';
  if (streamParam !== 'stdout' && streamParam !== 'stderr') throw badRequest(`invalid stream: expected stdout or stderr, got "${streamParam}"`);
  const timestamps = queryFlag(url, 'timestamps');
  const sinceText = url.searchParams.get('since');
  const since = sinceText === null || sinceText === '' ? undefined : parseSince(sinceText, Date.now());
  if (sinceText && since === undefined) throw badRequest(`invalid since: expected ${SINCE_EXPECTED}, got "${sinceText}"`);
  if (ids.length > 1 || timestamps || since !== undefined) return serveLines(ctx, ids, streamParam, { timestamps, since });
  return serveBytes(ctx, ids[0], streamParam);
}

/** The response headers, then each chunk (waiting for the client to take it), until the chunks end or the client goes. */
async function stream(ctx: RouteContext, what: string, follow: boolean, open: (signal: AbortSignal) => AsyncIterator<Buffer>): Promise<void> {
  const { res } = ctx;
  const stop = new AbortController();
  const onClose = () => stop.abort();
  res.once('close', onClose);
  ctx.closing.addEventListener('abort', onClose, { once: true });
  try {
    const chunks = open(stop.signal);
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
    if (stop.signal.aborted) await chunks.return?.(undefined);
  } catch (err) {
    if (stop.signal.aborted) return;
    if (!res.headersSent) throw err;
    // Mid-stream: cut the response so the client sees a broken stream, not a clean end.
    ctx.log.warn({ err, task: what }, 'log stream failed');
    res.destroy();
  } finally {
    stop.abort();
    res.off('close', onClose);
    ctx.closing.removeEventListener('abort', onClose);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

/** Instances' output as lines: timestamps, since, several instances merged (see the file's comment). */
async function serveLines(ctx: RouteContext, ids: string[], streamName: LogStream, o: { timestamps: boolean; since?: number }): Promise<void> {
  const { url } = ctx;
  const tail = queryInt(url, 'n');
  const follow = queryFlag(url, 'follow');
  // Instances that never ran have nothing to show; when none has run, say why.
  const found: { id: string; logDir: string; task: string }[] = [];
  let firstMissing: TendError | undefined;
  for (const id of ids) {
    try {
      const where = await logLocation(ctx, id);
      await stat(where.logDir);
      found.push({ id, logDir: where.logDir, task: where.task });
    } catch (err) {
      if (isTendError(err) && err.code === 'E_TASK_NOT_RUNNING') firstMissing ??= err;
      else if (errnoCode(err) === 'ENOENT') firstMissing ??= noOutputYet(id, await ctx.api.task(id).catch(() => undefined));
      else throw err;
    }
  }
  if (!found.length) throw firstMissing ?? noOutputYet(ids[0], undefined);
  const prefixes = ids.length > 1 ? linePrefixes(found.map((f) => f.id)) : [];
  const render = (source: number, line: LogLine) => formatLogLine(line, { prefix: prefixes[source], timestamps: o.timestamps });
  await stream(ctx, ids.join(','), follow, (signal) =>
    (async function* () {
      // What exists, in time order; a line still being written waits for the follow.
      const first = found.map((f) => new LogLineReader({ logDir: f.logDir, task: f.task, stream: streamName, tail, since: o.since, holdPartial: follow, signal }));
      for await (const { source, line } of mergeByTime(first.map((r) => r.lines()))) yield render(source, line);
      if (!follow) return;
      const rest = found.map((f, i) => new LogLineReader({ logDir: f.logDir, task: f.task, stream: streamName, since: o.since, from: first[i].position, follow: true, signal }).lines());
      for await (const { source, line } of interleave(rest, signal)) yield render(source, line);
    })(),
  );
}

async function serveBytes(ctx: RouteContext, id: string, streamParam: LogStream): Promise<void> {
  const { url } = ctx;
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
  await stream(ctx, id, follow, (signal) => readLogs({ ...where, stream: streamParam, tail, follow, signal })[Symbol.asyncIterator]());
}
