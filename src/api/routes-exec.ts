/**
 * `POST /v1/task/<id>/exec?cmd=ARG&cmd=ARG[&stdin=1][&tty=1&rows=R&cols=C[&term=T]][&input=frames]`:
 * runs a command inside a task over one HTTP request, which works the same
 * on the unix socket and on TCP (no Upgrade, no second connection):
 *
 *  - request body: the raw bytes of the command's stdin (chunked, streamed;
 *    empty without `stdin=1`); its end closes the command's stdin. With
 *    `input=frames`, NDJSON frames instead: `{"stdin": base64}`,
 *    `{"eof": true}` (closes the command's stdin), `{"resize": {"rows": R,
 *    "cols": C}}` (the terminal's new size); the agent answers with the
 *    header `tend-exec-input: frames` (an agent without it reads raw bytes);
 *  - response (200, NDJSON), one frame per line: `{"stdout": base64}`,
 *    `{"stderr": base64}`, and last `{"exit": code}` (128+N after signal N)
 *    or `{"error": {code, message}}`.
 *
 * With `tty=1` the command runs on a new pseudo-terminal of R×C (TERM=T, or
 * the task's, or xterm): its output comes as stdout frames, and stdin goes
 * through the terminal (^C is SIGINT).
 *
 * The client going away kills the command.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { EXEC_INPUT_HEADER, ndjsonLines, type ExecFrame } from './ndjson.js';
import type { RouteContext } from './routes.js';
import { NDJSON_HEADERS, badRequest, errorBody, queryFlag } from './http.js';
import { ttySize } from '../executor/tty.js';
import type { ExecSession } from '../executor/executor.js';
import { describeError } from '../errors.js';

/** After the command exits, how long output still in flight may take to arrive (a background child may hold the pipes). */
const DRAIN_AFTER_EXIT_MS = 2000;

/** The longest input frame read (a stdin chunk of 64 KiB is ~87 KiB of base64). */
const MAX_INPUT_FRAME = 1 << 20;

const TERM_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** Feed `input=frames` to the session: stdin bytes (with backpressure), the end of stdin, resizes. Throws on a frame it cannot read. */
async function readInputFrames(req: IncomingMessage, session: ExecSession, wantStdin: boolean): Promise<void> {
  const stdin = wantStdin ? session.stdin : null;
  for await (const v of ndjsonLines(req, MAX_INPUT_FRAME)) {
    const f = v as Record<string, unknown>;
    if (typeof f !== 'object' || f === null) throw new Error(`expected an object frame, got ${JSON.stringify(v)}`);
    if (typeof f.stdin === 'string') {
      if (stdin && !stdin.writableEnded && !stdin.write(Buffer.from(f.stdin, 'base64'))) {
        await new Promise<void>((resolve) => {
          stdin.once('drain', resolve);
          stdin.once('close', resolve);
        });
      }
    } else if (f.eof === true) {
      stdin?.end();
    } else if (typeof f.resize === 'object' && f.resize !== null) {
      const r = f.resize as { rows?: unknown; cols?: unknown };
      session.resize?.(ttySize(r.rows, r.cols));
    }
    // Anything else is a frame of a later client: skipped.
  }
  stdin?.end();
}

export async function serveExec(ctx: RouteContext, id: string): Promise<void> {
  const { api, req, res, url } = ctx;
  const command = url.searchParams.getAll('cmd');
  if (command.length === 0 || !command[0]) throw badRequest('missing command: expected ?cmd=PROGRAM&cmd=ARG…');
  const wantStdin = queryFlag(url, 'stdin');
  const tty = queryFlag(url, 'tty') ? ttySize(url.searchParams.get('rows'), url.searchParams.get('cols')) : undefined;
  const term = url.searchParams.get('term');
  if (term !== null && !TERM_RE.test(term)) throw badRequest(`expected term to be a terminal type like xterm-256color, got ${JSON.stringify(term.slice(0, 80))}`);
  const framed = url.searchParams.get('input') === 'frames';
  const env = tty && term ? { TERM: term } : undefined;
  const session = await api.exec(id, command, { stdin: wantStdin, ...(tty ? { tty } : {}), ...(env ? { env } : {}) });
  ctx.log.info({ task: id, command: command[0], stdin: wantStdin, tty: Boolean(tty), framed }, 'exec started');

  let finished = false;
  const onGone = () => {
    if (!finished) {
      ctx.log.info({ task: id }, 'exec client went away, killing command');
      session.kill();
    }
  };
  res.once('close', onGone);
  ctx.closing.addEventListener('abort', onGone, { once: true });

  res.writeHead(200, framed ? { ...NDJSON_HEADERS, [EXEC_INPUT_HEADER]: 'frames' } : NDJSON_HEADERS);
  res.flushHeaders();
  const write = (frame: ExecFrame) => res.writableEnded || res.destroyed || res.write(JSON.stringify(frame) + '\n');

  const pump = (stream: Readable, name: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        const ok = write(name === 'stdout' ? { stdout: chunk.toString('base64') } : { stderr: chunk.toString('base64') });
        if (!ok && !res.destroyed) {
          stream.pause();
          res.once('drain', () => stream.resume());
        }
      });
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  const outputs = Promise.all([pump(session.stdout, 'stdout'), pump(session.stderr, 'stderr')]);

  session.stdin?.on('error', () => {}); // EPIPE once the command has exited: nothing to do
  if (framed) {
    if (!wantStdin) session.stdin?.end();
    readInputFrames(req, session, wantStdin).catch((err: unknown) => {
      if (finished || res.destroyed || res.writableEnded) return;
      ctx.log.info({ task: id, err: describeError(err) }, 'exec input unreadable, killing command');
      write({ error: { code: 'E_BAD_REQUEST', message: `failed to read exec input: ${describeError(err)}` } });
      finished = true;
      session.kill();
      res.end();
    });
  } else if (wantStdin && session.stdin) {
    req.pipe(session.stdin);
  } else {
    session.stdin?.end();
    req.resume();
  }

  try {
    const code = await session.exit;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([outputs, new Promise<void>((r) => (timer = setTimeout(r, DRAIN_AFTER_EXIT_MS)))]);
    clearTimeout(timer);
    finished = true;
    write({ exit: code });
    ctx.log.info({ task: id, code }, 'exec exited');
  } catch (err) {
    finished = true;
    const { body } = errorBody(err);
    write({ error: body.error });
  } finally {
    ctx.closing.removeEventListener('abort', onGone);
    req.unpipe();
    if (!res.writableEnded) res.end();
  }
}
