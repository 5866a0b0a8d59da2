/**
 * Starts conmon for one container. conmon daemonises at once and creates the
 * container asynchronously; it reports the container pid (or the runtime's
 * error) as one JSON line on the sync pipe, an inherited fd named by
 * `_OCI_SYNCPIPE`: `{"data": PID}` or `{"data": -1, "message": "…"}` (API v1).
 */
import path from 'node:path';
import { TendError } from '../../errors.js';
import { launchSynced, type Launcher } from '../launcher.js';
import { SyncedSpawnError } from '../spawn-synced.js';
import type { OciLayout } from './oci.js';

export interface ConmonLaunch {
  conmon: string;
  runtime: string;
  layout: OciLayout;
  id: string;
  /** Container name (human readable). */
  name: string;
  /** k8s-file log path. */
  logPath: string;
  noPivot: boolean;
  logLevel?: 'debug' | 'info' | 'warning' | 'error';
  timeoutMs: number;
  /** Starts conmon off the agent's process (launcher.ts); absent: spawned here. */
  launcher?: Launcher;
}

/** Parse conmon's sync message; returns the pid or throws E_LAUNCH_FAILED with the runtime's message. */
export function parseSyncMessage(line: string, id: string): number {
  let msg: { data?: number; pid?: number; message?: string };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch (err) {
    throw new TendError('E_LAUNCH_FAILED', `failed to launch task ${id}: expected a JSON sync message from conmon, got ${JSON.stringify(line)}`, { cause: err });
  }
  const pid = msg.data ?? msg.pid;
  if (typeof pid !== 'number' || pid <= 0) {
    const runtime = cleanRuntimeMessage(msg.message ?? 'conmon reported no pid');
    const reason = launchReason(runtime);
    throw new TendError('E_LAUNCH_FAILED', `failed to launch task ${id}: ${runtime}`, { details: { id, ...(reason ? { reason } : {}) } });
  }
  return pid;
}

/**
 * What runc's create error means in the task's terms, for the messages an operator reads
 * (`details.reason` of the launch error): the command or working dir the task's root lacks.
 * Undefined for anything else (the runtime's own message is shown then).
 */
export function launchReason(runtime: string): string | undefined {
  let m = /exec: "([^"]+)": stat [^:]*: no such file or directory/.exec(runtime);
  if (m) return `command "${m[1]}" not found in the task's root`;
  m = /exec: "([^"]+)": executable file not found in \$PATH/.exec(runtime);
  if (m) return `command "${m[1]}" not found in the task's PATH`;
  m = /exec: "([^"]+)": permission denied/.exec(runtime);
  if (m) return `command "${m[1]}" cannot be run by the task's user (permission denied)`;
  m = /chdir to `([^`]+)`: no such file or directory/.exec(runtime);
  if (m) return `working directory "${m[1]}" not found in the task's root`;
  return undefined;
}

/** runc's create error as conmon relays it, with the log prefix stripped. */
export function cleanRuntimeMessage(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const msgs = lines.map((l) => /msg="((?:[^"\\]|\\.)*)"/.exec(l)?.[1]?.replace(/\\"/g, '"') ?? l);
  const failed = msgs.filter((m) => /create failed|exec failed|start failed/.test(m));
  return (failed.length ? failed : msgs).join('; ');
}

/** Start conmon and wait for the container pid (container in `created` state). */
export async function startConmon(l: ConmonLaunch): Promise<number> {
  const bundle = l.layout.bundle(l.id);
  const args = [
    '--api-version', '1',
    '-c', l.id,
    '-u', l.id,
    '-n', l.name,
    '-r', l.runtime,
    '-b', bundle,
    '-p', l.layout.pidFile(l.id),
    '-P', l.layout.conmonPidFile(l.id),
    '--exit-dir', l.layout.exitDir,
    '-l', `k8s-file:${l.logPath}`,
    '--log-level', l.logLevel ?? 'error',
    '--socket-dir-path', l.layout.socketDir,
    '--runtime-arg', `--root=${l.layout.runcRoot}`,
  ];
  if (l.noPivot) args.push('--no-pivot');
  let r;
  try {
    r = await launchSynced(l.launcher, {
      file: l.conmon,
      args,
      cwd: bundle,
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' },
      stdout: { path: path.join(bundle, 'conmon.stderr'), mode: 0o600 },
      stderr: { path: path.join(bundle, 'conmon.stderr'), mode: 0o600 },
      timeoutMs: l.timeoutMs,
    });
  } catch (err) {
    const what = err instanceof SyncedSpawnError && /^no report on fd 3/.test(err.message) ? `conmon reported no container pid within ${l.timeoutMs}ms` : (err as Error).message;
    throw new TendError('E_LAUNCH_FAILED', `failed to launch task ${l.id}: ${what}`, { cause: err });
  }
  const line = r.line ?? (r.partial?.trim() || undefined);
  if (line === undefined) throw new TendError('E_LAUNCH_FAILED', `failed to launch task ${l.id}: conmon exited (code ${r.exitCode ?? 'unknown'}) without reporting a container pid`);
  return parseSyncMessage(line, l.id);
}

