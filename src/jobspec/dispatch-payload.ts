/**
 * `dispatch_payload { file }`: where a dispatched child's payload is written, relative to the
 * task's `local/` dir (Nomad: "The file is written relative to the task's local directory").
 * Checked at load (build.ts) and split into path segments by the hook that writes it
 * (src/reconcile/hooks/dispatch-payload.ts), so both read the name the same way.
 *
 * Nomad accepts any path that stays inside the allocation dir (`../x` lands in the task dir);
 * tend keeps it inside `local/`: the task dir and the allocation root are the agent's (0755/0711,
 * owned by root), and a task writes only its own dirs. So `..` anywhere, an absolute path, an empty
 * name or one ending in "/" (a dir, not a file) is an error at load.
 */

import { shown } from './diagnostics.js';

/** Longest path component the kernel takes (NAME_MAX). */
const NAME_MAX = 255;

/** The path's components below local/ (`a/./b` → ['a','b']), or what is wrong with it as "expected …, got …". */
export function payloadFileSegments(file: string): { segments: string[] } | { problem: string } {
  const expected = 'expected a relative file path inside the task\'s local/ dir (no "..", not absolute)';
  const got = shown(file);
  if (file.includes('\0')) return { problem: `${expected}, got ${got} (a NUL byte)` };
  if (file.startsWith('/')) return { problem: `${expected}, got ${got} (an absolute path)` };
  const segments = file.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { problem: `${expected}, got ${got} (".." leaves local/; tend writes the payload only under local/)` };
  if (!segments.length || file.endsWith('/')) return { problem: `${expected}, got ${got} (names a dir, not a file)` };
  const long = segments.find((s) => Buffer.byteLength(s, 'utf8') > NAME_MAX);
  if (long !== undefined) return { problem: `${expected}, got ${got} (a component longer than ${NAME_MAX} bytes)` };
  return { segments };
}

/** What is wrong with a `dispatch_payload.file`; undefined when it is fine. */
export function payloadFileProblem(file: string): string | undefined {
  const r = payloadFileSegments(file);
  return 'problem' in r ? r.problem : undefined;
}
