/**
 * A cheap nesting-depth check run before any parser sees a file: the HCL
 * parser (Go in WebAssembly) overflows its stack somewhere past 1,000 levels
 * and the loader's own walks recurse too, while a real job file nests a
 * dozen levels at most. Counted: `{`, `[`, `(` outside strings and comments,
 * and `${`/`%{` inside strings and heredocs (a template holds an expression).
 * One pass, no recursion, no allocation per character.
 */
import type { JobFormat } from './files.js';

/** Deepest nesting a job file may have. */
export const MAX_NESTING = 64;

export interface TooDeep {
  /** 1-based position of the opening that went past the limit. */
  line: number;
  column: number;
  limit: number;
}

const BRACKET = 0;
const TEMPLATE = 1;
const STRING = 2;
const HEREDOC = 3;

// Character codes the scanner stops at; everything else is skipped in a tight loop.
const Q = 34; // "
const APOS = 39; // '
const HASH = 35;
const SLASH = 47;
const STAR = 42;
const LT = 60;
const BSLASH = 92;
const NL = 10;
const DOLLAR = 36;
const PERCENT = 37;
const LBRACE = 123;
const RBRACE = 125;
const LBRACK = 91;
const RBRACK = 93;
const LPAREN = 40;
const RPAREN = 41;
const CODE_STOPS = new Uint8Array(128);
for (const c of [Q, APOS, HASH, SLASH, LT, LBRACE, RBRACE, LBRACK, RBRACK, LPAREN, RPAREN]) CODE_STOPS[c] = 1;
const STRING_STOPS = new Uint8Array(128);
for (const c of [BSLASH, Q, NL, DOLLAR, PERCENT]) STRING_STOPS[c] = 1;

/** The first place where `text` nests deeper than `limit`, or undefined when it never does. */
export function findTooDeep(text: string, format: JobFormat, limit = MAX_NESTING): TooDeep | undefined {
  const hcl = format === 'hcl';
  const toml = format === 'toml';
  const stack: number[] = [];
  const markers: string[] = []; // heredoc end markers, innermost last
  let depth = 0;
  const n = text.length;
  let i = 0;
  const open = (frame: number, at: number): TooDeep | undefined => {
    stack.push(frame);
    if (++depth > limit) return { ...position(text, at), limit };
    return undefined;
  };
  while (i < n) {
    const top = stack.length ? stack[stack.length - 1] : BRACKET;
    if (top === STRING) {
      let c = text.charCodeAt(i);
      while (c < 128 && !STRING_STOPS[c] && ++i < n) c = text.charCodeAt(i);
      if (i >= n) break;
      if (c === BSLASH) i += 2;
      else if (c === Q || c === NL) {
        stack.pop();
        i++;
      } else if (hcl && (c === DOLLAR || c === PERCENT) && text.charCodeAt(i + 1) === LBRACE) {
        if (text.charCodeAt(i - 1) === c) i += 2; // $${ and %%{ are literal
        else {
          const deep = open(TEMPLATE, i);
          if (deep) return deep;
          i += 2;
        }
      } else i++;
      continue;
    }
    if (top === HEREDOC) {
      // At a line start: the end marker closes it; otherwise scan the line for templates.
      const eol = text.indexOf('\n', i);
      const end = eol < 0 ? n : eol;
      if ((i === 0 || text.charCodeAt(i - 1) === NL) && text.slice(i, end).trim() === markers[markers.length - 1]) {
        stack.pop();
        markers.pop();
        i = end;
        continue;
      }
      let j = i;
      for (; j < end; j++) {
        const d = text.charCodeAt(j);
        if ((d === DOLLAR || d === PERCENT) && text.charCodeAt(j + 1) === LBRACE && text.charCodeAt(j - 1) !== d) break;
      }
      if (j < end) {
        const deep = open(TEMPLATE, j);
        if (deep) return deep;
        i = j + 2;
      } else i = end + 1;
      continue;
    }
    // Code: the top level, inside brackets, or inside a template.
    let c = text.charCodeAt(i);
    while ((c >= 128 || !CODE_STOPS[c]) && ++i < n) c = text.charCodeAt(i);
    if (i >= n) break;
    if (c === Q) {
      if (toml && text.startsWith('"""', i)) i = skipPast(text, i + 3, '"""');
      else {
        stack.push(STRING);
        i++;
      }
    } else if (c === APOS) {
      if (toml) i = text.startsWith("'''", i) ? skipPast(text, i + 3, "'''") : skipLiteral(text, i + 1);
      else i++;
    } else if (c === HASH) i = hcl || toml ? lineEnd(text, i) : i + 1;
    else if (hcl && c === SLASH && text.charCodeAt(i + 1) === SLASH) i = lineEnd(text, i);
    else if (hcl && c === SLASH && text.charCodeAt(i + 1) === STAR) i = skipPast(text, i + 2, '*/');
    else if (hcl && c === LT && text.charCodeAt(i + 1) === LT) {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 260));
      if (m) {
        stack.push(HEREDOC);
        markers.push(m[1]);
        i += m[0].length;
      } else i += 2;
    } else if (c === LBRACE || c === LBRACK || (hcl && c === LPAREN)) {
      const deep = open(BRACKET, i);
      if (deep) return deep;
      i++;
    } else if (c === RBRACE || c === RBRACK || (hcl && c === RPAREN)) {
      if (stack.length && (top === BRACKET || top === TEMPLATE)) {
        stack.pop();
        depth--;
      }
      i++;
    } else i++;
  }
  return undefined;
}

function lineEnd(text: string, i: number): number {
  const eol = text.indexOf('\n', i);
  return eol < 0 ? text.length : eol;
}

function skipPast(text: string, i: number, close: string): number {
  const at = text.indexOf(close, i);
  return at < 0 ? text.length : at + close.length;
}

/** A TOML literal string ('…'): no escapes, ends at the quote or the line end. */
function skipLiteral(text: string, i: number): number {
  while (i < text.length && text[i] !== "'" && text[i] !== '\n') i++;
  return i + 1;
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = text.indexOf('\n'); k >= 0 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    start = k + 1;
  }
  return { line, column: offset - start + 1 };
}
