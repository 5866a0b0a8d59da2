/**
 * `tendctl exec -i -t` as an operator uses it: tendctl runs under a
 * pseudo-terminal (python3's pty module, test/helpers/pty.ts) against a real
 * agent with the oci executor (runc, conmon), and types into a shell inside
 * an exec task. The shell's terminal is the runtime's, inside the task: `tty`
 * names it, job control works, its size is the outer terminal's and follows
 * a resize, and `exit 4` is tendctl's exit code. Nothing of the session is
 * left afterwards. The same over TCP with a token, into a raw_exec task; and
 * the plain executor's host terminal follows a resize too.
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/e2e/agent/exec-tty.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import { platform } from '../../../src/platform.js';
import { requireConmon, requirePerl, requirePython3, requireRoot, requireRunc } from '../../helpers/gates.js';
import { runUnderPty, type PtySession } from '../../helpers/pty.js';
import { waitFor } from '../../helpers/wait.js';
import { createHarness, running, type Harness } from './harness.js';
import { procsMentioning } from './oci-cleanup.js';

const TENDCTL = fileURLToPath(new URL('../../../bin/tendctl.js', import.meta.url));
const TOKEN = 'exec-tty-e2e-token';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** A task that idles until SIGTERM (pid 1 of a pid namespace ignores signals it does not handle). */
function jobFile(name: string, driver: 'exec' | 'raw_exec'): string {
  return `job "${name}" {
  group "g" {
    task "t" {
      driver = "${driver}"
${driver === 'exec' ? '      user   = "nobody"\n' : ''}      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;
}

/** Type a line and wait for what it prints: `tag` + the rest of the line (the echo of the typed line never matches). */
async function ask(pty: PtySession, line: string, re: RegExp, what: string): Promise<RegExpMatchArray> {
  const from = pty.output().length;
  pty.send(`${line}\r`);
  return pty.expect(re, { from, what });
}

/** Processes and files of terminal sessions under a state dir: conmon, runc exec, the attach relay, their dirs. */
function sessionLeftovers(stateDir: string): string[] {
  const oci = path.join(stateDir, 'oci');
  const out = [
    ...procsMentioning(path.join(oci, 'execs')).map((p) => `process ${p}: ${readCmd(p)}`),
    ...procsMentioning(path.join(oci, 'sockets', 'x')).map((p) => `process ${p}: ${readCmd(p)}`),
  ];
  const list = (d: string) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  out.push(...list(path.join(oci, 'execs')).map((n) => `exec dir ${n}`));
  out.push(...list(path.join(oci, 'sockets')).filter((n) => /^x[0-9a-f]+$/.test(n)).map((n) => `socket link ${n}`));
  return out;
}

function readCmd(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '(gone)';
  }
}

/** The pids in a task's memory cgroup (the exec joins it: its processes count as the task's). */
function taskPids(h: Harness, execId: string): number[] {
  const root = platform().cgroups.v1.memory ?? platform().cgroups.unified!;
  return readFileSync(path.join(root, h.cgroupParent!, execId, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
}

describe('tendctl exec -t with the oci executor', { concurrency: false }, () => {
  let h: Harness;
  const gates = (t: TestContext) => requireRoot(t) && requireRunc(t) && requireConmon(t) && requirePerl(t) && requirePython3(t);

  before(async () => {
    const p = platform();
    if (!(p.isRoot && p.which('runc') && p.which('conmon') && p.which('perl') && p.which('python3'))) return;
    h = await createHarness({ executor: 'oci', api: `  address = "127.0.0.1:0"\n  token   = "${TOKEN}"` });
    await h.start();
    await h.writeJob('shell.hcl', jobFile('shell', 'exec'));
    await h.writeJob('host.hcl', jobFile('host', 'raw_exec'));
    await waitFor(() => Boolean(running(h, 'shell/g[0]/t') && running(h, 'host/g[0]/t')), { timeoutMs: 15_000, what: 'both tasks running' });
  });
  after(async () => {
    await h?.cleanup();
  });

  test('exec -i -t: a terminal inside the task, job control, resizes, the exit code; nothing left behind', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    const task = running(h, 'shell/g[0]/t')!;
    const before = taskPids(h, task.execId).sort();
    const pty = runUnderPty([process.execPath, TENDCTL, 'exec', '-address', `unix://${h.socket}`, '-i', '-t', 'shell', '--', '/bin/sh'], { rows: 30, cols: 100 }, { ...process.env, TERM: 'xterm-256color' });
    t.after(() => pty.kill());
    await pty.expect(/\$ $/, { what: 'the shell prompt' });

    // The runtime's terminal, in the task's own /dev/pts, as the task's user, with the caller's TERM.
    // Shown as the remote terminal wrote it: raw, without the local terminal's \n → \r\n on top.
    await ask(pty, 'echo "T:$(tty)"', /T:\/dev\/pts\/\d+\r\n/, 'tty to name a pty');
    await ask(pty, 'echo "U:$(id -u) E:$TERM"', /U:65534 E:xterm-256color\r+\n/, 'the task user and TERM');
    await ask(pty, 'echo "P:$(cat /proc/1/comm)"', /P:sh\r+\n/, "the task's pid namespace (its sh is pid 1)");

    // The outer terminal's size, then its new size after a resize (SIGWINCH → tendctl → conmon → TIOCSWINSZ).
    await ask(pty, 'echo "S:$(stty size)"', /S:30 100\r+\n/, 'the outer size');
    pty.resize(42, 123);
    let resized = false;
    await waitFor(async () => {
      const from = pty.output().length;
      pty.send('echo "S:$(stty size)"\r');
      resized = await pty.expect(/S:(\d+ \d+)\r+\n/, { from }).then((m) => m[1] === '42 123');
      return resized;
    }, { timeoutMs: 10_000, intervalMs: 50, what: 'stty size to follow the resize' });

    // Job control: a background job, a job stopped with ^Z and resumed with fg, then ^C.
    await ask(pty, 'sleep 31 &', /\$ $/, 'the prompt after a background job');
    await ask(pty, 'jobs', /\[1\]\s*\+?\s*Running\s+sleep 31/, 'jobs to list the background job');
    let from = pty.output().length;
    pty.send('sleep 32\r');
    await waitFor(() => procsMentioning('sleep\x0032').length > 0, { what: 'sleep 32 to run' });
    pty.send('\x1a');
    await pty.expect(/Stopped.*sleep 32/, { from, what: '^Z to stop the foreground job' });
    from = pty.output().length;
    pty.send('fg\r');
    await pty.expect(/sleep 32\r+\n/, { from, what: 'fg to resume it' });
    pty.send('\x03');
    await pty.expect(/\$ $/, { from, what: '^C to end it and give the prompt back' });
    await ask(pty, 'kill %1; wait; echo "J:$(jobs | wc -l)"', /J:0\r+\n/, 'no job left');

    pty.send('exit 4\r');
    assert.equal(await pty.exit, 4, `expected tendctl to exit 4; the terminal shows:\n${pty.output()}`);
    assert.doesNotMatch(pty.output(), /Cannot set tty process group|can't access tty|no job control/i);

    // Nothing of the session: no conmon, runc, relay or dir; only the task's own processes in its cgroup.
    await waitFor(() => sessionLeftovers(h.stateDir).length === 0, { what: 'the session to be cleaned up' }).catch(() => assert.deepEqual(sessionLeftovers(h.stateDir), []));
    await waitFor(() => taskPids(h, task.execId).length === before.length, { what: "only the task's processes in its cgroup" }).catch(() =>
      assert.deepEqual(taskPids(h, task.execId).sort(), before),
    );
  });

  test('exec -i -t: closing tendctl kills the session; a session of an agent that died is killed when the next one starts', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    const task = running(h, 'shell/g[0]/t')!;
    const before = taskPids(h, task.execId).sort();
    const shell = (marker: string) => {
      const pty = runUnderPty([process.execPath, TENDCTL, 'exec', '-address', `unix://${h.socket}`, '-i', '-t', 'shell', '--', '/bin/sh'], { rows: 24, cols: 80 });
      t.after(() => pty.kill());
      return {
        pty,
        /** Types `sleep <marker>` at the prompt; resolves with the sleep's pid once it runs. */
        async busy(): Promise<number> {
          await pty.expect(/\$ $/, { what: 'the shell prompt' });
          pty.send(`sleep ${marker}\r`);
          await waitFor(() => procsMentioning(`sleep\x00${marker}`).length === 1, { what: `sleep ${marker} to run` });
          return procsMentioning(`sleep\x00${marker}`)[0];
        },
      };
    };
    const gone = async (marker: string) => {
      await waitFor(() => procsMentioning(`sleep\x00${marker}`).length === 0 && sessionLeftovers(h.stateDir).length === 0, { what: 'the session and its command to be gone' }).catch(() =>
        assert.deepEqual([...procsMentioning(`sleep\x00${marker}`).map(readCmd), ...sessionLeftovers(h.stateDir)], []),
      );
      assert.deepEqual(taskPids(h, task.execId).sort(), before);
    };

    // The terminal closes under tendctl (SIGHUP): the agent sees the client go and kills the command.
    const a = shell('41');
    await a.busy();
    a.pty.kill();
    await gone('41');

    // The agent dies mid-session: the session lives on unattended until the next agent's start removes it.
    const b = shell('42');
    const sleeper = await b.busy();
    await h.kill9();
    b.pty.kill();
    const now = procsMentioning('sleep\x0042');
    assert.ok(now.includes(sleeper), `expected the command (pid ${sleeper}) to outlive the agent; processes with "sleep 42": ${now.map((p) => `${p} ${readCmd(p)}`).join('; ') || 'none'}`);
    await h.start();
    await gone('42');
    await waitFor(() => Boolean(running(h, 'shell/g[0]/t')), { what: 'the task adopted again' });
  });

  test('exec -t over TCP with a token, into a raw_exec task run by runc: a terminal of the outer size and the exit code', { timeout: 20_000 }, async (t) => {
    if (!gates(t)) return;
    // The address of the agent now running (an earlier test restarted it on a new port).
    // The last address logged, once it accepts connections (the restarted agent may not have logged its own yet).
    let tcp: string | undefined;
    await waitFor(
      async () => {
        tcp = [...h.agentLog().matchAll(/"tcp":"(http:\/\/127\.0\.0\.1:\d+)"/g)].at(-1)?.[1];
        return tcp !== undefined && (await accepts(Number(new URL(tcp).port)));
      },
      { what: "the agent's TCP address to accept connections", timeoutMs: 10_000 },
    );
    assert.ok(tcp, 'expected the agent to log its TCP address');
    const pty = runUnderPty(
      [process.execPath, TENDCTL, 'exec', '-address', tcp, '-token', TOKEN, '-t', 'host', '--', '/bin/sh', '-c', 'echo "T:$(tty) S:$(stty size)"; exit 3'],
      { rows: 21, cols: 77 },
    );
    t.after(() => pty.kill());
    await pty.expect(/T:\/dev\/pts\/\d+ S:21 77\r+\n/, { what: 'a pty of the outer size' });
    assert.equal(await pty.exit, 3);
    await waitFor(() => sessionLeftovers(h.stateDir).length === 0, { what: 'the session to be cleaned up' }).catch(() => assert.deepEqual(sessionLeftovers(h.stateDir), []));
  });

  test('exec -t of a command the task does not have: the shell\'s 127 and a message in the task\'s terms', { timeout: 20_000 }, async (t) => {
    if (!gates(t)) return;
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [TENDCTL, 'exec', '-address', `unix://${h.socket}`, '-t', 'shell', '--', '/no/such/cmd'], { timeout: 15_000 }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr }),
      );
    });
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /command "\/no\/such\/cmd" not found in the task/);
    await waitFor(() => sessionLeftovers(h.stateDir).length === 0, { what: 'the session to be cleaned up' }).catch(() => assert.deepEqual(sessionLeftovers(h.stateDir), []));
  });
});

describe('tendctl exec -t with the plain executor', { concurrency: false }, () => {
  let h: Harness;
  before(async () => {
    if (!platform().which('python3') || !platform().which('script')) return;
    h = await createHarness();
    await h.start();
    await h.writeJob('plain.hcl', jobFile('plain', 'raw_exec'));
    await waitFor(() => Boolean(running(h, 'plain/g[0]/t')), { timeoutMs: 15_000, what: 'the task running' });
  });
  after(async () => {
    await h?.cleanup();
  });

  test('exec -i -t: a host terminal of the outer size that follows a resize; the exit code', { timeout: 20_000 }, async (t) => {
    if (!requirePython3(t)) return;
    const pty = runUnderPty([process.execPath, TENDCTL, 'exec', '-address', `unix://${h.socket}`, '-i', '-t', 'plain', '--', '/bin/sh'], { rows: 25, cols: 90 });
    t.after(() => pty.kill());
    await pty.expect(/[$#] $/, { what: 'the shell prompt' });
    await ask(pty, 'echo "T:$(tty) S:$(stty size)"', /T:\/dev\/pts\/\d+ S:25 90\r+\n/, 'a pty of the outer size');
    pty.resize(33, 111);
    await waitFor(async () => {
      const from = pty.output().length;
      pty.send('echo "S:$(stty size)"\r');
      return (await pty.expect(/S:(\d+ \d+)\r+\n/, { from }))[1] === '33 111';
    }, { timeoutMs: 10_000, intervalMs: 50, what: 'stty size to follow the resize' });
    pty.send('exit 5\r');
    assert.equal(await pty.exit, 5, pty.output());
  });
});
