/**
 * `git::` sources through the `git` command, as go-getter runs it: `git
 * clone [--depth N] [--branch REF] -- URL DIR`, then `git checkout REF` when
 * a ref is given without a depth. The clone goes to an agent-only staging
 * dir; the environment is minimal (PATH, HOME and the agent's
 * `set_environment_variables`), prompts are off, `ext::` is never allowed
 * and `file://` only for a repository under an allowed local dir.
 * Submodules are not fetched (their URLs could name any host path).
 */
import { spawn } from 'node:child_process';
import { ArtifactError } from './artifacts.js';

export interface GitOptions {
  url: string;
  ref?: string;
  depth?: number;
  dir: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Names of agent variables to pass. */
  inheritEnv: string[];
  allowFile: boolean;
}

export async function gitClone(o: GitOptions): Promise<void> {
  const clone = ['clone', '--quiet', '--no-recurse-submodules'];
  if (o.depth) clone.push('--depth', String(o.depth));
  if (o.ref && o.depth) clone.push('--branch', o.ref);
  clone.push('--', o.url, o.dir);
  await run(clone, undefined, o);
  if (o.ref && !o.depth) await run(['checkout', '--quiet', o.ref, '--'], o.dir, o);
}

function run(args: string[], cwd: string | undefined, o: GitOptions): Promise<void> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  if (process.env.HOME) env.HOME = process.env.HOME;
  for (const name of o.inheritEnv) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  const config = ['-c', 'protocol.ext.allow=never', '-c', `protocol.file.allow=${o.allowFile ? 'always' : 'never'}`, '-c', 'core.hooksPath=/dev/null'];
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, timeout]);
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...config, ...args], { cwd, env, signal, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString('utf8');
    });
    child.on('error', (err) => {
      const why = timeout.aborted ? `did not finish within git_timeout (${o.timeoutMs} ms)` : o.signal.aborted ? 'canceled' : err.message;
      reject(new ArtifactError(`failed to run git ${args[0]}: ${why}`, { recoverable: true, cause: err }));
    });
    child.on('close', (code, sig) => {
      if (code === 0) return resolve();
      const msg = stderr.trim().split('\n').slice(-3).join('; ');
      reject(new ArtifactError(`failed to run git ${args[0]}: exit ${code ?? sig}${msg ? `: ${msg}` : ''}`, { recoverable: true }));
    });
  });
}
