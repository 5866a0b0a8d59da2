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

type Frame = 'bracket' | 'template' | 'string' | 'heredoc';

/** The first place where `text` nests deeper than `limit`, or undefined when it never does. */
export function findTooDeep(text: string, format: JobFormat, limit = MAX_NESTING): TooDeep | undefined {
  const hcl = format === 'hcl';
  const toml = format === 'toml';
  const stack: Frame[] = [];
  const markers: string[] = []; // heredoc end markers, innermost last
  let depth = 0;
  const n = text.length;
  let i = 0;
  const open = (frame: 'bracket' | 'template', at: number): TooDeep | undefined => {
    stack.push(frame);
    if (++depth > limit) return { ...position(text, at), limit };
    return undefined;
  };
  while (i < n) {
    const top = stack[stack.length - 1];
    const c = text[i];
    if (top === 'string') {
      if (c === '\\') i += 2;
      else if (c === '"' || c === '\n') {
        stack.pop();
        i++;
      } else if (hcl && (c === '$' || c === '%') && text[i + 1] === '{') {
        if (text[i - 1] === c) i += 2; // $${ and %%{ are literal
        else {
          const deep = open('template', i);
          if (deep) return deep;
          i += 2;
        }
      } else i++;
      continue;
    }
    if (top === 'heredoc') {
      // At a line start: the end marker closes it; otherwise scan the line for templates.
      const eol = text.indexOf('\n', i);
      const end = eol < 0 ? n : eol;
      if ((i === 0 || text[i - 1] === '\n') && text.slice(i, end).trim() === markers[markers.length - 1]) {
        stack.pop();
        markers.pop();
        i = end;
        continue;
      }
      let j = i;
      for (; j < end; j++) {
        const d = text[j];
        if ((d === '$' || d === '%') && text[j + 1] === '{' && text[j - 1] !== d) break;
      }
      if (j < end) {
        const deep = open('template', j);
        if (deep) return deep;
        i = j + 2;
      } else i = end + 1;
      continue;
    }
    // Code: the top level, inside brackets, or inside a template.
    if (c === '"') {
      if (toml && text.startsWith('"""', i)) i = skipPast(text, i + 3, '"""');
      else {
        stack.push('string');
        i++;
      }
    } else if (toml && c === "'") {
      i = text.startsWith("'''", i) ? skipPast(text, i + 3, "'''") : skipLiteral(text, i + 1);
    } else if ((hcl || toml) && c === '#') i = lineEnd(text, i);
    else if (hcl && c === '/' && text[i + 1] === '/') i = lineEnd(text, i);
    else if (hcl && c === '/' && text[i + 1] === '*') i = skipPast(text, i + 2, '*/');
    else if (hcl && c === '<' && text[i + 1] === '<') {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 260));
      if (m) {
        stack.push('heredoc');
        markers.push(m[1]);
        i += m[0].length;
      } else i += 2;
    } else if (c === '{' || c === '[' || (hcl && c === '(')) {
      const deep = open('bracket', i);
      if (deep) return deep;
      i++;
    } else if (c === '}' || c === ']' || (hcl && c === ')')) {
      if (top === 'bracket' || top === 'template') {
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
