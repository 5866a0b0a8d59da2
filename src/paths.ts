/**
 * Where tend's own files are, whether it runs from src/ through tsx or from
 * the bundle in dist/: the package root is the nearest dir above this module
 * whose package.json names "tend".
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tend') return (root = dir);
      } catch {
        /* not ours: keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`tend's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** bin/tend.js: how tend starts its own helpers (the log monitor). */
export function tendBin(): string {
  return path.join(packageRoot(), 'bin', 'tend.js');
}
