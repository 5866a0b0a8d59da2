/**
 * The launcher process (see launcher.ts): a small Node process, a child of
 * the agent on an IPC channel, that starts the processes the executors
 * start, so that the ~200 MiB agent is not forked for each. It imports only
 * what spawning needs. It exits when the agent goes (the channel closes);
 * what it started was started detached and lives on, as it would have
 * under the agent.
 */
import { execFile } from 'node:child_process';
import type { LauncherReply, LauncherRequest } from './launcher.js';
import { spawnSynced } from './spawn-synced.js';

const send = (m: LauncherReply) => {
  if (process.connected) process.send!(m);
};

process.on('disconnect', () => process.exit(0));

process.on('message', (m: LauncherRequest) => {
  if (m.op === 'spawn') {
    const onExit = m.watchExit ? (code: number | null, signal: NodeJS.Signals | null) => send({ op: 'exit', pid, code, signal }) : undefined;
    let pid = 0;
    spawnSynced(m.req, onExit).then(
      (r) => {
        pid = r.pid;
        send({ id: m.id, ok: true, result: r });
      },
      (err: Error) => send({ id: m.id, ok: false, error: err.message }),
    );
    return;
  }
  if (m.op === 'run') {
    const child = execFile(m.file, m.args, { timeout: m.timeoutMs, maxBuffer: m.maxBuffer, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return send({ id: m.id, ok: false, error: err.message });
      send({ id: m.id, ok: true, run: { code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr } });
    });
    if (m.input !== undefined) child.stdin?.end(m.input);
  }
});

send({ op: 'ready', pid: process.pid });
