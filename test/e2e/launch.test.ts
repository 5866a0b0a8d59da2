/**
 * bin/*.js run the bundle in dist/ when it is fresh and the TypeScript sources
 * through tsx otherwise (TEND_FROM_SOURCE forces the latter): both give the
 * same answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (bin: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [`bin/${bin}.js`, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });

test('launch: the bundle and the sources give the same version, help and validate output', () => {
  assert.ok(existsSync(`${root}/dist/BUILT`), 'expected dist/ built (npm test builds it first)');
  const version = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).version;
  for (const env of [{}, { TEND_FROM_SOURCE: '1' }]) {
    assert.equal(run('tendctl', ['-version'], env).stdout, `tendctl ${version}\n`);
    assert.equal(run('tend', ['-version'], env).stdout, `tend ${version}\n`);
  }
  const a = run('tendctl', ['validate', 'examples/']);
  const b = run('tendctl', ['validate', 'examples/'], { TEND_FROM_SOURCE: '1' });
  assert.equal(a.status, 0, a.stderr);
  assert.deepEqual([a.status, a.stdout, a.stderr], [b.status, b.stdout, b.stderr]);
  const h = run('tend', ['agent', '-help']);
  assert.equal(h.status, 0);
  assert.equal(h.stdout, run('tend', ['agent', '-help'], { TEND_FROM_SOURCE: '1' }).stdout);
});
