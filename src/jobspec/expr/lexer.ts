/**
 * On-demand tokenizer for HCL2 native expressions. The parser asks for the
 * token at its current offset; string and heredoc bodies are not tokenized
 * here (the parser scans them as templates from the opening quote).
 */
import { ExprError } from './index.js';

export type TokenKind = 'ident' | 'number' | 'quote' | 'heredoc' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier name, punctuation, or the number's source text. */
  text: string;
  start: number;
  end: number;
  /** A newline (or a comment ending in one) came between the previous token and this one. */
  nlBefore: boolean;
}

const PUNCT3 = ['...'];
const PUNCT2 = ['==', '!=', '<=', '>=', '&&', '||', '=>'];
const PUNCT1 = '{}[]().,:?=!-+*/%<>~';

const IDENT_START = /[\p{L}\p{Nl}_]/u;
const IDENT_CONT = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}_-]/u;

export function isIdentStart(ch: string): boolean {
  return ch.length > 0 && (ch.charCodeAt(0) < 128 ? /[A-Za-z_]/.test(ch) : IDENT_START.test(ch));
}

function isIdentCont(ch: string): boolean {
  return ch.length > 0 && (ch.charCodeAt(0) < 128 ? /[A-Za-z0-9_-]/.test(ch) : IDENT_CONT.test(ch));
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Skip spaces, newlines and comments from `pos`; returns the new offset and whether a newline was crossed. */
export function skipSpace(src: string, pos: number): { pos: number; nl: boolean } {
  let nl = false;
  for (;;) {
    const c = src.charCodeAt(pos);
    if (c === 32 || c === 9 || c === 13) {
      pos++;
    } else if (c === 10) {
      nl = true;
      pos++;
    } else if (c === 35 /* # */ || (c === 47 /* / */ && src.charCodeAt(pos + 1) === 47)) {
      const eol = src.indexOf('\n', pos);
      if (eol < 0) return { pos: src.length, nl };
      nl = true;
      pos = eol + 1;
    } else if (c === 47 && src.charCodeAt(pos + 1) === 42 /* * */) {
      const close = src.indexOf('*/', pos + 2);
      if (close < 0) throw new ExprError('expected "*/" to close the comment, got end of text', pos);
      if (src.slice(pos, close).includes('\n')) nl = true;
      pos = close + 2;
    } else {
      return { pos, nl };
    }
  }
}

/** The token that starts at or after `pos` (after spaces and comments). */
export function lex(src: string, from: number): Token {
  const { pos, nl } = skipSpace(src, from);
  const tok = (kind: TokenKind, end: number): Token => ({ kind, text: src.slice(pos, end), start: pos, end, nlBefore: nl });
  if (pos >= src.length) return tok('eof', pos);
  const c = src.charCodeAt(pos);
  if (isDigit(c)) {
    let end = pos;
    while (isDigit(src.charCodeAt(end))) end++;
    if (src[end] === '.' && isDigit(src.charCodeAt(end + 1))) {
      end++;
      while (isDigit(src.charCodeAt(end))) end++;
    }
    if (src[end] === 'e' || src[end] === 'E') {
      let e = end + 1;
      if (src[e] === '+' || src[e] === '-') e++;
      if (isDigit(src.charCodeAt(e))) {
        while (isDigit(src.charCodeAt(e))) e++;
        end = e;
      }
    }
    return tok('number', end);
  }
  const ch = String.fromCodePoint(src.codePointAt(pos)!);
  if (isIdentStart(ch)) {
    let end = pos + ch.length;
    for (;;) {
      const next = src.codePointAt(end);
      if (next === undefined) break;
      const s = String.fromCodePoint(next);
      if (!isIdentCont(s)) break;
      end += s.length;
    }
    return tok('ident', end);
  }
  if (c === 34 /* " */) return tok('quote', pos + 1);
  if (src.startsWith('<<', pos)) {
    const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)\r?\n/.exec(src.slice(pos, pos + 200));
    if (m) return tok('heredoc', pos + m[0].length);
  }
  for (const p of PUNCT3) if (src.startsWith(p, pos)) return tok('punct', pos + 3);
  for (const p of PUNCT2) if (src.startsWith(p, pos)) return tok('punct', pos + 2);
  if (PUNCT1.includes(ch)) return tok('punct', pos + 1);
  throw new ExprError(`expected an expression, got ${JSON.stringify(ch)}`, pos);
}
