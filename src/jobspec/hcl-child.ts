/**
 * The HCL parser's process: runs `@cdktn/hcl2json` (Go compiled to
 * WebAssembly) away from the agent, one request at a time, for as long as
 * the host keeps it. A syntax error is an answer; anything else the parser
 * throws (the Go runtime overflowing the stack on deep nesting, a wasm trap,
 * the Go program having exited) leaves the wasm instance unfit for another
 * file, so it is reported as `crashed` and the host replaces this process.
 * It exits when the host goes (its IPC channel closes). See hcl-parser.ts.
 *
 * `@cdktn/hcl2json` is OpenConstructs' maintained fork (CDK Terrain) of
 * `@cdktf/hcl2json`, whose vendor deprecated CDK for Terraform in December
 * 2025: the same bridge and the same Go code, newer Go; both give identical
 * values and error texts on the test corpus (bench/README.md, jobspec-load).
 */
import fs from 'node:fs';
import { parse } from '@cdktn/hcl2json';
import type { ParseReply, ParseRequest } from './hcl-parser.js';

/**
 * The Go runtime writes straight to fds 1 and 2 with fs.writeSync (a crash
 * prints its whole goroutine dump there). Keep a tail of it here instead:
 * the agent's stderr is its log, and the host quotes the `fatal error:` line.
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

if (!process.send) throw new Error('hcl-child.ts runs as a child process on an IPC channel (see hcl-parser.ts)');
const send = (m: ParseReply) => {
  if (process.connected) process.send!(m);
};

// The host's going is the only reason to stop: a terminal's Ctrl-C or hang-up reaches the agent, which decides.
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

process.on('message', async (req: ParseRequest) => {
  output = '';
  let reply: ParseReply;
  try {
    reply = { id: req.id, ok: true, value: await parse(req.file, req.text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const crashed = isCrash(err);
    reply = { id: req.id, ok: false, message, crashed, ...(crashed ? { output } : {}) };
  }
  send(reply);
});

// Instantiate the wasm now (the first parse does it), so that a file's deadline counts its parse only.
await parse('warm-up.hcl', '');
send({ ready: true });
