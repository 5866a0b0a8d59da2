// Builds the web status page (src/ui/main.tsx: Preact, bundled and minified
// by esbuild; src/ui/style.css) in memory: index.html, app-<hash>.js,
// style-<hash>.css. Used by
// scripts/build.mjs, which writes them to dist/ui/, and by the agent when it
// runs from its TypeScript sources (src/api/ui-assets.ts), so the page always
// matches the code that serves it. The content hash in the names lets the
// agent serve the script and the style as immutable.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * @param {string} root the repository root
 * @returns {Promise<{ name: string, contents: Uint8Array }[]>}
 */
export async function buildUi(root) {
  const r = await build({
    entryPoints: { app: path.join(root, 'src/ui/main.tsx'), style: path.join(root, 'src/ui/style.css') },
    outdir: path.join(root, 'dist/ui'),
    entryNames: '[name]-[hash]',
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    // Browsers of the last few years: fetch streams, CSS custom properties, :focus-visible.
    target: ['chrome100', 'firefox100', 'safari15.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(root, 'src/ui/tsconfig.json'),
    logLevel: 'warning',
  });
  const files = r.outputFiles.map((f) => ({ name: path.basename(f.path), contents: f.contents }));
  const js = files.find((f) => f.name.endsWith('.js'));
  const css = files.find((f) => f.name.endsWith('.css'));
  if (!js || !css) throw new Error(`failed to build the web page: expected a .js and a .css output, got ${files.map((f) => f.name).join(', ')}`);
  const html = readFileSync(path.join(root, 'src/ui/index.html'), 'utf8').replaceAll('%APP_JS%', js.name).replaceAll('%APP_CSS%', css.name);
  return [...files, { name: 'index.html', contents: new TextEncoder().encode(html) }];
}
