// Placeholder; the loader work owns this file.
import type { Diagnostic } from './model.js';

/** `file:line:col: error: message` then indented `at <path>` and `hint: …` lines. */
export function formatDiagnostic(_d: Diagnostic): string {
  throw new Error('not implemented');
}
