/**
 * Nomad's rules for variable paths and items (nomad/structs/variables.go and
 * `nomad var put`'s "Restrictions"):
 *  - a path matches `^[a-zA-Z0-9-_~/]{1,128}$` (RFC 3986 unreserved
 *    characters without `.`, so no `..` and no dot-files; `@` is the
 *    namespace separator of templates). As Nomad, a leading, trailing or
 *    doubled `/` is allowed: the path is a key, never a file path;
 *  - `nomad` alone is reserved; below it only `nomad/jobs` (and anything under
 *    it) and `nomad/job-templates/<name>` (exactly one level) are valid;
 *  - a variable has at least one item; the byte lengths of all keys and
 *    values add up to at most 64 KiB. tend also refuses an empty key (no
 *    template can name it).
 * Messages name the path or key, never a value.
 */
import { TendError } from '../errors.js';
import type { VariableItems } from './vars.js';

/** Nomad's `maxVariableSize`: keys and values, in bytes. */
export const MAX_ITEMS_BYTES = 64 * 1024;
export const MAX_PATH_BYTES = 128;
const PATH_RE = /^[a-zA-Z0-9\-_~/]{1,128}$/;
const PREFIX_RE = /^[a-zA-Z0-9\-_~/]{0,128}$/;

function invalid(message: string, details: Record<string, unknown>): TendError {
  return new TendError('E_VAR_INVALID', message, { details });
}

/** Why `path` is not a valid variable path, or undefined. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'expected a variable path, got none';
  if (!PATH_RE.test(path)) {
    const shown = JSON.stringify(path.length > 140 ? `${path.slice(0, 140)}…` : path);
    if (Buffer.byteLength(path) > MAX_PATH_BYTES && /^[a-zA-Z0-9\-_~/]*$/.test(path)) return `invalid variable path ${shown}: expected at most ${MAX_PATH_BYTES} bytes, got ${Buffer.byteLength(path)}`;
    return `invalid variable path ${shown}: expected only letters, digits and "-", "_", "~", "/" (at most ${MAX_PATH_BYTES})`;
  }
  const parts = path.split('/');
  if (parts[0] !== 'nomad') return undefined;
  if (parts.length === 1) return '"nomad" is a reserved top-level directory path, but you may write variables to "nomad/jobs", "nomad/job-templates", or below';
  if (parts[1] === 'jobs') return undefined;
  if (parts[1] === 'job-templates') {
    return parts.length === 3 ? undefined : '"nomad/job-templates" is a reserved directory path, but you may write variables at the level below it, for example, "nomad/job-templates/template-name"';
  }
  return 'only paths at "nomad/jobs" or "nomad/job-templates" and below are valid paths under the top-level "nomad" directory';
}

/** Throws E_VAR_INVALID unless `path` is a valid variable path. */
export function assertPath(path: unknown): string {
  const problem = pathProblem(path);
  if (problem) throw invalid(problem, { path: typeof path === 'string' ? path : undefined });
  return path as string;
}

/** Throws E_VAR_INVALID unless `prefix` could begin a path (list, watch): the path characters, possibly none. */
export function assertPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) {
    throw invalid(`invalid variable path prefix ${JSON.stringify(prefix.slice(0, 140))}: expected only letters, digits and "-", "_", "~", "/" (at most ${MAX_PATH_BYTES})`, { prefix });
  }
  return prefix;
}

/** Sum of the byte lengths of keys and values (Nomad's `VariableItems.Size`). */
export function itemsSize(items: VariableItems): number {
  let n = 0;
  for (const [k, v] of Object.entries(items)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/**
 * Checks items from outside (a request body, a file, the CLI) and returns a
 * clean copy (a null-prototype-free plain object). `where` prefixes messages
 * ("variable nomad/jobs/web", "/etc/tend/vars/web.json").
 */
export function checkItems(items: unknown, where: string): VariableItems {
  if (typeof items !== 'object' || items === null || Array.isArray(items)) {
    throw invalid(`${where}: items: expected a map of strings, got ${items === null ? 'null' : Array.isArray(items) ? 'a list' : typeof items}`, {});
  }
  const out: VariableItems = {};
  for (const [k, v] of Object.entries(items as Record<string, unknown>)) {
    if (k === '') throw invalid(`${where}: items: expected non-empty keys, got an empty key`, {});
    if (typeof v !== 'string') throw invalid(`${where}: items.${k}: expected a string, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`, { key: k });
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true }); // "__proto__" stays a key
  }
  if (Object.keys(out).length === 0) throw invalid(`${where}: empty variables are invalid: expected at least one item`, {});
  const size = itemsSize(out);
  if (size > MAX_ITEMS_BYTES) throw invalid(`${where}: variables are limited to 64KiB in total size: items take ${size} bytes`, { size });
  return out;
}
