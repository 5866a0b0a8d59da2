import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { OciSpec } from '../../../../src/executor/oci/bundle.js';
import { RELAY_SCRIPT } from '../../../../src/executor/oci/attach-relay.js';
import { conmonExecArgs, parseSync, startFailure, terminalProcess, type TerminalTarget } from '../../../../src/executor/oci/terminal.js';
import { requirePerl } from '../../../helpers/gates.js';

const taskProcess: OciSpec['process'] = {
  terminal: false,
  user: { uid: 65534, gid: 65534, additionalGids: [5] },
  args: ['/bin/sh', '-c', 'sleep 1000'],
  env: ['PATH=/usr/bin:/bin', 'NOMAD_TASK_NAME=t', 'TERM=dumb'],
  cwd: '/local',
  capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
  noNewPrivileges: true,
  oomScoreAdj: 0,
};

test('terminal: the exec process is the task\'s own (user, caps, no_new_privs, rlimits) on a terminal of the asked size, with the request\'s command, env and cwd', () => {
  const p = terminalProcess(taskProcess, ['/bin/sh'], { env: { TERM: 'xterm-256color', A: '1' }, cwd: '/tmp' }, { rows: 30, cols: 100 });
  assert.equal(p.terminal, true);
  assert.deepEqual(p.consoleSize, { height: 30, width: 100 });
  assert.deepEqual(p.args, ['/bin/sh']);
  assert.equal(p.cwd, '/tmp');
  assert.deepEqual(p.env, ['PATH=/usr/bin:/bin', 'NOMAD_TASK_NAME=t', 'TERM=xterm-256color', 'A=1']);
  assert.deepEqual([p.user, p.capabilities, p.noNewPrivileges, p.rlimits], [taskProcess.user, taskProcess.capabilities, true, taskProcess.rlimits]);
  assert.equal(p.oomScoreAdj, 0, "the task's, not the agent's");
  // The task's cwd and TERM when the request has none; xterm when the task has none either.
  const q = terminalProcess(taskProcess, ['ls'], {}, { rows: 1, cols: 2 });
  assert.equal(q.cwd, '/local');
  assert.ok(q.env.includes('TERM=dumb'));
  assert.ok(terminalProcess({ ...taskProcess, env: ['PATH=/bin'] }, ['ls'], {}, { rows: 1, cols: 2 }).env.includes('TERM=xterm'));
});

test('terminal: conmon runs runc exec on a terminal, attached and in sync, with its own dir and no exit file of the task', () => {
  const t: TerminalTarget = { id: 'task-1', spec: {} as OciSpec, conmon: '/usr/bin/conmon', runtime: '/usr/sbin/runc', runcRoot: '/d/oci/runc-root', execsDir: '/d/oci/execs', socketDir: '/d/oci/sockets', perl: '/usr/bin/perl' };
  const args = conmonExecArgs(t, 'xabc', '/d/oci/execs/xabc', true);
  const flag = (name: string) => args[args.indexOf(name) + 1];
  for (const f of ['--exec', '--exec-attach', '--sync', '-t', '-i']) assert.ok(args.includes(f), f);
  assert.deepEqual([flag('-c'), flag('-u'), flag('-b'), flag('--exec-process-spec'), flag('-l'), flag('--runtime-arg')], ['task-1', 'xabc', '/d/oci/execs/xabc', '/d/oci/execs/xabc/process.json', 'none', '--root=/d/oci/runc-root']);
  assert.ok(!args.includes('--exit-dir'), 'an exit file named by the container id would be the task\'s');
  assert.ok(!conmonExecArgs(t, 'xabc', '/d', false).includes('-i'));
});

test('terminal: conmon\'s sync messages, and runc\'s refusals that mean the command cannot be run', () => {
  assert.deepEqual(parseSync('{"data": 4242}'), { data: 4242 });
  assert.deepEqual(parseSync('{"data": -1, "message": "boom"}'), { data: -1, message: 'boom' });
  assert.equal(parseSync('nope'), undefined);
  assert.equal(parseSync(undefined), undefined);
  assert.deepEqual(startFailure('exec failed: unable to start container process: exec: "/nope": stat /nope: no such file or directory'), { reason: 'ENOENT' });
  assert.deepEqual(startFailure('exec failed: unable to start container process: exec: "nope": executable file not found in $PATH'), { reason: 'ENOENT' });
  assert.deepEqual(startFailure('exec failed: unable to start container process: exec: "/etc/passwd": permission denied'), { reason: 'EACCES' });
  assert.equal(startFailure('container not running'), undefined);
});

test('attach relay: packets of stream 2 go to stdout and 3 to stderr without their first byte; stdin goes out one packet per read', async (t) => {
  if (!requirePerl(t)) return;
  // A SOCK_SEQPACKET listener needs more than Node: a perl one plays conmon here, writing what it receives to stdout.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-relay-'));
  try {
    const sock = path.join(dir, 'attach');
    const conmonLike = spawn('perl', ['-e', String.raw`
use IO::Socket::UNIX; use Socket qw(SOCK_SEQPACKET);
my $l = IO::Socket::UNIX->new(Type => SOCK_SEQPACKET, Local => $ARGV[0], Listen => 1) or die $!;
print STDOUT "listening\n"; STDOUT->flush;
my $c = $l->accept or die $!;
syswrite($c, "\x02out-1"); syswrite($c, "\x03err-1"); syswrite($c, "\x02out-2");
while (sysread($c, my $p, 65536)) { print STDOUT "got:$p\n"; STDOUT->flush; }
close($c);`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    const conmonClosed = new Promise((r) => conmonLike.once('close', r));
    let seen = '';
    conmonLike.stdout.setEncoding('utf8').on('data', (s: string) => (seen += s));
    await new Promise<void>((r) => conmonLike.stdout.on('data', () => seen.includes('listening') && r()));
    const relay = spawn('perl', ['-e', RELAY_SCRIPT, sock], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: {} });
    const relayClosed = new Promise<number | null>((r) => relay.once('close', r));
    let out = '';
    let err = '';
    relay.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    relay.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const ready = await new Promise<string>((r) => (relay.stdio[3] as net.Socket).setEncoding('utf8').once('data', r));
    assert.equal(ready, 'ready\n');
    relay.stdin!.end('keys');
    assert.equal(await relayClosed, 0);
    await conmonClosed;
    assert.equal(out, 'out-1out-2');
    assert.equal(err, 'err-1');
    assert.match(seen, /got:keys\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
