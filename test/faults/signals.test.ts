/**
 * Fault: SIGHUP. It used to kill the agent (even with -stop-tasks-on-exit,
 * leaving its tasks). Now it reloads the config file: a real agent (plain
 * executor, -stop-tasks-on-exit) gets a changed log_level and env.denylist
 * and a changed data_dir; its pid and its tasks' pids stay, the log says
 * what changed and that data_dir needs a restart, a task started afterwards
 * gets the new denylist, debug lines appear. An invalid file keeps the old
 * config. The log monitor survives SIGHUP too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type { NodeView } from '../../src/api/api.js';
import { isAlive, listPids } from '../../src/executor/proc.js';
import { createHarness, running, type Harness } from '../e2e/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

const TEND = fileURLToPath(new URL('../../bin/tend.js', import.meta.url));
const DEADLINE_MS = 20_000;

function envJob(name: string): string {
  return `job "${name}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \\"A=[$SECRET_A] B=[$SECRET_B]\\"; exec sleep 1000"]
      }
      kill_timeout = "1s"
    }
  }
}
`;
}

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

let h: Harness | undefined;
after(async () => {
  await h?.cleanup();
});

test('signals: SIGHUP reloads the agent config live, reports what needs a restart, keeps everything running', async () => {
  h = await createHarness();
  const hh = h;
  const base = readFileSync(hh.configFile, 'utf8');
  const config = (extra: string) => writeFileSync(hh.configFile, base + extra);
  config(`log_level = "info"\nclient {\n  options = {\n    "env.denylist" = "SECRET_A"\n  }\n}\n`);
  await hh.writeJob('one.hcl', envJob('one'));

  // The harness passes -log-level (a flag overrides the file): this agent takes its level from the file.
  const logFile = path.join(hh.root, 'hup-agent.log');
  const fd = openSync(logFile, 'a');
  const agent = spawn(process.execPath, [TEND, 'agent', '-config', hh.configFile, '-executor', 'plain', '-stop-tasks-on-exit'], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, TEND_E2E: hh.root, SECRET_A: 'a', SECRET_B: 'b' },
  });
  closeSync(fd);
  hh.agent = agent;
  const lines = (): LogLine[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const failWithLog = (err: Error) => {
    throw new Error(`${err.message}\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
  };
  await waitFor(() => existsSync(hh.socket), { what: 'agent socket', timeoutMs: DEADLINE_MS }).catch(failWithLog);
  await waitFor(() => !!running(hh, 'one/g[0]/t'), { what: 'task one running', timeoutMs: DEADLINE_MS });
  await waitFor(async () => /A=\[\] B=\[b\]/.test((await hh.tendctl(['logs', 'one/g[0]/t'])).stdout), { what: 'one: SECRET_A denied, SECRET_B passed', timeoutMs: DEADLINE_MS });
  const onePid = running(hh, 'one/g[0]/t')!.handle!.pid;
  assert.equal(lines().filter((l) => l.level === 20).length, 0, 'no debug lines at log_level info');

  // A changed log_level and denylist apply live; a changed data_dir is reported.
  const otherData = path.join(hh.root, 'other-state');
  // The base config sets data_dir: rewritten in place (a second assignment would be a duplicate in HCL).
  writeFileSync(hh.configFile, base.replace(/^data_dir = "[^"]*"$/m, `data_dir = "${otherData}"`) + `log_level = "debug"\nclient {\n  options = {\n    "env.denylist" = "SECRET_B"\n  }\n}\n`);
  agent.kill('SIGHUP');
  await waitFor(() => lines().some((l) => l.msg === 'agent config reloaded'), { what: 'reload logged', timeoutMs: DEADLINE_MS }).catch(failWithLog);
  const reloaded = lines().find((l) => l.msg === 'agent config reloaded')!;
  const changed = reloaded.changed as Record<string, { from: unknown; to: unknown }>;
  assert.deepEqual(changed.log_level, { from: 'info', to: 'debug' });
  assert.deepEqual(changed['client options env.denylist'], { from: ['SECRET_A'], to: ['SECRET_B'] });
  assert.equal(changed.data_dir, undefined, 'data_dir is not applied live');
  const restart = lines().filter((l) => l.msg === 'agent config change requires a restart');
  assert.ok(restart.some((l) => l.key === 'data_dir' && l.to === otherData && l.from === hh.stateDir && l.level === 40), JSON.stringify(restart));
  assert.ok(!restart.some((l) => l.key === 'log_level'), 'log_level is live');

  // Same agent, same task; the new settings hold for what starts now.
  assert.equal(agent.exitCode, null, 'the agent still runs');
  assert.equal(agent.signalCode, null);
  assert.ok(isAlive(agent.pid!));
  assert.equal(running(hh, 'one/g[0]/t')?.handle?.pid, onePid);
  assert.ok(isAlive(onePid));
  await hh.writeJob('two.hcl', envJob('two'));
  await waitFor(async () => /A=\[a\] B=\[\]/.test((await hh.tendctl(['logs', 'two/g[0]/t'])).stdout), { what: 'two: the new denylist', timeoutMs: DEADLINE_MS });
  const seq = lines().indexOf(lines().find((l) => l.msg === 'agent config reloaded')!);
  assert.ok(lines().slice(seq).some((l) => l.level === 20), 'debug lines after the reload');

  // An invalid file: logged with file:line, the running config stays.
  writeFileSync(hh.configFile, base + `log_level = "info"\nclient {\n  options = {\n`);
  agent.kill('SIGHUP');
  await waitFor(() => lines().some((l) => l.msg === 'agent config reload failed; the running config stays'), { what: 'failed reload logged', timeoutMs: DEADLINE_MS }).catch(failWithLog);
  const failed = lines().find((l) => l.msg === 'agent config reload failed; the running config stays')!;
  assert.equal(failed.level, 50);
  assert.match(String(failed.err), new RegExp(`${hh.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+`), String(failed.err));
  assert.equal(failed.file, hh.configFile);
  assert.equal(typeof failed.line, 'number');
  const afterFail = lines().length;
  await hh.writeJob('three.hcl', envJob('three'));
  await waitFor(async () => /A=\[a\] B=\[\]/.test((await hh.tendctl(['logs', 'three/g[0]/t'])).stdout), { what: 'three: still the reloaded denylist', timeoutMs: DEADLINE_MS });
  assert.ok(lines().slice(afterFail).some((l) => l.level === 20), 'still at debug after the failed reload');
  assert.equal(lines().filter((l) => l.msg === 'agent config reloaded').length, 1, 'the invalid file applied nothing');
  assert.equal(agent.exitCode, null);
  assert.equal(running(hh, 'one/g[0]/t')?.handle?.pid, onePid);

  // The log monitor ignores SIGHUP (and says so in its log).
  const logmon = listPids().filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('logmon') && cmd.includes(hh.stateDir);
    } catch {
      return false;
    }
  });
  assert.equal(logmon.length, 1);
  process.kill(logmon[0], 'SIGHUP');
  await waitFor(() => readFileSync(path.join(hh.stateDir, 'logmon.log'), 'utf8').includes('"signal":"SIGHUP"'), { what: 'logmon logged the SIGHUP', timeoutMs: DEADLINE_MS });
  assert.ok(isAlive(logmon[0]), 'the log monitor survives SIGHUP');
  await waitFor(async () => (JSON.parse((await hh.tendctl(['node', '-json'])).stdout) as NodeView).disk?.logs.monitorPid === logmon[0], { what: 'the monitor still answers', timeoutMs: DEADLINE_MS });

  // -stop-tasks-on-exit still holds on SIGTERM: the tasks stop with the agent.
  const code = await hh.term();
  assert.equal(code, 0);
  assert.ok(!isAlive(onePid), 'task one stopped with the agent');
});

test('signals: SIGTERM while the agent is still starting lets it finish starting, then stop cleanly with exit 0', async () => {
  const s = await createHarness();
  try {
    const logFile = path.join(s.root, 'term-agent.log');
    const fd = openSync(logFile, 'a');
    const agent = spawn(process.execPath, [TEND, 'agent', '-config', s.configFile, '-executor', 'plain'], { stdio: ['ignore', fd, fd], env: { ...process.env, TEND_E2E: s.root } });
    closeSync(fd);
    s.agent = agent;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => agent.once('exit', (code, signal) => resolve({ code, signal })));
    // "agent starting" is logged inside startAgent: recovery and the API are still ahead.
    await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('"msg":"agent starting"'), { what: 'agent starting', timeoutMs: DEADLINE_MS, intervalMs: 1 });
    agent.kill('SIGTERM');
    const end = await exited;
    assert.deepEqual(end, { code: 0, signal: null }, readFileSync(logFile, 'utf8').slice(-2000));
  } finally {
    await s.cleanup();
  }
});
