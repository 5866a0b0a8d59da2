/**
 * A thin wrapper of the OCI runtime CLI (runc's verbs; crun takes the same),
 * always with tend's own state root so it only ever sees tend's containers.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TendError } from '../../errors.js';
import { LauncherUnavailable, type Launcher } from '../launcher.js';

export interface ContainerState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
  created?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The human part of runc's stderr: the `msg="…"` of its error lines, or the text as is. */
export function runtimeMessage(stderr: string): string {
  const msgs: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /level=(?:error|fatal)\s+msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m) msgs.push(m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\'));
    else {
      const j = line.trim().startsWith('{') ? safeJson(line) : undefined;
      if (j && typeof j.msg === 'string' && (j.level === 'error' || j.level === 'fatal')) msgs.push(j.msg);
    }
  }
  return (msgs.length ? msgs.join('; ') : stderr.trim()) || 'no output';
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export class OciRuntime {
  readonly binary: string;
  readonly root: string;

  readonly #launcher: Launcher | undefined;

  constructor(binary: string, root: string, launcher?: Launcher) {
    this.binary = binary;
    this.root = root;
    this.#launcher = launcher;
  }

  /** Run a runtime verb (through the launcher when there is one); never throws for a non-zero exit (the caller decides). */
  async run(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    const argv = [`--root=${this.root}`, ...args];
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if (this.#launcher) {
      try {
        return await this.#launcher.run(this.binary, argv, { input: opts.input, timeoutMs, maxBuffer: 16 << 20 });
      } catch (err) {
        if (!(err instanceof LauncherUnavailable)) throw new TendError('E_EXECUTOR', `failed to run ${this.binary} ${args[0]}: ${(err as Error).message}`, { cause: err });
      }
    }
    return new Promise((resolve, reject) => {
      const child = execFile(this.binary, argv, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(new TendError('E_EXECUTOR', `failed to run ${this.binary} ${args[0]}: ${err.message}`, { cause: err }));
          return;
        }
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  async #must(args: string[], verb: string, id: string): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0) {
      throw new TendError('E_EXECUTOR', `failed to ${verb} container ${id}: ${runtimeMessage(r.stderr)}`, { details: { id, exitCode: r.code } });
    }
    return r;
  }

  /** `runc state`, or undefined when the container does not exist. */
  async state(id: string): Promise<ContainerState | undefined> {
    const r = await this.run(['state', id]);
    if (r.code !== 0) {
      if (/does not exist|not found|no such file/i.test(r.stderr)) return undefined;
      throw new TendError('E_EXECUTOR', `failed to read state of container ${id}: ${runtimeMessage(r.stderr)}`, { details: { id } });
    }
    return JSON.parse(r.stdout) as ContainerState;
  }

  async start(id: string): Promise<void> {
    await this.#must(['start', id], 'start', id);
  }

  /** `runc delete --force`; fine when the container is already gone. */
  async delete(id: string): Promise<void> {
    // runc and crun keep a dir per container under their root: none means
    // nothing to delete, and no fork of the agent to find that out.
    if (!existsSync(path.join(this.root, id))) return;
    const r = await this.run(['delete', '--force', id]);
    if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) {
      throw new TendError('E_EXECUTOR', `failed to delete container ${id}: ${runtimeMessage(r.stderr)}`, { details: { id } });
    }
  }

  /** Ids of the containers under this root. */
  async list(): Promise<ContainerState[]> {
    const r = await this.run(['list', '--format', 'json']);
    if (r.code !== 0) throw new TendError('E_EXECUTOR', `failed to list containers: ${runtimeMessage(r.stderr)}`);
    const parsed = JSON.parse(r.stdout || 'null') as ContainerState[] | null;
    return parsed ?? [];
  }
}
