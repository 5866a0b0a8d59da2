/**
 * `POST /v1/task/<id>/exec?cmd=ARG&cmd=ARG[&stdin=1][&tty=1&rows=R&cols=C]`: runs a command inside
 * a task over one HTTP request, which works the same on the unix socket and
 * on TCP (no Upgrade, no second connection):
 *
 *  - request body: the raw bytes of the command's stdin (chunked, streamed;
 *    empty without `stdin=1`); its end closes the command's stdin;
 *  - response (200, NDJSON), one frame per line: `{"stdout": base64}`,
 *    `{"stderr": base64}`, and last `{"exit": code}` (128+N after signal N)
 *    or `{"error": {code, message}}`.
 *
 * With `tty=1` the command runs on a new pseudo-terminal of R×C: its output
 * comes as stdout frames only, and stdin goes through the terminal (^C is SIGINT).
 *
 * The client going away kills the command.
 */
import type { Readable } from 'node:stream';
import type { ExecFrame } from './ndjson.js';
import type { RouteContext } from './routes.js';
import { NDJSON_HEADERS, badRequest, errorBody, queryFlag } from './http.js';
import { ttySize } from '../executor/tty.js';

/** After the command exits, how long output still in flight may take to arrive (a background child may hold the pipes). */
const DRAIN_AFTER_EXIT_MS = 2000;

export async function serveExec(ctx: RouteContext, id: string): Promise<void> {
  const { api, req, res, url } = ctx;
  const command = url.searchParams.getAll('cmd');
  if (command.length === 0 || !command[0]) throw badRequest('missing command: expected ?cmd=PROGRAM&cmd=ARG…');
  const wantStdin = queryFlag(url, 'stdin');
  const tty = queryFlag(url, 'tty') ? ttySize(url.searchParams.get('rows'), url.searchParams.get('cols')) : undefined;
  const session = await api.exec(id, command, { stdin: wantStdin, ...(tty ? { tty } : {}) });
  ctx.log.info({ task: id, command: command[0], stdin: wantStdin, tty: Boolean(tty) }, 'exec started');

  let finished = false;
  const onGone = () => {
    if (!finished) {
      ctx.log.info({ task: id }, 'exec client went away, killing command');
      session.kill();
    }
  };
  res.once('close', onGone);
  ctx.closing.addEventListener('abort', onGone, { once: true });

  res.writeHead(200, NDJSON_HEADERS);
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

  if (wantStdin && session.stdin) {
    const stdin = session.stdin;
    stdin.on('error', () => {}); // EPIPE once the command has exited: nothing to do
    req.pipe(stdin);
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
