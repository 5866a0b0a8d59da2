import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram } from '../helpers/gates.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deploy = (f: string) => readFileSync(path.join(root, 'deploy', f), 'utf8');
const UNITS = ['tend.service', 'tend-git-sync.service', 'tend-git-sync.timer'];

/** `Key=value` lines of a unit (the last one wins, as systemd reads them). */
function settings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

test('deploy/tend.service: tasks survive an agent restart, the agent is OOM-protected, no pid cap, ready when serving', () => {
  const s = settings(deploy('tend.service'));
  assert.equal(s.get('KillMode'), 'process', 'a stop or restart signals only the agent');
  assert.equal(s.get('Type'), 'notify');
  assert.equal(s.get('NotifyAccess'), 'main');
  assert.ok(Number(s.get('OOMScoreAdjust')) < 0);
  assert.equal(s.get('TasksMax'), 'infinity');
  assert.equal(s.get('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(s.get('Delegate'), 'no');
});

test('deploy: systemd-analyze verify accepts the units (paths pointed at this checkout)', (t) => {
  if (!requireProgram(t, 'systemd-analyze', 'systemd')) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-units-'));
  try {
    for (const f of UNITS) writeFileSync(path.join(dir, f), deploy(f).replaceAll('/opt/tend/', root).replace('/usr/bin/node', process.execPath));
    const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((f) => path.join(dir, f))], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deploy/tend-git-sync: POSIX sh that parses, and its --help is its header', () => {
  const script = path.join(root, 'deploy', 'tend-git-sync');
  execFileSync('sh', ['-n', script]);
  const help = execFileSync(script, ['--help'], { encoding: 'utf8' });
  assert.match(help, /^tend-git-sync: put one commit of a Git repository in place as tend's jobs dir,\n/);
  assert.match(help, /TEND_GIT_VERIFY {4}--verify/);
  assert.doesNotMatch(help, /set -eu/);
});
