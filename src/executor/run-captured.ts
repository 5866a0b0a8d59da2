/**
 * Run a command inside a running task through the executor's exec path and collect its exit
 * code and the first 4 KiB of its output (stdout and stderr together), with a deadline: a
 * command still running at `timeoutMs` is killed and reported as code -1.
 */
import type { Executor, TaskHandle } from './executor.js';

const MAX_OUTPUT = 4096;

export async function runCaptured(executor: Executor, handle: TaskHandle, command: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const session = await executor.exec(handle, command);
  let output = '';
  const take = (b: Buffer) => {
    if (output.length < MAX_OUTPUT) output += b.toString('utf8').slice(0, MAX_OUTPUT - output.length);
  };
  session.stdout.on('data', take);
  session.stderr.on('data', take);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      session.kill('SIGKILL');
      resolve(-1);
    }, timeoutMs);
  });
  const code = await Promise.race([session.exit, timedOut]).finally(() => clearTimeout(timer));
  return { code, output: code === -1 ? `timed out after ${timeoutMs} ms` : output };
}
