import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { completionScript, flagValueKind } from '../../../src/cli/completion.js';
import { namesOf, visibleCommands } from '../../../src/cli/commands/completion.js';
import { tendctlCommands } from '../../../src/cli/commands/index.js';
import type { JobView } from '../../../src/api/api.js';
import { requireProgram } from '../../helpers/gates.js';

test('tendctl commands: each has usage, description, flags and at least one example, and -help shows them', async () => {
  for (const c of await visibleCommands()) {
    assert.ok(c.usage && c.description && c.flags, `${c.name}: usage, description and flags are data (completion and the man page read them)`);
    assert.ok((c.examples ?? []).length >= 1, `${c.name}: at least one example`);
    const help = c.help();
    assert.match(help, /\nExamples:\n/, `${c.name} -help shows its examples`);
    for (const e of c.examples!) assert.ok(help.includes(e.command), `${c.name} -help shows "${e.command}"`);
    // The flags the help lists are the flags the command parses.
    for (const f of c.flags!) assert.ok(help.includes(`-${f.names[0]}`), `${c.name} -help lists -${f.names[0]}`);
  }
  assert.deepEqual(tendctlCommands.filter((c) => c.hidden).map((c) => c.name), ['__complete']);
});

/** Runs the bash script with COMP_WORDS set as bash sets them on TAB; returns COMPREPLY. */
function bashComplete(script: string, words: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-completion-'));
  try {
    const file = path.join(dir, 'tendctl.bash');
    writeFileSync(file, script);
    const setWords = `COMP_WORDS=(${words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')}); COMP_CWORD=${words.length - 1}`;
    const out = execFileSync('bash', ['-c', `source "$1"; ${setWords}; _tendctl; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, cwd: path.resolve('.') });
    return out.split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('completion bash: commands, flags per command, flag values, subcommands, signal names, paths; nothing after --', async (t) => {
  if (!requireProgram(t, 'bash', 'bash')) return;
  const commands = await visibleCommands();
  const script = completionScript('bash', 'tendctl', commands);
  const reg = execFileSync('bash', ['-c', `source /dev/stdin <<'EOF'\n${script}\nEOF\ncomplete -p tendctl`], { encoding: 'utf8' });
  assert.equal(reg.trim(), 'complete -F _tendctl tendctl');
  assert.deepEqual(bashComplete(script, ['tendctl', 'st']), ['status']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'help', 'comp']), ['completion']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'logs', '-f']), ['-f', '-follow']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'status', '-no-']), ['-no-color', '-no-stats']);
  // Every command completes exactly the flags it parses (the script is generated from them).
  for (const c of commands) {
    assert.deepEqual(bashComplete(script, ['tendctl', c.name, '-']), c.flags!.flatMap((f) => f.names.map((n) => `-${n}`)), `flags of ${c.name}`);
  }
  assert.deepEqual(bashComplete(script, ['tendctl', 'var', 'get', '-out', '']), ['table', 'json', 'none']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'var', '-out', '=', 'j']), ['json'], '-out=j (bash splits at =)');
  assert.deepEqual(bashComplete(script, ['tendctl', 'job', '']), ['dispatch', 'periodic']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'job', '-json', 'periodic', '']), ['force']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'signal', 'web', 'SIGU']), ['SIGUSR1', 'SIGUSR2']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'completion', '']), ['bash', 'zsh']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'validate', 'a.hcl', 'src/cli/comm']), ['src/cli/command.ts', 'src/cli/commands']);
  assert.deepEqual(bashComplete(script, ['tendctl', 'exec', 'web', '--', '']), []);
  // Live names: without an agent, nothing (and no error on the terminal).
  assert.deepEqual(bashComplete(script, ['tendctl', 'logs', ''], { TEND_ADDR: 'unix:///nonexistent/tend.sock' }), []);
});

test('completion zsh: the script is a #compdef function with every command, its flags and their descriptions', async (t) => {
  const commands = await visibleCommands();
  const script = completionScript('zsh', 'tendctl', commands);
  assert.match(script, /^#compdef tendctl\n/);
  assert.match(script, /\n {2}compdef _tendctl tendctl\nfi\n$/);
  for (const c of commands) {
    assert.ok(script.includes(`'${c.name}:${c.summary.replace(/'/g, `'\\''`)}'`), `${c.name} listed with its summary`);
    const line = script.split('\n').find((l) => l.startsWith(`    ${c.name}) flags=(`));
    assert.ok(line, `${c.name} has a flags line`);
    for (const f of c.flags!) for (const n of f.names) assert.ok(line!.includes(`'-${n}:`), `${c.name}: -${n}`);
  }
  assert.match(script, /'events -task'\) kind='task' ;;/);
  if (!requireProgram(t, 'zsh', 'zsh')) return;
  const r = spawnSync('zsh', ['-n'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // From a file: node's stdin for a child is a socket, which zsh cannot `source /dev/stdin` from.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-zsh-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, '_tendctl'), script);
  const loaded = spawnSync('zsh', ['-fc', `autoload -Uz compinit && compinit -u -D && source ${path.join(dir, '_tendctl')} && print -r -- $_comps[tendctl]`], { encoding: 'utf8' });
  assert.equal(loaded.stdout.trim(), '_tendctl', loaded.stderr);
});

test('completion: a flag value kind comes from its placeholder', () => {
  assert.equal(flagValueKind({ names: ['task'], kind: 'string', value: 'TASK', help: '' }), 'task');
  assert.equal(flagValueKind({ names: ['var-file'], kind: 'list', value: 'FILE', help: '' }), 'path');
  assert.deepEqual(flagValueKind({ names: ['out'], kind: 'string', value: 'table|json|none', help: '' }), { words: ['table', 'json', 'none'] });
  assert.equal(flagValueKind({ names: ['n'], kind: 'number', value: 'N', help: '' }), undefined);
  assert.equal(flagValueKind({ names: ['json'], kind: 'bool', help: '' }), undefined);
});

test('tendctl __complete: task ids, job ids, both, or service names, sorted and unique', async () => {
  const jobs = [
    { id: 'web', tasks: [{ id: 'web/g[1]/t' }, { id: 'web/g[0]/t' }] },
    { id: 'api', tasks: [{ id: 'api/g[0]/t' }] },
  ] as unknown as JobView[];
  const client = { jobs: async () => jobs, services: async () => [{ name: 'web-http' }, { name: 'api-grpc' }] } as never;
  assert.deepEqual(await namesOf('task', client), ['api/g[0]/t', 'web/g[0]/t', 'web/g[1]/t']);
  assert.deepEqual(await namesOf('job', client), ['api', 'web']);
  assert.deepEqual(await namesOf('job-or-task', client), ['api', 'api/g[0]/t', 'web', 'web/g[0]/t', 'web/g[1]/t']);
  assert.deepEqual(await namesOf('service', client), ['api-grpc', 'web-http']);
});
