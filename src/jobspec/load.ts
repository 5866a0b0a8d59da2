// Placeholder signatures; the loader work replaces the bodies.
import type { LoadOptions, LoadResult } from './model.js';

/** Load, normalise and validate one job file (HCL2 / TOML / JSON by extension). Never throws for bad content. */
export async function loadFile(_path: string, _opts: LoadOptions = {}): Promise<LoadResult> {
  throw new Error('not implemented');
}
/** Same, from text already read (`file` names it in diagnostics and picks the format by extension). */
export async function loadText(_file: string, _text: string, _opts: LoadOptions = {}): Promise<LoadResult> {
  throw new Error('not implemented');
}
/** Expand files and directories (job files only, sorted by path) and load each. */
export async function loadPaths(_paths: string[], _opts: LoadOptions = {}): Promise<LoadResult[]> {
  throw new Error('not implemented');
}
