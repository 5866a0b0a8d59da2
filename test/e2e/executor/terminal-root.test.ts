/**
 * The check that keeps `exec -t` (runc exec) from landing outside a task's
 * root: setns(2) into the agent's own mount namespace lands on the agent's
 * root on an ordinary host, and elsewhere when the agent runs chrooted (here:
 * node chrooted into an overlay of "/" in a mount namespace of its own, so
 * the files it writes are not on the namespace's root).
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/e2e/executor/terminal-root.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { landsOnOwnRoot } from '../../../src/executor/oci/terminal.js';
import { platform } from '../../../src/platform.js';
import { requireRoot } from '../../helpers/gates.js';

const TERMINAL = fileURLToPath(new URL('../../../src/executor/oci/terminal.ts', import.meta.url));

test('terminal root check: true on this host, false for an agent chrooted away from its mount namespace\'s root', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const nsenter = platform().which('nsenter')!;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-rootcheck-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await landsOnOwnRoot(nsenter, path.join(dir, 'scratch')), true);

  const ovl = path.join(dir, 'ovl');
  const chr = path.join(dir, 'root');
  const probe = `import(${JSON.stringify(TERMINAL)}).then(async (m) => console.log('lands:', await m.landsOnOwnRoot(${JSON.stringify(nsenter)}, ${JSON.stringify(path.join(dir, 'scratch2'))})))`;
  const script = [
    'set -e',
    'mount --make-rprivate /',
    `mkdir -p ${ovl} ${chr}`,
    `mount -t tmpfs tmpfs ${ovl}`,
    `mkdir ${ovl}/up ${ovl}/wk`,
    `mount -t overlay overlay -o lowerdir=/,upperdir=${ovl}/up,workdir=${ovl}/wk ${chr}`,
    `for d in proc dev sys; do mount --rbind /$d ${chr}/$d; done`,
    `exec chroot ${chr} sh -c 'cd "$1" && exec "$2" --import tsx -e "$TEND_PROBE"' sh ${JSON.stringify(process.cwd())} ${JSON.stringify(process.execPath)}`,
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('unshare', ['--mount', '--', '/bin/sh', '-c', script], { timeout: 25_000, env: { ...process.env, TEND_PROBE: probe } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  assert.match(out, /^lands: false$/m);
});
