/**
 * The HCL parser's worker thread: runs `@cdktn/hcl2json` (Go compiled to
 * WebAssembly) away from the agent's loop, one request at a time, for as
 * long as the host keeps it. A syntax error is an answer; anything else the
 * parser throws (the Go runtime overflowing the stack on deep nesting, a
 * wasm trap, the Go program having exited) leaves the wasm instance unfit
 * for another file, so it is reported as `crashed` and the host replaces
 * this worker. See hcl-parser.ts.
 *
 * `@cdktn/hcl2json` is OpenConstructs' maintained fork (CDK Terrain) of
 * `@cdktf/hcl2json`, whose vendor deprecated CDK for Terraform in December
 * 2025: the same bridge and the same Go code, newer Go; both give identical
 * values and error texts on the test corpus (bench/README.md, jobspec-load).
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { parse } from '@cdktn/hcl2json';
import type { ParseReply, ParseRequest } from './hcl-parser.js';

/**
 * The Go runtime writes straight to fds 1 and 2 with fs.writeSync (a crash
 * prints its whole goroutine dump there). Keep a tail of it here instead:
 * the agent's stdout is its log, and the host quotes the `fatal error:` line.
 */
const OUTPUT_TAIL = 4096;
let output = '';
const writeSync = fs.writeSync;
fs.writeSync = function (fd: number, buf: unknown, ...rest: unknown[]): number {
  if ((fd !== 1 && fd !== 2) || !(buf instanceof Uint8Array)) return (writeSync as (...a: unknown[]) => number)(fd, buf, ...rest);
  output = (output + Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8')).slice(-OUTPUT_TAIL);
  return buf.byteLength;
} as typeof fs.writeSync;

/** The bridge rejects with `new Error(<Go's message>)` for a file it could not parse; other throws are crashes. */
function isCrash(err: unknown): boolean {
  if (!(err instanceof Error) || err.constructor !== Error) return true;
  return /Go program has already exited/.test(err.message);
}

const port = parentPort;
if (!port) throw new Error('hcl-worker.ts runs as a worker thread (see hcl-parser.ts)');

port.on('message', async (req: ParseRequest) => {
  output = '';
  let reply: ParseReply;
  try {
    reply = { id: req.id, ok: true, value: await parse(req.file, req.text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const crashed = isCrash(err);
    reply = { id: req.id, ok: false, message, crashed, ...(crashed ? { output } : {}) };
  }
  port.postMessage(reply);
});

// Instantiate the wasm now (the first parse does it), so that a file's deadline counts its parse only.
await parse('warm-up.hcl', '');
port.postMessage({ ready: true } satisfies ParseReply);
