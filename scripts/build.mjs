#!/usr/bin/env node
// Bundles the two entry points (src/cli/tend.ts, src/cli/tendctl.ts) into
// dist/ with esbuild: one ESM file each plus shared chunks, packages left in
// node_modules. The HCL parser's process (src/jobspec/hcl-child.ts) is a
// third entry: hcl-parser.ts starts it as dist/hcl-child.js, beside the
// chunk it is bundled into; the launcher process (src/executor/launcher-child.ts)
// is a fourth, started by launcher.ts as dist/launcher-child.js. bin/*.js run the bundle when it is newer than every file in
// src/ and fall back to the TypeScript sources through tsx otherwise, so a
// stale bundle never runs. Starting a command from the bundle costs about a
// third of starting it through tsx (bench/README.md). `npm ci` runs this
// (the `prepare` script); so does `npm test`, so the tests run what users run.
// The web status page (src/ui/) goes to dist/ui/ (scripts/build-ui.mjs).
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { buildUi } from './build-ui.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
rmSync(out, { recursive: true, force: true });
const started = Date.now();
await build({
  entryPoints: {
    tend: path.join(root, 'src/cli/tend.ts'),
    tendctl: path.join(root, 'src/cli/tendctl.ts'),
    'hcl-child': path.join(root, 'src/jobspec/hcl-child.ts'),
    'launcher-child': path.join(root, 'src/executor/launcher-child.ts'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
mkdirSync(path.join(out, 'ui'));
for (const f of await buildUi(root)) writeFileSync(path.join(out, 'ui', f.name), f.contents);
// Written last: its time is what bin/*.js compare with the sources'.
writeFileSync(path.join(out, 'BUILT'), `${new Date().toISOString()}\n`);
if (!process.env.TEND_BUILD_QUIET) console.log(`# build: dist/ in ${Date.now() - started} ms`);
