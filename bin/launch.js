// Shared by bin/tend.js and bin/tendctl.js: run the bundle in dist/ when it is
// at least as new as every file under src/ (scripts/build.mjs), else the
// TypeScript sources through tsx, so an edit is never shadowed by an old build.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestUnder(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  if (process.env.TEND_FROM_SOURCE) return false;
  try {
    return statSync(path.join(root, 'dist', 'BUILT')).mtimeMs >= newestUnder(path.join(root, 'src'));
  } catch {
    return false;
  }
}

export async function launch(name) {
  if (bundleIsFresh()) {
    await import(pathToFileURL(path.join(root, 'dist', `${name}.js`)).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(root, 'src', 'cli', `${name}.ts`)).href);
}
