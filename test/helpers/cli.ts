/**
 * Run bin/tendctl.js (or any node CLI) as a subprocess, the way an operator
 * types it; output accumulates while it runs; every child is tracked so a
 * test file can kill what is left in its `after` hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TENDCTL = fileURLToPath(new URL('../../bin/tendctl.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  out: Run;
  done: Promise<Run>;
}

const children = new Set<ChildProcess>();

/** Start `node BIN ARGS` (BIN defaults to tendctl) with `env`, writing `input` to stdin then closing it. */
export function startCli(args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; prefix?: string[]; bin?: string } = {}): Started {
  const argv = [...(o.prefix ?? []), process.execPath, o.bin ?? TENDCTL, ...args];
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const out: Run = { code: null, stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  child.stdin!.on('error', () => {});
  if (o.input !== undefined) child.stdin!.end(o.input);
  else child.stdin!.end();
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      out.code = code;
      resolve(out);
    }),
  );
  return { child, out, done };
}

/** Kill every CLI child still running (for `after` hooks). */
export function killCliChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}
