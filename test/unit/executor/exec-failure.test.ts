import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { commandFailureCode, failedExec, rewriteSetprivFailure } from '../../../src/executor/exec-failure.js';

async function through(chunks: string[], code = 127): Promise<string> {
  const src = new PassThrough();
  const out = rewriteSetprivFailure(src, Promise.resolve(code));
  for (const c of chunks) src.write(c);
  src.end();
  return text(out);
}

test('exec failure: setpriv\'s "failed to execute" line alone, with exit 126/127, becomes the operator\'s message; any other output passes as is', async () => {
  assert.equal(await through(['setpriv: failed to execute /nope: No such file or directory\n']), 'tendctl exec: command "/nope" not found in the task (No such file or directory)\n');
  // Split across chunks, and without a final newline.
  assert.equal(await through(['setpriv: failed to exe', 'cute /x: Permission denied'], 126), 'tendctl exec: command "/x" cannot be run in the task (Permission denied)\n');
  // A command that prints the same line: something follows it, or it exits otherwise.
  const line = 'setpriv: failed to execute x: y\n';
  assert.equal(await through([line], 3), line);
  assert.equal(await through([line, 'more\n']), `${line}more\n`);
  assert.equal(await through(['hello\nsetpriv: failed to execute /nope: No such file or directory\n']), 'hello\nsetpriv: failed to execute /nope: No such file or directory\n', 'only the first line');
  assert.equal(await through(['a', 'b\n', 'c']), 'ab\nc');
  assert.equal(await through([]), '');
  assert.equal(commandFailureCode('No such file or directory'), 127);
  assert.equal(commandFailureCode('Permission denied'), 126);
});

test('exec failure: a command the plain executor cannot spawn is a session with the reason on stderr and the shell\'s code', async () => {
  const s = failedExec('/nope', 'ENOENT', false);
  assert.equal(await text(s.stderr), 'tendctl exec: command "/nope" not found in the task (No such file or directory)\n');
  assert.equal(await text(s.stdout), '');
  assert.equal(await s.exit, 127);
  assert.equal(await failedExec('/etc/passwd', 'EACCES', true).exit, 126);
});
