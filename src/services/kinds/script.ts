/**
 * The script check (Consul's CheckMonitor, Nomad's script check hook): `command` with `args` run
 * inside the task through the exec path (the same as `tendctl exec`), within `timeout`. Exit 0:
 * passing; 1: warning; anything else, a timeout, or no running task: critical. The output (stdout
 * and stderr together, at most 4 KiB) is the check's output.
 */
import type { CheckResult, CheckSpec } from '../services.js';
import { fmtTimeout, outputOf } from './output.js';

/** Runs a command in the check's task: its exit code and output. Throws when the task is not running. */
export type ExecInTask = (command: string[], timeoutMs: number) => Promise<{ code: number; output: string }>;

/** Run one script check through `exec`. Never throws. */
export async function runScript(spec: CheckSpec, exec: ExecInTask | undefined): Promise<CheckResult> {
  const s = spec.script!;
  if (!exec) return { status: 'critical', output: `task ${JSON.stringify(spec.task ?? '')} is not running: the script cannot run` };
  try {
    const r = await exec([s.command, ...s.args], spec.timeoutMs);
    // runCaptured reports a command killed at its deadline as -1 (Consul's wording below).
    if (r.code === -1) return { status: 'critical', output: `Timed out (${fmtTimeout(spec.timeoutMs)}) running check` };
    const status = r.code === 0 ? 'passing' : r.code === 1 ? 'warning' : 'critical';
    return { status, code: r.code, output: outputOf(r.output) };
  } catch (err) {
    return { status: 'critical', output: outputOf(`failed to run ${s.command}: ${(err as Error).message}`) };
  }
}
