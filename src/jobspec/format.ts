/**
 * Human output of diagnostics, as compilers print them:
 *
 *   jobs/web.hcl:12:7: error: unknown field "memroy"
 *     at job "web" › group "g" › task "t" › resources.memroy
 *     hint: did you mean "memory"?
 */
import type { Diagnostic } from './model.js';

export interface FormatOptions {
  /** ANSI colours (only on a TTY). */
  color?: boolean;
}

const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

/** `file:line:col: error: message` then indented `at <path>` and `hint: …` lines. */
export function formatDiagnostic(d: Diagnostic, opts: FormatOptions = {}): string {
  const paint = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column > 0 ? d.column : 1}` : d.file;
  const sev = d.severity === 'error' ? paint(RED + BOLD, 'error') : paint(YELLOW + BOLD, 'warning');
  const lines = [`${paint(BOLD, where)}: ${sev}: ${d.message}`];
  if (d.path) lines.push(paint(DIM, `  at ${d.path}`));
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join('\n');
}

/** `file: note: text`: something set apart, neither an error nor a warning (a file that is not a job file). */
export function formatNote(file: string, text: string, opts: FormatOptions = {}): string {
  return `${opts.color ? `${BOLD}${file}${RESET}` : file}: ${opts.color ? `${DIM}note${RESET}` : 'note'}: ${text}`;
}

/**
 * "3 files: 2 valid, 1 invalid (2 errors, 1 warning)", then what was counted
 * apart: "; 1 other file skipped (not a job file)" and, under -strict,
 * "; -strict: 2 unsupported fields counted as errors".
 */
export function formatSummary(files: number, invalid: number, errors: number, warnings: number, apart: { skipped?: number; strict?: number } = {}): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  let out = `${plural(files, 'file')}: ${files - invalid} valid, ${invalid} invalid (${plural(errors, 'error')}, ${plural(warnings, 'warning')})`;
  if (apart.skipped) out += `; ${plural(apart.skipped, 'other file')} skipped (not ${apart.skipped === 1 ? 'a job file' : 'job files'})`;
  if (apart.strict !== undefined) out += `; -strict: ${plural(apart.strict, 'unsupported field')} counted as ${apart.strict === 1 ? 'an error' : 'errors'}`;
  return out;
}
