/**
 * What deploy/tend.service relies on, with a real agent (plain executor):
 * Type=notify readiness (READY=1 sent as the agent's pid once its API
 * listens, STOPPING=1 on SIGTERM; a python3 datagram socket stands in for
 * systemd's NOTIFY_SOCKET and reads the sender's credentials), tasks that do
 * not inherit NOTIFY_SOCKET, and tasks that do not inherit the agent's
 * oom_score_adj (OOMScoreAdjust=-900 protects the agent, not its tasks).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHarness, job, running, type Harness } from './harness.js';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux, requireRoot, requireProgram, requirePython3 } from '../../helpers/gates.js';
import { readEnviron } from '../../../src/executor/proc.js';

let h: Harness | undefined;
let receiver: ChildProcess | undefined;
after(async () => {
  receiver?.kill('SIGKILL');
  await h?.cleanup();
});

/** A unix datagram socket that prints each message with its sender's pid, as systemd reads it. */
const RECEIVER = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = next((struct.unpack("iII", d[:12])[0] for l, t, d in anc if t == socket.SCM_CREDENTIALS), -1)
    print("pid=%d %s" % (pid, msg.decode().replace("\\n", " ")), flush=True)
`;

test('systemd: READY=1 from the agent once its API listens, STOPPING=1 on SIGTERM; tasks inherit neither NOTIFY_SOCKET nor the agent oom_score_adj', async (t) => {
  if (!requireLinux(t) || !requireRoot(t)) return;
  if (!requireProgram(t, 'systemd-notify', 'systemd') || !requirePython3(t)) return;
  h = await createHarness();
  const sock = path.join(h.root, 'notify.sock');
  let got = '';
  receiver = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  receiver.stdout!.setEncoding('utf8').on('data', (d: string) => (got += d));
  await waitFor(() => got.includes('listening'), { what: 'the notify socket', timeoutMs: 10_000 });

  // The harness's agent inherits this process's environment.
  process.env.NOTIFY_SOCKET = sock;
  try {
    await h.start();
  } finally {
    delete process.env.NOTIFY_SOCKET;
  }
  const agentPid = h.agent!.pid!;
  await waitFor(() => got.includes('READY=1'), { what: 'READY=1', timeoutMs: 10_000 });
  assert.match(got, new RegExp(`pid=${agentPid} READY=1 STATUS=running; API on ${h.socket.replace(/[.[\]]/g, '\\$&')}`), 'sent as the main pid (NotifyAccess=main)');
  await waitFor(() => h!.agentLog().includes('"notified systemd"'), { what: 'the agent logging READY=1', timeoutMs: 5000 });
  const log = h.agentLog();
  assert.ok(log.indexOf('"api listening"') >= 0 && log.indexOf('"api listening"') < log.indexOf('"notified systemd"'), 'ready only after the API listens');

  // The unit's OOMScoreAdjust, as systemd would set it on the agent. Lowering it needs
  // CAP_SYS_RESOURCE (some containers drop it): then a raised one stands in, which a task
  // would inherit just the same.
  let adj = '-900';
  try {
    writeFileSync(`/proc/${agentPid}/oom_score_adj`, adj);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    adj = '500';
    t.diagnostic('no CAP_SYS_RESOURCE here: the agent gets oom_score_adj 500 instead of -900');
    writeFileSync(`/proc/${agentPid}/oom_score_adj`, adj);
  }
  await h.writeJob('web.hcl', job('web'));
  await waitFor(() => running(h!, 'web/g[0]/t') !== undefined, { what: 'web running', timeoutMs: 15_000 });
  const pid = running(h, 'web/g[0]/t')!.handle!.pid;
  assert.equal(readFileSync(`/proc/${agentPid}/oom_score_adj`, 'utf8').trim(), adj);
  assert.equal(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '0', "the task does not inherit the agent's protection");
  assert.equal(readEnviron(pid).NOTIFY_SOCKET, undefined, 'the task does not see NOTIFY_SOCKET');
  assert.equal(readEnviron(agentPid).NOTIFY_SOCKET, sock, 'only the agent had it');

  assert.equal(await h.term(), 0);
  await waitFor(() => got.includes('STOPPING=1'), { what: 'STOPPING=1', timeoutMs: 5000 });
  assert.match(got, new RegExp(`pid=${agentPid} STOPPING=1`));
});
