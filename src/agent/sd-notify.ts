/**
 * systemd readiness for `Type=notify` (deploy/tend.service): READY=1 once the
 * agent has recovered its tasks and its API listens, STOPPING=1 when it
 * begins to stop.
 *
 * NOTIFY_SOCKET is a unix datagram socket, which Node cannot write to (no
 * AF_UNIX SOCK_DGRAM in node:dgram), so the message is sent by
 * `systemd-notify` (part of systemd) run as the agent's child. systemd-notify
 * sends it with its parent's pid as the sender (SCM_CREDENTIALS, as root), so
 * systemd takes it as the main process's (the default NotifyAccess=main
 * suffices) and there is no race with systemd-notify's own exit.
 * `--no-block` skips the barrier: nothing waits on systemd.
 *
 * The socket is taken out of the agent's environment at once (sd_notify's
 * unset_environment): tasks, the log monitor and exec sessions never see it.
 */
import { execFile } from 'node:child_process';
import type pino from 'pino';
import { describeError } from '../errors.js';

export interface SystemdNotifier {
  /** READY=1 with a status line. */
  ready(status: string): Promise<void>;
  /** STOPPING=1. */
  stopping(): Promise<void>;
}

/** Takes NOTIFY_SOCKET out of `env` (process.env); undefined when systemd did not set it. */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const socket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  return socket || undefined;
}

export function systemdNotifier(socket: string, log: pino.Logger, bin = 'systemd-notify'): SystemdNotifier {
  const send = (args: string[], what: string) =>
    new Promise<void>((resolve) => {
      execFile(bin, ['--no-block', ...args], { env: { NOTIFY_SOCKET: socket, PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 5000 }, (err, _stdout, stderr) => {
        // With Type=notify, a READY=1 that never arrives fails the start after TimeoutStartSec.
        if (err) log.warn({ socket, state: what, err: stderr.trim() || describeError(err) }, 'failed to notify systemd');
        else log.info({ socket, state: what }, 'notified systemd');
        resolve();
      });
    });
  return {
    ready: (status) => send(['--ready', `--status=${status}`], 'READY=1'),
    stopping: () => send(['STOPPING=1'], 'STOPPING=1'),
  };
}
