/**
 * The contract of one system in the peers bench (bench/peers.ts): a process
 * manager (tend, supervisord, PM2) or a bare floor (a bash loop, runc,
 * conmon + runc), each running tasks `/bin/sleep <marker>` (peers-proc.ts)
 * and driven the way its users drive it. The bench times every action from
 * outside, by the marked sleeps it sees in /proc.
 */
import { execFile } from 'node:child_process';
import type { Parts } from './peers-proc.js';

export interface Peer {
  /** Column title. */
  readonly name: string;
  /** The marker digit of its tasks (peers-proc.ts). */
  readonly sys: number;
  /** A manager restarts a crashed task and has a footprint; a floor does neither. */
  readonly manager: boolean;
  /** Whether it is measured on converge and remove (false: one task at a time only). */
  readonly bulk: boolean;
  /** Start empty (untimed). */
  start(): Promise<void>;
  /** Untimed work before `add` of these tasks (a floor's bundles). */
  prepare?(indices: number[]): Promise<void>;
  /** Make tasks `indices` wanted, all at once; resolves when its command is done (the sleeps may come later). */
  add(indices: number[]): Promise<void>;
  /** Make every task unwanted; resolves when its command is done. */
  removeAll(): Promise<void>;
  /** A manager's own processes by part (never its tasks), the first part its main process. */
  parts?(): Parts;
  /** A line on how it was run (version, options), for the report. */
  describe(): string;
  /** Stop everything it started and remove what it made (also after a failure, and twice); what was left behind. */
  cleanup(): Promise<string[]>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to its exit; rejects on a non-zero exit unless `allowFail`. */
export function run(file: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; allowFail?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: o.env, cwd: o.cwd, timeout: o.timeoutMs ?? 900_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      if (code !== 0 && !o.allowFail) reject(new Error(`${[file, ...args].join(' ').slice(0, 200)} exited ${code}: ${stderr.trim() || stdout.trim() || (err as Error).message}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
