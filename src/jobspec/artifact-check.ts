/**
 * Load-time checks of an `artifact` block: a source tend cannot fetch (S3,
 * GCS, Mercurial, …) is an `unsupported` error naming its type; a malformed
 * checksum, archive, ref or depth option and a destination that leaves the
 * task's dirs (absolute, `..`) are schema errors. Parts that hold runtime
 * references (`${NOMAD_META_version}`) are checked as far as they can be:
 * the getter type still is, the rest at fetch time.
 */
import { parseDestination, parseSource, SourceProblem } from '../artifacts/source.js';
import type { Body } from './check.js';
import type { Reporter } from './diagnostics.js';
import type { Artifact } from './model.js';

const REF = /\$\{[^}]*\}/g;

export function checkArtifact(r: Reporter, b: Body, a: Artifact): void {
  if (!a.source) return;
  const options = b.blocks.options?.[0];
  const interpolated = a.source.includes('${');
  const known = Object.fromEntries(Object.entries(a.options).filter(([, v]) => !v.includes('${')));
  try {
    parseSource(interpolated ? a.source.replace(REF, 'x') : a.source, known);
  } catch (err) {
    if (!(err instanceof SourceProblem)) throw err;
    if (err.kind === 'unsupported' || !interpolated) {
      const inOption = err.option !== undefined && options?.attrs[err.option] !== undefined;
      r.error(err.kind === 'unsupported' ? 'unsupported' : 'schema', inOption ? options!.steps : b.steps, inOption ? err.option : 'source', err.message);
    }
  }
  const dest = a.destination;
  const rest = dest.replace(/^\$\{NOMAD_(TASK|SECRETS|ALLOC)_DIR\}/, '');
  if (rest.includes('${')) return; // resolved and checked at fetch time
  try {
    parseDestination(dest, { allowAbsolute: false });
  } catch (err) {
    if (!(err instanceof SourceProblem)) throw err;
    r.error('schema', b.steps, 'destination', err.message);
  }
}
