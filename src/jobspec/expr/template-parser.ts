/**
 * Scans HCL2 templates: literal text, `${…}` interpolations and `%{if}` /
 * `%{for}` directives, with `~` strip markers and `$${` / `%%{` escapes.
 * Three flavours: the top-level string (hcl2json has already decoded its
 * escapes), a quoted string inside an expression (backslash escapes decoded
 * here) and a heredoc (no backslash escapes; `<<-` removes common indent).
 */
import { ExprError } from './index.js';
import type { Parser } from './parser.js';
import type { IfPart, ForPart, InterpPart, Node, TemplateNode, TemplatePart } from './ast.js';

export type TemplateMode = { end: 'eof' } | { end: 'quote' } | { end: 'heredoc'; opener: string };

type Item =
  | { t: 'lit'; s: string }
  | { t: 'interp'; part: InterpPart; sl: boolean; sr: boolean }
  | { t: 'if'; start: number; cond: Node; sl: boolean; sr: boolean }
  | { t: 'for'; start: number; keyVar?: string; valueVar: string; collection: Node; sl: boolean; sr: boolean }
  | { t: 'else' | 'endif' | 'endfor'; start: number; end: number; sl: boolean; sr: boolean };

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

interface Region {
  from: number;
  to: number;
  /** Where the parser continues after the template. */
  resume: number;
  /** Leading whitespace removed from each line (`<<-`). */
  indent: number;
}

function heredocRegion(src: string, from: number, opener: string): Region {
  const marker = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)/.exec(opener)![1];
  let lineStart = from;
  let indent = Infinity;
  while (lineStart <= src.length) {
    const nl = src.indexOf('\n', lineStart);
    const lineEnd = nl < 0 ? src.length : nl;
    const line = src.slice(lineStart, lineEnd);
    if (line.trim() === marker) {
      const flush = opener.startsWith('<<-');
      return { from, to: lineStart, resume: lineEnd, indent: flush && Number.isFinite(indent) ? indent : 0 };
    }
    if (line.trim() !== '') indent = Math.min(indent, /^[ \t]*/.exec(line)![0].length);
    if (nl < 0) break;
    lineStart = nl + 1;
  }
  throw new ExprError(`expected heredoc end marker "${marker}", got end of text`, from - opener.length);
}

/** Scan one template starting at `start` (the opening quote or heredoc, or 0 for the top level). */
export function scanTemplate(parser: Parser, start: number, mode: TemplateMode): TemplateNode {
  const src = parser.src;
  const quoted = mode.end === 'quote';
  const region: Region =
    mode.end === 'heredoc'
      ? heredocRegion(src, start + mode.opener.length, mode.opener)
      : { from: quoted ? start + 1 : start, to: src.length, resume: -1, indent: 0 };

  const items: Item[] = [];
  let lit = '';
  let pos = region.from;
  let closed = !quoted;
  const flush = (): void => {
    if (lit !== '') items.push({ t: 'lit', s: lit });
    lit = '';
  };

  while (pos < region.to) {
    if (region.indent > 0 && (pos === region.from || src[pos - 1] === '\n')) {
      let n = 0;
      while (n < region.indent && (src[pos] === ' ' || src[pos] === '\t')) {
        pos++;
        n++;
      }
      if (pos >= region.to) break;
    }
    const c = src[pos];
    if (quoted && c === '"') {
      pos++;
      closed = true;
      break;
    }
    if ((c === '$' || c === '%') && src[pos + 1] === c && src[pos + 2] === '{') {
      lit += c + '{';
      pos += 3;
    } else if (c === '$' && src[pos + 1] === '{') {
      flush();
      pos = scanInterp(parser, pos, items);
    } else if (c === '%' && src[pos + 1] === '{') {
      flush();
      pos = scanDirective(parser, pos, items);
    } else if (quoted && c === '\\') {
      const [text, len] = decodeEscape(src, pos);
      lit += text;
      pos += len;
    } else if (quoted && c === '\n') {
      throw new ExprError('expected a closing quote, got a newline', pos);
    } else {
      lit += c;
      pos++;
    }
  }
  if (!closed) throw new ExprError('expected a closing quote, got end of text', start);
  flush();
  parser.pos = mode.end === 'heredoc' ? region.resume : pos;
  applyStripMarkers(items);
  const { parts, index } = build(items, 0);
  if (index < items.length) {
    const stray = items[index] as { t: string; start: number };
    throw new ExprError(`expected text or a directive, got "%{${stray.t}}" without its opening directive`, stray.start);
  }
  return { kind: 'template', pos: start, parts };
}

function decodeEscape(src: string, pos: number): [string, number] {
  const e = src[pos + 1];
  if (e !== undefined && e in ESCAPES) return [ESCAPES[e], 2];
  const hexLen = e === 'u' ? 4 : e === 'U' ? 8 : 0;
  const hex = src.slice(pos + 2, pos + 2 + hexLen);
  if (hexLen > 0 && hex.length === hexLen && /^[0-9A-Fa-f]+$/.test(hex)) {
    const cp = parseInt(hex, 16);
    if (cp <= 0x10ffff) return [String.fromCodePoint(cp), 2 + hexLen];
  }
  throw new ExprError(`expected an escape like \\n, \\" or \\u00e9, got "\\${e ?? ''}"`, pos);
}

/** After `${` or `%{`: an optional `~`; returns [offset after it, strip?]. */
function openMarker(src: string, pos: number): [number, boolean] {
  return src[pos + 2] === '~' ? [pos + 3, true] : [pos + 2, false];
}

/** Expect `}` or `~}` to close an interpolation or directive; returns [offset after it, strip?]. */
function closeMarker(parser: Parser): [number, boolean] {
  let strip = false;
  if (parser.isPunct('~')) {
    parser.next();
    strip = true;
  }
  parser.expectPunct('}');
  return [parser.pos, strip];
}

function scanInterp(parser: Parser, start: number, items: Item[]): number {
  const [from, sl] = openMarker(parser.src, start);
  parser.pos = from;
  const expr = parser.withNewlines(false, () => parser.parseExpr());
  const exprEnd = parser.pos;
  const [end, sr] = closeMarker(parser);
  const text = parser.src.slice(from, exprEnd).trim();
  items.push({ t: 'interp', part: { kind: 'interp', start, end, text, expr }, sl, sr });
  return end;
}

function scanDirective(parser: Parser, start: number, items: Item[]): number {
  const [from, sl] = openMarker(parser.src, start);
  parser.pos = from;
  return parser.withNewlines(false, () => {
    const word = parser.expectIdent('"if", "else", "endif", "for" or "endfor"');
    switch (word.text) {
      case 'if': {
        const cond = parser.parseExpr();
        const [end, sr] = closeMarker(parser);
        items.push({ t: 'if', start, cond, sl, sr });
        return end;
      }
      case 'for': {
        let valueVar = parser.expectIdent('a variable name').text;
        let keyVar: string | undefined;
        if (parser.isPunct(',')) {
          parser.next();
          keyVar = valueVar;
          valueVar = parser.expectIdent('a variable name').text;
        }
        const kw = parser.expectIdent('"in"');
        if (kw.text !== 'in') throw new ExprError(`expected "in", got ${JSON.stringify(kw.text)}`, kw.start);
        const collection = parser.parseExpr();
        const [end, sr] = closeMarker(parser);
        items.push({ t: 'for', start, keyVar, valueVar, collection, sl, sr });
        return end;
      }
      case 'else':
      case 'endif':
      case 'endfor': {
        const [end, sr] = closeMarker(parser);
        items.push({ t: word.text, start, end, sl, sr });
        return end;
      }
      default:
        throw new ExprError(`expected "if", "else", "endif", "for" or "endfor", got ${JSON.stringify(word.text)}`, word.start);
    }
  });
}

function applyStripMarkers(items: Item[]): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item.t === 'lit') continue;
    const prev = items[i - 1];
    const next = items[i + 1];
    if (item.sl && prev?.t === 'lit') prev.s = prev.s.replace(/[ \t\r\n]+$/, '');
    if (item.sr && next?.t === 'lit') next.s = next.s.replace(/^[ \t\r\n]+/, '');
  }
}

/** Turn the flat item list into nested parts; stops at else/endif/endfor (returned as `index`). */
function build(items: Item[], index: number): { parts: TemplatePart[]; index: number } {
  const parts: TemplatePart[] = [];
  while (index < items.length) {
    const item = items[index];
    switch (item.t) {
      case 'lit':
        if (item.s !== '') {
          if (typeof parts[parts.length - 1] === 'string') parts[parts.length - 1] += item.s;
          else parts.push(item.s);
        }
        index++;
        break;
      case 'interp':
        parts.push(item.part);
        index++;
        break;
      case 'if': {
        const then = build(items, index + 1);
        let elseParts: TemplatePart[] = [];
        let at = then.index;
        if (items[at]?.t === 'else') {
          const other = build(items, at + 1);
          elseParts = other.parts;
          at = other.index;
        }
        const close = items[at];
        if (close?.t !== 'endif') throw new ExprError('expected "%{endif}" to close "%{if}", got ' + describeItem(close), item.start);
        const part: IfPart = { kind: 'if', start: item.start, end: close.end, cond: item.cond, then: then.parts, else: elseParts };
        parts.push(part);
        index = at + 1;
        break;
      }
      case 'for': {
        const body = build(items, index + 1);
        const close = items[body.index];
        if (close?.t !== 'endfor') throw new ExprError('expected "%{endfor}" to close "%{for}", got ' + describeItem(close), item.start);
        const part: ForPart = {
          kind: 'for',
          start: item.start,
          end: close.end,
          keyVar: item.keyVar,
          valueVar: item.valueVar,
          collection: item.collection,
          body: body.parts,
        };
        parts.push(part);
        index = body.index + 1;
        break;
      }
      default:
        return { parts, index };
    }
  }
  return { parts, index };
}

function describeItem(item: Item | undefined): string {
  return item === undefined ? 'end of text' : `"%{${item.t}}"`;
}
