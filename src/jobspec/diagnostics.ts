/**
 * Collects the diagnostics of one file. Each gets the field path as text
 * (`job "web" › group "g" › task "t" › resources.memory`) and the best line
 * and column the source locator finds for it.
 */
import type { Diagnostic, DiagnosticKind, Severity } from './model.js';
import type { PathStep, SourceLocator } from './locate.js';

const SHOWN_MAX = 48;
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/**
 * A value quoted for a message or a path, safe to print on a terminal:
 * control, format (bidi) and line-separator characters and lone surrogates
 * as `\u{…}` escapes, and past 48 characters cut with "…".
 */
export function shown(value: string): string {
  const chars = [...value];
  const cut = chars.length > SHOWN_MAX ? `${chars.slice(0, SHOWN_MAX).join('')}…` : value;
  const safe = cut.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}"\\]/gu, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\u{${c.codePointAt(0)!.toString(16).padStart(4, '0')}}`));
  return `"${safe}"`;
}

/** Field path text: labeled blocks start a `›` segment, unlabeled blocks and attributes join with `.`. */
export function pathText(steps: PathStep[], attr?: string): string {
  let out = '';
  let lastLabeled = true;
  for (const s of steps) {
    const labels = s.labels ?? [];
    const name = labels.length ? `${s.type} ${labels.map(shown).join(' ')}` : `${s.type}${s.index ? `[${s.index}]` : ''}`;
    if (!out) out = name;
    else if (labels.length || lastLabeled) out += ` › ${name}`;
    else out += `.${name}`;
    lastLabeled = labels.length > 0;
  }
  if (attr !== undefined) {
    if (UNSAFE.test(attr)) attr = shown(attr); // a map key (env, meta) can hold anything
    if (!out) out = attr;
    else out += lastLabeled ? ` › ${attr}` : `.${attr}`;
  }
  return out;
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  readonly #file: string;
  readonly #locator: SourceLocator | undefined;

  constructor(file: string, locator?: SourceLocator) {
    this.#file = file;
    this.#locator = locator;
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  report(severity: Severity, kind: DiagnosticKind, steps: PathStep[], attr: string | undefined, message: string, hint?: string): void {
    const pos = this.#locator?.locate(steps, attr);
    this.diagnostics.push({
      severity,
      kind,
      file: this.#file,
      line: pos?.line ?? 0,
      column: pos?.column ?? 0,
      path: pathText(steps, attr),
      message,
      ...(hint ? { hint } : {}),
    });
  }

  error(kind: DiagnosticKind, steps: PathStep[], attr: string | undefined, message: string, hint?: string): void {
    this.report('error', kind, steps, attr, message, hint);
  }

  /** An error about the last label of the block at `steps` (a bad name), placed on that label. */
  labelError(steps: PathStep[], message: string, hint?: string): void {
    const pos = this.#locator?.locateLabel(steps);
    this.diagnostics.push({
      severity: 'error',
      kind: 'schema',
      file: this.#file,
      line: pos?.line ?? 0,
      column: pos?.column ?? 0,
      path: pathText(steps),
      message,
      ...(hint ? { hint } : {}),
    });
  }

  warn(kind: DiagnosticKind, steps: PathStep[], attr: string | undefined, message: string, hint?: string): void {
    this.report('warning', kind, steps, attr, message, hint);
  }

  /** A diagnostic with a known position (syntax errors). */
  at(d: Omit<Diagnostic, 'file'>): void {
    this.diagnostics.push({ ...d, file: this.#file });
  }
}
