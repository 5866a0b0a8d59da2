/**
 * An exec whose command cannot be run says so in the operator's terms, with
 * the shell's exit code (127 not found, 126 not executable), whichever
 * executor ran it: the oci chain's last step (setpriv, inside the task's
 * root) reports its failure as `setpriv: failed to execute X: <reason>`, and
 * the plain executor's spawn fails with ENOENT/EACCES before anything runs.
 * Everything else a command prints passes untouched.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { ExecSession } from './executor.js';

/** `tendctl exec: command "/nope" not found in the task (No such file or directory)`. */
export function commandFailureText(command: string, reason: string): string {
  const notFound = /no such file|ENOENT/i.test(reason);
  const why = /ENOENT/.test(reason) ? 'No such file or directory' : /EACCES/.test(reason) ? 'Permission denied' : reason;
  return `tendctl exec: command "${command}" ${notFound ? 'not found in the task' : 'cannot be run in the task'} (${why})\n`;
}

/** The shell's code for a command that cannot be run: 127 not found, 126 otherwise. */
export function commandFailureCode(reason: string): number {
  return /no such file|ENOENT/i.test(reason) ? 127 : 126;
}

const SETPRIV_FAILED = /^setpriv: failed to execute (.+?): (.+)$/;

/**
 * Passes a stream through, rewriting setpriv's own failure to run the command: a stream whose
 * whole content is that one line, from a session that exits 126 or 127 (setpriv execs the
 * command or fails; a command that prints the same line and goes on, or exits otherwise, is
 * left alone). Only a first line that matches is held back, until the stream ends.
 */
export function rewriteSetprivFailure(stream: Readable, exit: Promise<number>): Readable {
  let head = '';
  let done = false;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (done) return cb(null, chunk);
      head += chunk.toString('latin1');
      const nl = head.indexOf('\n');
      const line = nl < 0 ? head : head.slice(0, nl);
      // Held while it can still be setpriv's line alone: it matches (so far) and nothing follows it.
      const could = nl < 0 ? head.length < 4096 && 'setpriv: failed to execute '.startsWith(head.slice(0, 27)) : SETPRIV_FAILED.test(line) && nl === head.length - 1;
      if (could) return cb();
      done = true;
      cb(null, Buffer.from(head, 'latin1'));
    },
    flush(cb) {
      if (done || !head) return cb();
      const m = SETPRIV_FAILED.exec(head.replace(/\n$/, ''));
      if (!m) return cb(null, Buffer.from(head, 'latin1'));
      exit.then(
        (code) => cb(null, code === 126 || code === 127 ? Buffer.from(commandFailureText(m[1], m[2])) : Buffer.from(head, 'latin1')),
        () => cb(null, Buffer.from(head, 'latin1')),
      );
    },
  });
  stream.pipe(out);
  return out;
}

/** A session for a command that never started: its reason on stderr, the shell's exit code. */
export function failedExec(command: string, reason: string, withStdin: boolean): ExecSession {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.end();
  stderr.end(commandFailureText(command, reason));
  const stdin = withStdin ? new PassThrough() : null;
  stdin?.resume();
  return { stdin, stdout, stderr, exit: Promise.resolve(commandFailureCode(reason)), kill: () => {} };
}
