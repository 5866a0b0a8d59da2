/**
 * The web status page's files (index.html, app-<hash>.js, app-<hash>.css),
 * held in memory once read: from dist/ui/ beside the bundle the agent runs
 * from (scripts/build.mjs writes them), or, when the agent runs from its
 * TypeScript sources, built in memory from src/ui/ on first use (esbuild,
 * scripts/build-ui.mjs), so the page always matches the code serving it.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TendError, errnoCode } from '../errors.js';

export interface UiAsset {
  body: Buffer;
  contentType: string;
  /** Strong validator: the body's sha256, quoted. */
  etag: string;
  /** A name with a content hash (`app-3FJ2K.js`): cacheable for good. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

function asset(name: string, body: Buffer): UiAsset {
  return {
    body,
    contentType: TYPES[path.extname(name)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: /-[A-Z0-9]{8,}\.(js|css)$/.test(name),
  };
}

/** Running from src/*.ts (tsx), not from the bundle in dist/. */
const fromSources = import.meta.url.endsWith('.ts');

async function readBuilt(dir: string): Promise<Map<string, UiAsset>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new TendError('E_INTERNAL', `failed to serve the web page: ${dir} is missing; build it with "npm run build"`, { cause: err });
    throw err;
  }
  const out = new Map<string, UiAsset>();
  for (const name of names) out.set(name, asset(name, await readFile(path.join(dir, name))));
  return out;
}

async function buildFromSources(): Promise<Map<string, UiAsset>> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const { buildUi } = (await import(new URL('../../scripts/build-ui.mjs', import.meta.url).href)) as typeof import('../../scripts/build-ui.mjs');
  const out = new Map<string, UiAsset>();
  for (const f of await buildUi(root)) out.set(f.name, asset(f.name, Buffer.from(f.contents)));
  return out;
}

let loaded: Promise<Map<string, UiAsset>> | undefined;

/** The page's files by name; read (or built) once. A failure is not kept: the next request tries again. */
export function uiAssets(): Promise<Map<string, UiAsset>> {
  loaded ??= (fromSources ? buildFromSources() : readBuilt(fileURLToPath(new URL('./ui/', import.meta.url)))).catch((err) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}
