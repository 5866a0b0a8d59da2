/**
 * Shell completion against a real agent: the script `tendctl completion bash`
 * prints is sourced into bash, with `tendctl` on PATH (bin/tendctl.js), and a
 * TAB is simulated by setting COMP_WORDS / COMP_CWORD and calling the
 * completion function; live task and job names come from the agent through
 * `tendctl __complete`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHarness, job, running, type Harness } from '../agent/harness.js';
import { TENDCTL } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';

let h: Harness | undefined;
let binDir = '';
/** The script `tendctl completion bash` printed, written once (each TAB sources it). */
let scriptFile = '';

before(async () => {
  h = await createHarness();
  binDir = path.join(h.root, 'bin');
  await mkdir(binDir);
  await writeFile(path.join(binDir, 'tendctl'), `#!/bin/sh\nexec '${process.execPath}' '${TENDCTL}' "$@"\n`);
  await chmod(path.join(binDir, 'tendctl'), 0o755);
  scriptFile = path.join(h.root, 'tendctl.bash');
  await writeFile(scriptFile, await new Promise<string>((resolve, reject) => execFile(process.execPath, [TENDCTL, 'completion', 'bash'], (err, out) => (err ? reject(err) : resolve(out)))));
  await h.writeJob('web.hcl', job('web', { count: 2 }));
  await h.writeJob('api.hcl', job('api'));
  await h.start();
  await waitFor(() => ['web/g[0]/t', 'web/g[1]/t', 'api/g[0]/t'].every((id) => running(h!, id)), { what: 'tasks running', timeoutMs: 15_000 });
});

after(async () => h?.cleanup());

function bash(script: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env: { PATH: `${binDir}:${process.env.PATH}`, HOME: h!.root, ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** COMPREPLY for the words typed so far (the last one is the word being completed). */
async function tab(words: string[], env: Record<string, string> = {}): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = await bash(`source '${scriptFile}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _tendctl; printf '%s\\n' "\${COMPREPLY[@]}"`, env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

test('completion e2e: the sourced bash script registers itself for tendctl', async (t) => {
  if (!requireLinux(t)) return;
  const r = await bash('source <(tendctl completion bash); complete -p tendctl');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'complete -F _tendctl tendctl\n');
});

test('completion e2e: commands and flags; live task and job names from the agent (TEND_ADDR or -address on the line)', async (t) => {
  if (!requireLinux(t)) return;
  const addr = `unix://${h!.socket}`;
  assert.deepEqual(await tab(['tendctl', 'logs', '-st']), ['-stderr']);
  assert.deepEqual(await tab(['tendctl', 'logs', ''], { TEND_ADDR: addr }), ['api/g[0]/t', 'web/g[0]/t', 'web/g[1]/t']);
  assert.deepEqual(await tab(['tendctl', 'status', 'w'], { TEND_ADDR: addr }), ['web', 'web/g[0]/t', 'web/g[1]/t']);
  // The value of a flag: -task TASK.
  assert.deepEqual(await tab(['tendctl', 'events', '-task', 'web'], { TEND_ADDR: addr }), ['web/g[0]/t', 'web/g[1]/t']);
  // The address typed on the line is the one asked.
  assert.deepEqual(await tab(['tendctl', 'deployment', 'status', '-address', addr, ''], { TEND_ADDR: 'unix:///nonexistent.sock' }), ['api', 'web']);
  // No agent: no names, nothing on the terminal, and __complete says nothing either.
  assert.deepEqual(await tab(['tendctl', 'restart', ''], { TEND_ADDR: 'unix:///nonexistent.sock' }), []);
  const r = await bash('tendctl __complete task', { TEND_ADDR: 'unix:///nonexistent.sock' });
  assert.deepEqual(r, { code: 1, stdout: '', stderr: '' });
});
