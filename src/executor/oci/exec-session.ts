/**
 * `exec` inside a running task: `runc exec --process <json>` with the task's
 * own process spec (user, capabilities, no_new_privs, rlimits) and the
 * command, env and cwd of the request. The exit code is runc's (the command's,
 * 128+N when killed by signal N).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TendError } from '../../errors.js';
import { signalNumber, normalizeSignal } from '../proc.js';
import type { ExecOptions, ExecSession } from '../executor.js';
import type { OciSpec } from './bundle.js';
import type { OciRuntime } from './runtime.js';

/** The process spec of an exec: the task's, with the request's command, env and cwd. */
export function execProcess(base: OciSpec['process'], command: string[], opts: ExecOptions): OciSpec['process'] {
  const env = new Map(base.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
  for (const [k, v] of Object.entries(opts.env ?? {})) env.set(k, v);
  return {
    ...base,
    terminal: false,
    args: command,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: opts.cwd ?? base.cwd,
  };
}

export async function startExec(runtime: OciRuntime, id: string, bundle: string, command: string[], opts: ExecOptions = {}): Promise<ExecSession> {
  if (command.length === 0) throw new TendError('E_BAD_REQUEST', `failed to exec in task ${id}: expected a command, got none`);
  let spec: OciSpec;
  try {
    spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8')) as OciSpec;
  } catch (err) {
    throw new TendError('E_TASK_NOT_FOUND', `failed to exec in task ${id}: its bundle is gone`, { cause: err, details: { id } });
  }
  const file = path.join(bundle, `exec-${randomBytes(6).toString('hex')}.json`);
  await writeFile(file, JSON.stringify(execProcess(spec.process, command, opts)), { mode: 0o600 });
  const child = runtime.spawnExec(id, file, !opts.stdin);
  const exit = new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new TendError('E_EXECUTOR', `failed to exec in task ${id}: ${err.message}`, { cause: err })));
    child.once('close', (code, sig) => resolve(code ?? 128 + (sig ? signalNumber(sig) : 0)));
  }).finally(() => rm(file, { force: true }));
  return {
    stdin: child.stdin,
    stdout: child.stdout!,
    stderr: child.stderr!,
    exit,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      // runc exec forwards signals it receives to the exec'd process.
      child.kill(normalizeSignal(signal) ?? 'SIGKILL');
    },
  };
}
