#!/usr/bin/env node
// Writes man/tend.1 and man/tendctl.1 from the command definitions
// (src/cli/man.ts renders them). Run after changing a command's usage,
// description, flags or examples: test/unit/cli/man.test.ts fails while the
// checked-in pages are stale. `node scripts/man.mjs --check` only compares.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
register();
const { manPages } = await import(pathToFileURL(path.join(root, 'src/cli/man.ts')).href);
const check = process.argv.includes('--check');
const dir = path.join(root, 'man');
mkdirSync(dir, { recursive: true });
let stale = 0;
for (const { file, text } of await manPages()) {
  const target = path.join(dir, file);
  let old = '';
  try {
    old = readFileSync(target, 'utf8');
  } catch {
    // not written yet
  }
  if (old === text) continue;
  if (check) {
    console.error(`man/${file} is stale: run node scripts/man.mjs`);
    stale++;
  } else {
    writeFileSync(target, text);
    console.log(`wrote man/${file}`);
  }
}
process.exit(stale ? 1 : 0);
