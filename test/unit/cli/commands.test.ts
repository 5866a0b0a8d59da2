import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { tendCommands, tendctlCommands } from '../../../src/cli/commands/index.js';
import { runCli, type LazyCommand } from '../../../src/cli/main.js';
import type { CommandIO } from '../../../src/cli/command.js';
import { parseFlags, type FlagSpec } from '../../../src/cli/flags.js';

function fakeIO(): { io: CommandIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() }, out: () => out, err: () => err };
}

test('command registry: every entry loads the command it names, with the same summary', async () => {
  for (const entry of [...tendCommands, ...tendctlCommands]) {
    const cmd = await entry.load();
    assert.equal(cmd.name, entry.name);
    assert.equal(cmd.summary, entry.summary, `summary of ${entry.name}`);
    assert.match(cmd.help(), new RegExp(`^Usage: (tend|tendctl) ${entry.name}`), `help of ${entry.name}`);
  }
  assert.deepEqual(
    tendctlCommands.map((c) => c.name),
    ['status', 'logs', 'events', 'exec', 'signal', 'restart', 'wait', 'job', 'deployment', 'var', 'services', 'node', 'ui', 'plan', 'validate', 'completion', '__complete'],
  );
});

test('runCli: the overview, -version and unknown commands load no command module', async () => {
  const loads: string[] = [];
  const commands: LazyCommand[] = ['status', 'validate'].map((name) => ({
    name,
    summary: `the ${name} command`,
    load: async () => {
      loads.push(name);
      throw new Error('not expected');
    },
  }));
  const a = fakeIO();
  assert.equal(await runCli('tendctl', 'intro', commands, ['-help'], a.io), 0);
  assert.match(a.out(), /status\s+the status command/);
  const b = fakeIO();
  assert.equal(await runCli('tendctl', 'intro', commands, ['-version'], b.io), 0);
  assert.match(b.out(), /^tendctl \d+\.\d+\.\d+/);
  const c = fakeIO();
  assert.equal(await runCli('tendctl', 'intro', commands, ['stat'], c.io), 2);
  assert.match(c.err(), /unknown command "stat" \(did you mean "status"\?\)/);
  assert.deepEqual(loads, []);
});

test('runCli: a command is loaded to run it or to show its help', async () => {
  const runs: string[][] = [];
  const commands: LazyCommand[] = [
    {
      name: 'status',
      summary: 'status',
      load: async () => ({ name: 'status', summary: 'status', help: () => 'Usage: tendctl status', run: async (argv) => (runs.push(argv), 0) }),
    },
  ];
  const a = fakeIO();
  assert.equal(await runCli('tendctl', 'intro', commands, ['help', 'status'], a.io), 0);
  assert.equal(a.out(), 'Usage: tendctl status\n');
  assert.equal(await runCli('tendctl', 'intro', commands, ['status', 'web'], fakeIO().io), 0);
  assert.deepEqual(runs, [['web']]);
});

test('parseFlags: given tells a bool set to false from one left out', () => {
  const specs: FlagSpec[] = [{ names: ['stop-tasks-on-exit'], kind: 'bool', help: '' }, { names: ['json'], kind: 'bool', help: '' }];
  const off = parseFlags(['-stop-tasks-on-exit=false'], specs);
  assert.equal(off.flags['stop-tasks-on-exit'], false);
  assert.deepEqual([...off.given], ['stop-tasks-on-exit']);
  const unset = parseFlags([], specs);
  assert.equal(unset.flags['stop-tasks-on-exit'], false);
  assert.deepEqual([...unset.given], []);
  assert.deepEqual([...parseFlags(['--json', '-stop-tasks-on-exit'], specs).given].sort(), ['json', 'stop-tasks-on-exit']);
});

test('tendctl restart: says what happens now — a running task gets its kill signal, SIGKILL after kill_timeout, then starts; a failed one starts', async () => {
  const { restartNote } = await import('../../../src/cli/commands/restart.js');
  assert.equal(
    restartNote({ task: 'stubborn/g[0]/t', state: 'running', killSignal: 'SIGINT', killTimeout: '8s' }),
    "Restarting stubborn/g[0]/t: SIGINT now, SIGKILL after 8s if it is still running, then it starts again.\nFollow it: tendctl events -f -task 'stubborn/g[0]/t'\n",
  );
  assert.equal(restartNote({ task: 'a/g[0]/t', state: 'failed' }), 'Restarting a/g[0]/t (it was failed): it starts again now.\n');
  assert.equal(restartNote({ task: 'a/g[0]/t' }), 'Restarting a/g[0]/t\n');
});
