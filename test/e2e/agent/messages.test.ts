/**
 * The operator review's messages (shared/reviews/operator-2026-11-30.md §3),
 * end to end through tendctl against real agents: each says what is wrong in
 * the user's terms (task, state, field), why, and the fix, without internal
 * ids or runtime error chains (those only with -verbose). Run alone:
 *   CI=true TEND_SKIP_TYPECHECK=1 node scripts/test.mjs test/e2e/agent/messages.test.ts
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireConmon, requireLinux, requireRoot, requireRunc } from '../../helpers/gates.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startCli, TENDCTL } from '../../helpers/cli.js';
import { DEPLOY_SOCKET } from '../../../src/api/address.js';
import { createHarness, running, type Harness } from './harness.js';

function job(name: string, body: { driver?: string; command?: string; args?: string[]; count?: number; restart?: string; memory?: number }): string {
  return `job "${name}" {
  group "g" {
    count = ${body.count ?? 1}
${body.restart ?? ''}    task "t" {
      driver = "${body.driver ?? 'raw_exec'}"
      config {
        command = "${body.command ?? '/bin/sh'}"
        args    = ${JSON.stringify(body.args ?? ['-c', 'trap "exit 0" INT TERM; while true; do sleep 0.2; done'])}
      }
      kill_timeout = "1s"
      resources {
        memory = ${body.memory ?? 64}
      }
    }
  }
}
`;
}

/** tendctl COMMAND -address SOCKET ARGS… (flags before the arguments: `exec` passes what follows `--` on). */
async function ctl(h: Harness, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startCli([args[0], '-address', `unix://${h.socket}`, ...args.slice(1)]).done;
}

test('messages (plain executor): not running, no output yet, did you mean, alloc prefix, last exit, degraded and stopping jobs, limits not enforced, the start log', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob('web.hcl', job('web', { count: 2 }));
  await h.writeJob('isolated.hcl', job('isolated', { driver: 'exec' }));
  await h.writeJob('loop.hcl', job('loop', { args: ['-c', 'echo boom >&2; exit 3'], restart: '    restart {\n      attempts = 5\n      delay    = "30s"\n      mode     = "delay"\n    }\n' }));
  await waitFor(() => running(h, 'web/g[0]/t') !== undefined && running(h, 'web/g[1]/t') !== undefined && h.records()['loop/g[0]/t']?.state === 'restarting', { timeoutMs: 20_000, what: 'web running, loop restarting' });

  // §3.19: the start says "watching jobs dir", not that its target changed.
  assert.match(h.agentLog(), /"msg":"watching jobs dir"/);
  assert.doesNotMatch(h.agentLog(), /jobs dir changed target/);
  // §3.2: the plain executor says at start that limits are not enforced, and status says so per task.
  assert.match(h.agentLog(), /resource limits \(cpu, memory, cores, pids\) are not enforced by the plain executor/);
  const st = await ctl(h, ['status']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /^web\s+g\[0\]\s+t\s+raw_exec\s+running\s+\d+\s+\S+\s+0\s+\S+\s+[\d.]+ [KM]iB \(not enforced\)\s+-$/m);
  assert.doesNotMatch(st.stdout, /\/ 64 MiB/);
  const node = await ctl(h, ['node']);
  assert.match(node.stdout, /^Executor\s+= plain \(executor = "plain" \(agent config or -executor\)\); resource limits not enforced$/m);

  // §3.13: a crash-looping job is degraded, with which task and why.
  assert.match(st.stdout, /^\s+loop\s+degraded\s+\S+loop\.hcl\s+loop\/g\[0\]\/t ended \(exit code 3\) and waits to restart \(restart policy\)$/m);

  // §3.8: exec into a task that is not running.
  const ex = await ctl(h, ['exec', 'isolated', '--', '/bin/true']);
  assert.equal(ex.code, 1);
  assert.equal(ex.stderr, 'tendctl exec: task isolated/g[0]/t is not running (pending); exec needs a running task (tendctl status isolated/g[0]/t says why) [E_TASK_NOT_RUNNING]\n');

  // §3.9: logs of a task that never started: not "not found", and why it has not started.
  const lg = await ctl(h, ['logs', 'isolated']);
  assert.equal(lg.code, 1);
  assert.equal(lg.stderr, 'tendctl logs: task isolated/g[0]/t has no output yet: it has not started (pending: driver exec unavailable) [E_TASK_NOT_RUNNING]\n');

  // §3.10: an ambiguous task lists the instances; the code ends the first line (logs merges them instead: watch.test.ts).
  const amb = await ctl(h, ['signal', 'web', 'SIGHUP']);
  assert.equal(amb.stderr, 'tendctl signal: task "web" matches 2 instances; name one: [E_TASK_AMBIGUOUS]\n  web/g[0]/t\n  web/g[1]/t\n');

  // §3.11: a near miss gets "did you mean"; the alloc id prefix that status prints is accepted.
  const miss = await ctl(h, ['logs', 'web[1]']);
  assert.equal(miss.stderr, 'tendctl logs: task "web[1]" not found; did you mean "web/g[1]/t"? [E_TASK_NOT_FOUND]\n');
  const typo = await ctl(h, ['status', 'wbe/g[0]/t']);
  assert.equal(typo.stderr, 'tendctl status: no job or task matches "wbe/g[0]/t"; did you mean "web/g[0]/t"? [E_TASK_NOT_FOUND]\n');
  const alloc = h.records()['web/g[1]/t'].allocId.slice(0, 8);
  const byAlloc = await ctl(h, ['status', alloc]);
  assert.equal(byAlloc.code, 0, byAlloc.stderr);
  assert.match(byAlloc.stdout, /^ID\s+= web\/g\[1\]\/t$/m);

  // §3.12: after a restart, the running task's DETAILS label the previous run's exit.
  const before = running(h, 'web/g[0]/t')!.handle!.pid;
  assert.equal((await ctl(h, ['restart', 'web/g[0]/t'])).code, 0);
  await waitFor(() => (running(h, 'web/g[0]/t')?.handle?.pid ?? before) !== before, { timeoutMs: 15_000, what: 'web/g[0]/t running again' });
  const web = await ctl(h, ['status', 'web']);
  assert.match(web.stdout, /^g\[0\]\s+t\s+raw_exec\s+running\s.*\slast exit: (exit 0|killed by SIG\w+) (now|\d+s ago)$/m);

  // §3.13: a job whose file is removed is "stopping" while its tasks stop.
  await h.writeJob('slow.hcl', job('slow', { args: ['-c', 'trap "" INT TERM; while true; do sleep 0.2; done'] }).replace('kill_timeout = "1s"', 'kill_timeout = "5s"'));
  await waitFor(() => running(h, 'slow/g[0]/t') !== undefined, { timeoutMs: 15_000, what: 'slow running' });
  await rm(path.join(h.jobsDir, 'slow.hcl'));
  let stopping = '';
  await waitFor(async () => {
    stopping = (await ctl(h, ['status', '-no-stats'])).stdout;
    return /^\s+slow\s+stopping\s/m.test(stopping);
  }, { timeoutMs: 10_000, what: 'slow shown as stopping' });
  assert.match(stopping, /^\s+slow\s+stopping\s+\S+slow\.hcl\s+its file left the jobs dir: stopping its tasks$/m);
});

test('messages (tendctl without an agent address): names the sockets it tried', async (t) => {
  if (!requireLinux(t)) return;
  if (existsSync(DEPLOY_SOCKET)) return t.skip(`${DEPLOY_SOCKET} exists here: tendctl would use it`);
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'tend-noagent-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [TENDCTL, 'status'], { cwd, env: { ...process.env, TEND_ADDR: '' }, timeout: 20_000 }, (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr }),
    );
  });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `tendctl status: cannot reach the tend agent: no socket at unix://${cwd}/state/tend.sock nor unix://${DEPLOY_SOCKET} (is the agent running? set -address or TEND_ADDR) [E_AGENT_UNREACHABLE]\n`);
});

test('messages (validate): a file left with merge conflict markers says so, with the fix', async (t) => {
  if (!requireLinux(t)) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-conflict-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'web.hcl');
  await writeFile(file, 'job "web" {\n<<<<<<< HEAD\n  type = "batch"\n=======\n  type = "service"\n>>>>>>> feature\n}\n');
  const r = await startCli(['validate', file]).done;
  assert.equal(r.code, 1);
  assert.equal(
    r.stdout,
    `${file}:2:1: error: unresolved merge conflict: the file still has the "<<<<<<<" markers of a merge\n  hint: keep one side and delete the <<<<<<<, ======= and >>>>>>> lines (lines 2-6), then save\n\n1 file: 0 valid, 1 invalid (1 error, 0 warnings)\n`,
  );
});

function ociGates(t: TestContext): boolean {
  return requireRoot(t) && requireRunc(t) && requireConmon(t);
}

test('messages (oci executor): a command missing from an exec task\'s root, at launch and at exec, in the task\'s terms; -verbose has the runtime\'s chain', { timeout: 120_000 }, async (t) => {
  if (!ociGates(t)) return;
  const h = await createHarness({ executor: 'oci' });
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob('crashfail.hcl', job('crashfail', { driver: 'exec', command: '/bin/no-such-binary', args: [], restart: '    restart {\n      attempts = 0\n      mode     = "fail"\n    }\n' }));
  await h.writeJob('web.hcl', job('web', { driver: 'exec' }));
  await waitFor(() => h.records()['crashfail/g[0]/t']?.state === 'failed' && running(h, 'web/g[0]/t') !== undefined, { timeoutMs: 30_000, what: 'crashfail failed, web running' });

  // §3.7: no executor id, no runc chain; the job's reason in full once, the task's row points to it.
  const reason = 'failed to start task: command "/bin/no-such-binary" not found in the task\'s root (an exec task sees the chroot_env dirs of the agent config and its own dirs only)';
  const st = await ctl(h, ['status', '-no-stats']);
  assert.match(st.stdout, /^crashfail\s+g\[0\]\s+t\s+exec\s+failed\s+-\s+-\s+0\s+-\s+-\s+failed to start task \(reason below\)$/m);
  assert.ok(st.stdout.includes(`crashfail/g[0]/t failed: ${reason}`), st.stdout);
  assert.doesNotMatch(st.stdout, /runc|[0-9a-f]{8}-[0-9a-f]{4}-/);
  const quiet = await ctl(h, ['status', 'crashfail/g[0]/t']);
  assert.ok(quiet.stdout.includes(`\nError     = ${reason}\n`), quiet.stdout);
  assert.doesNotMatch(quiet.stdout, /Error Detail|runc create failed/);
  const loud = await ctl(h, ['status', '-verbose', 'crashfail/g[0]/t']);
  assert.match(loud.stdout, /^Error Detail = failed to launch task \S+-t: runc create failed: .*exec: "\/bin\/no-such-binary": stat \/bin\/no-such-binary: no such file or directory$/m);

  // §3.20: exec of a missing command: no setpriv in the message, the shell's 127.
  const ex = await ctl(h, ['exec', 'web', '--', '/nope']);
  assert.equal(ex.code, 127);
  assert.equal(ex.stderr, 'tendctl exec: command "/nope" not found in the task (No such file or directory)\n');
  // Output of a command that runs is untouched.
  const ok = await ctl(h, ['exec', 'web', '--', '/bin/sh', '-c', 'echo setpriv: failed to execute x: y >&2; exit 3']);
  assert.equal(ok.code, 3);
  assert.equal(ok.stderr, 'setpriv: failed to execute x: y\n');
});
