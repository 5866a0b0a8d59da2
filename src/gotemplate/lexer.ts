/**
 * The lexer of Go's text/template: text and actions, trim markers (`{{- `,
 * ` -}}`), comments, and the tokens inside an action. The whole input is
 * lexed at once into an array (templates are parsed once per job version).
 */

export type TokenType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'leftParen'
  | 'rightParen'
  | 'pipe'
  | 'declare'
  | 'assign'
  | 'char' // a single ASCII character the parser may want (`,`) or reject
  | 'charConstant'
  | 'string'
  | 'rawString'
  | 'number'
  | 'bool'
  | 'nil'
  | 'dot'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'eof'
  | 'error';

export interface Token {
  type: TokenType;
  /** The token's text (for 'error', the message). */
  val: string;
  /** Offset in the input. */
  pos: number;
}

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isAlphaNumeric(c: number): boolean {
  return (
    c === 0x5f ||
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c > 0x7f && /[\p{L}\p{Nd}]/u.test(String.fromCharCode(c)))
  );
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${ch}'`;
}

/** Lexes `input` into tokens; the last token is 'eof' or 'error'. */
export function lex(input: string, leftDelim: string, rightDelim: string): Token[] {
  const out: Token[] = [];
  const n = input.length;
  let pos = 0;
  let parenDepth = 0;

  const emit = (type: TokenType, start: number, end: number) => out.push({ type, val: input.slice(start, end), pos: start });
  const fail = (msg: string, at: number) => {
    out.push({ type: 'error', val: msg, pos: at });
    return out;
  };
  const atRightDelim = (p: number): { trim: boolean; len: number } | undefined => {
    if (p + 1 < n && isSpace(input.charCodeAt(p)) && input.charCodeAt(p + 1) === 0x2d && input.startsWith(rightDelim, p + 2)) {
      return { trim: true, len: 2 + rightDelim.length };
    }
    if (input.startsWith(rightDelim, p)) return { trim: false, len: rightDelim.length };
    return undefined;
  };
  const atTerminator = (p: number): boolean => {
    if (p >= n) return true;
    const c = input.charCodeAt(p);
    if (isSpace(c) || c === 0x2e || c === 0x2c || c === 0x7c || c === 0x3a || c === 0x29 || c === 0x28) return true;
    return input.startsWith(rightDelim, p);
  };

  for (;;) {
    // Text up to the next action.
    const start = pos;
    const at = input.indexOf(leftDelim, pos);
    if (at < 0) {
      if (pos < n) emit('text', pos, n);
      out.push({ type: 'eof', val: '', pos: n });
      return out;
    }
    const afterDelim = at + leftDelim.length;
    const trimLeft = input.charCodeAt(afterDelim) === 0x2d && isSpace(input.charCodeAt(afterDelim + 1));
    let textEnd = at;
    if (trimLeft) while (textEnd > start && isSpace(input.charCodeAt(textEnd - 1))) textEnd--;
    if (textEnd > start) emit('text', start, textEnd);
    pos = afterDelim + (trimLeft ? 2 : 0);

    // A comment: {{/* ... */}}, only right after the delimiter (and trim marker).
    if (input.startsWith('/*', pos)) {
      const close = input.indexOf('*/', pos + 2);
      if (close < 0) return fail('unclosed comment', at);
      const rd = atRightDelim(close + 2);
      if (!rd) return fail('comment ends before closing delimiter', at);
      pos = close + 2 + rd.len;
      if (rd.trim) while (pos < n && isSpace(input.charCodeAt(pos))) pos++;
      continue;
    }
    emit('leftDelim', at, afterDelim);

    // Inside the action.
    for (;;) {
      const rd = atRightDelim(pos);
      if (rd && parenDepth === 0) {
        out.push({ type: 'rightDelim', val: rightDelim, pos });
        pos += rd.len;
        if (rd.trim) while (pos < n && isSpace(input.charCodeAt(pos))) pos++;
        break;
      }
      if (rd) return fail('unclosed left paren', pos);
      if (pos >= n) return fail('unclosed action', pos);
      const c = input.charCodeAt(pos);
      const s = pos;
      if (isSpace(c)) {
        // Spaces, leaving the one that starts a ` -}}` trim marker.
        while (pos < n && isSpace(input.charCodeAt(pos)) && !atRightDelim(pos)?.trim) pos++;
        if (pos === s) pos++;
        emit('space', s, pos);
      } else if (c === 0x3d) {
        pos++;
        emit('assign', s, pos);
      } else if (c === 0x3a) {
        if (input.charCodeAt(pos + 1) !== 0x3d) return fail('expected :=', pos);
        pos += 2;
        emit('declare', s, pos);
      } else if (c === 0x7c) {
        pos++;
        emit('pipe', s, pos);
      } else if (c === 0x22) {
        pos++;
        for (;;) {
          if (pos >= n || input.charCodeAt(pos) === 0x0a) return fail('unterminated quoted string', s);
          const d = input.charCodeAt(pos++);
          if (d === 0x5c) {
            if (pos >= n || input.charCodeAt(pos) === 0x0a) return fail('unterminated quoted string', s);
            pos++;
          } else if (d === 0x22) break;
        }
        emit('string', s, pos);
      } else if (c === 0x60) {
        const close = input.indexOf('`', pos + 1);
        if (close < 0) return fail('unterminated raw quoted string', s);
        pos = close + 1;
        emit('rawString', s, pos);
      } else if (c === 0x27) {
        pos++;
        for (;;) {
          if (pos >= n || input.charCodeAt(pos) === 0x0a) return fail('unterminated character constant', s);
          const d = input.charCodeAt(pos++);
          if (d === 0x5c) pos++;
          else if (d === 0x27) break;
        }
        emit('charConstant', s, pos);
      } else if (c === 0x24 || (c === 0x2e && !(input.charCodeAt(pos + 1) >= 0x30 && input.charCodeAt(pos + 1) <= 0x39))) {
        // $var, $, .Field, .
        pos++;
        if (atTerminator(pos)) {
          emit(c === 0x24 ? 'variable' : 'dot', s, pos);
        } else {
          while (pos < n && isAlphaNumeric(input.charCodeAt(pos))) pos++;
          if (!atTerminator(pos)) return fail(`bad character ${describeChar(String.fromCodePoint(input.codePointAt(pos)!))}`, pos);
          emit(c === 0x24 ? 'variable' : 'field', s, pos);
        }
      } else if (c === 0x2e || c === 0x2b || c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        pos = scanNumber(input, pos);
        if (pos < n && isAlphaNumeric(input.charCodeAt(pos))) {
          while (pos < n && isAlphaNumeric(input.charCodeAt(pos))) pos++;
          return fail(`bad number syntax: "${input.slice(s, pos)}"`, s);
        }
        emit('number', s, pos);
      } else if (isAlphaNumeric(c)) {
        while (pos < n && isAlphaNumeric(input.charCodeAt(pos))) pos++;
        if (!atTerminator(pos)) return fail(`bad character ${describeChar(String.fromCodePoint(input.codePointAt(pos)!))}`, pos);
        const word = input.slice(s, pos);
        if (KEYWORDS.has(word)) emit('keyword', s, pos);
        else if (word === 'true' || word === 'false') emit('bool', s, pos);
        else if (word === 'nil') emit('nil', s, pos);
        else emit('identifier', s, pos);
      } else if (c === 0x28) {
        pos++;
        parenDepth++;
        emit('leftParen', s, pos);
      } else if (c === 0x29) {
        pos++;
        parenDepth--;
        if (parenDepth < 0) return fail('unexpected right paren', s);
        emit('rightParen', s, pos);
      } else if (c < 0x7f && c > 0x20) {
        pos++;
        emit('char', s, pos);
      } else {
        return fail(`unrecognized character in action: ${describeChar(String.fromCodePoint(input.codePointAt(pos)!))}`, pos);
      }
    }
  }
}

/** Scans a Go number literal (sign, 0x/0o/0b, `_`, fraction, exponent, `i`); returns the end. */
function scanNumber(s: string, pos: number): number {
  const accept = (chars: string) => {
    if (pos < s.length && chars.includes(s[pos])) {
      pos++;
      return true;
    }
    return false;
  };
  const run = (chars: string) => {
    while (pos < s.length && chars.includes(s[pos])) pos++;
  };
  accept('+-');
  let digits = '0123456789_';
  if (accept('0')) {
    if (accept('xX')) digits = '0123456789abcdefABCDEF_';
    else if (accept('oO')) digits = '01234567_';
    else if (accept('bB')) digits = '01_';
  }
  run(digits);
  if (accept('.')) run(digits);
  if (digits.length === 11 && accept('eE')) {
    accept('+-');
    run('0123456789_');
  }
  if (digits.length === 23 && accept('pP')) {
    accept('+-');
    run('0123456789_');
  }
  accept('i');
  return pos;
}
