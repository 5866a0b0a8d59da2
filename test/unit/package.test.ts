import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every installed package (nested node_modules too) with its install-time scripts. */
function withInstallScripts(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const p = path.join(dir, name);
    if (name.startsWith('@')) {
      withInstallScripts(p, out);
      continue;
    }
    const pj = path.join(p, 'package.json');
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; scripts?: Record<string, string> };
    if (pkg.name && ['preinstall', 'install', 'postinstall'].some((s) => pkg.scripts?.[s])) out.push(pkg.name);
    withInstallScripts(path.join(p, 'node_modules'), out);
  }
  return out;
}

test('package: every dependency with an install script has a decision in allowScripts (npm 11 prints no install-scripts warning on npm ci)', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const found = [...new Set(withInstallScripts(path.join(root, 'node_modules')))].sort();
  assert.ok(found.includes('esbuild'), `expected esbuild among the packages with install scripts, got ${found.join(', ')}`);
  const undecided = found.filter((name) => !(name in (pkg.allowScripts ?? {})) && !Object.keys(pkg.allowScripts ?? {}).some((k) => k.startsWith(`${name}@`)));
  assert.deepEqual(undecided, [], 'run npm install-scripts approve|deny for these');
  assert.equal(pkg.allowScripts?.esbuild, false, "esbuild's postinstall is not needed: its platform package carries the binary");
});
