/**
 * Names from job files that the agent turns into paths and identifiers, and
 * strings it hands to execve, checked at load so that a hostile file is a
 * diagnostic, never a directory outside the data dir or a task that fails
 * at every start.
 *
 * A name (job label and `id`, `namespace`, group, task and volume labels):
 *  - is not empty and at most 128 bytes of UTF-8 (a task name is a path
 *    segment `<data_dir>/alloc/<alloc id>/<task>` and the stem of its log
 *    files, well under NAME_MAX = 255);
 *  - has no control character (C0, DEL, C1), line or paragraph separator,
 *    bidi control (U+061C, U+200E/F, U+202A–E, U+2066–9) or lone surrogate:
 *    these reach env values, log lines and terminals;
 *  - has no "/" and no "\" (Nomad: task names "cannot include slashes"), and
 *    is not "." or ".." — so it is always exactly one path segment;
 *  - a job id also has no whitespace (Nomad: "Job ID contains a space");
 *  - a task is not named "alloc", the group's shared dir beside the task dirs.
 * Characters that only look like a slash (U+2215 "∕", U+FF0F "／") are
 * allowed: the kernel splits paths on "/" alone, so they stay in one segment.
 *
 * A display name (job `name`) follows the first two rules only: Nomad allows
 * "/" there and tend never makes a path of it.
 *
 * A string handed to execve (config command and args, user, env and meta
 * keys and values) has no NUL byte; an env key is not empty and has no "=".
 */
import { shown } from './diagnostics.js';

export const MAX_NAME_BYTES = 128;

/** What the name is, as it appears in messages: "task name", "job id", … */
export type NameKind = 'job id' | 'job name' | 'namespace' | 'group name' | 'task name' | 'volume name';

const INVISIBLE = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const RESERVED: Partial<Record<NameKind, Record<string, string>>> = {
  'task name': { alloc: 'the group\'s shared dir' },
};

/** What is wrong with a name, as "expected …, got …"; undefined when it is fine. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  const a = /^[aeiou]/.test(kind) ? 'an' : 'a';
  if (name === '') return `expected ${a} non-empty ${kind}, got ""`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) return `expected ${a} ${kind} of at most ${MAX_NAME_BYTES} bytes, got ${bytes} bytes`;
  if (INVISIBLE.test(name)) return `expected ${a} ${kind} without control characters, got ${shown(name)}`;
  if (kind === 'job name') return undefined;
  if (/[/\\]/.test(name)) return `expected ${a} ${kind} without "/" or "\\", got ${shown(name)}`;
  if (name === '.' || name === '..') return `expected ${a} ${kind} other than "." or "..", got ${shown(name)}`;
  if (kind === 'job id' && /\s/u.test(name)) return `expected a job id without spaces, got ${shown(name)}`;
  const why = RESERVED[kind]?.[name];
  if (why) return `expected ${a} ${kind} other than ${shown(name)} (${why}), got ${shown(name)}`;
  return undefined;
}

/** What is wrong with a string that goes to execve; undefined when it is fine. */
export function execStringProblem(what: string, value: string): string | undefined {
  return value.includes('\0') ? `expected ${what} without NUL bytes, got ${shown(value)}` : undefined;
}

/** What is wrong with an environment variable name; undefined when it is fine. */
export function envKeyProblem(key: string): string | undefined {
  if (key === '' || key.includes('=') || key.includes('\0')) return `expected an environment variable name, not empty and without "=" or NUL bytes, got ${shown(key)}`;
  return undefined;
}
