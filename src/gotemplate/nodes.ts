/**
 * The parse tree of a template, as Go's text/template/parse builds it, and
 * the conversion of literals (strings, numbers, characters) to values.
 * Every node keeps its source offsets for error positions.
 */
import { GoFloat } from './values.js';

interface Span {
  /** Offset of the node's first character in the template text. */
  pos: number;
  /** Offset just past it. */
  end: number;
}

export interface TextNode extends Span {
  type: 'text';
  text: string;
}

export interface ActionNode extends Span {
  type: 'action';
  pipe: PipeNode;
}

export interface PipeNode extends Span {
  type: 'pipe';
  /** `$x = …` assigns an existing variable; `$x := …` declares. */
  isAssign: boolean;
  decl: string[];
  cmds: CommandNode[];
}

export interface CommandNode extends Span {
  type: 'command';
  args: ArgNode[];
}

export interface FieldNode extends Span {
  type: 'field';
  /** `.a.b` → ['a', 'b']. */
  ident: string[];
}

export interface VariableNode extends Span {
  type: 'variable';
  /** `$x.a` → ['$x', 'a']. */
  ident: string[];
}

export interface ChainNode extends Span {
  type: 'chain';
  node: ArgNode;
  field: string[];
}

export interface IdentifierNode extends Span {
  type: 'identifier';
  name: string;
}

export interface LiteralNode extends Span {
  type: 'literal';
  /** 'string' | 'number' | 'bool' (kept for the pipeline-stage check). */
  lit: 'string' | 'number' | 'bool';
  value: unknown;
}

export interface DotNode extends Span {
  type: 'dot';
}

export interface NilNode extends Span {
  type: 'nil';
}

export type ArgNode = FieldNode | VariableNode | ChainNode | IdentifierNode | LiteralNode | DotNode | NilNode | PipeNode;

export interface BranchNode extends Span {
  type: 'if' | 'range' | 'with';
  pipe: PipeNode;
  list: Node[];
  elseList: Node[] | undefined;
}

export interface TemplateNode extends Span {
  type: 'template';
  name: string;
  pipe: PipeNode | undefined;
}

export interface LoopControlNode extends Span {
  type: 'break' | 'continue';
}

export type Node = TextNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;

/** Go's strconv.Unquote for "…", `…` and '…' literals; throws a message on bad syntax. */
export function unquote(lit: string): string {
  const q = lit[0];
  if (q === '`') return lit.slice(1, -1).replace(/\r/g, '');
  const body = lit.slice(1, -1);
  if (!body.includes('\\')) {
    if (q === "'" && [...body].length !== 1) throw new Error('invalid syntax');
    return body;
  }
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) out += Buffer.from(bytes).toString('utf8');
    bytes = [];
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      flush();
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"' };
    if (e in simple) {
      if ((e === "'" && q === '"') || (e === '"' && q === "'")) throw new Error('invalid syntax');
      flush();
      out += simple[e];
    } else if (e === 'x' || (e >= '0' && e <= '7')) {
      const hex = e === 'x';
      const digits = body.slice(hex ? i + 1 : i, hex ? i + 3 : i + 3);
      if (!(hex ? /^[0-9a-fA-F]{2}$/ : /^[0-7]{3}$/).test(digits)) throw new Error('invalid syntax');
      const v = parseInt(digits, hex ? 16 : 8);
      if (v > 255) throw new Error('invalid syntax');
      bytes.push(v);
      i += hex ? 2 : 2;
    } else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const digits = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(digits)) throw new Error('invalid syntax');
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error('invalid syntax');
      flush();
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      throw new Error('invalid syntax');
    }
  }
  flush();
  if (q === "'" && [...out].length !== 1) throw new Error('invalid syntax');
  return out;
}

/**
 * A number literal as Go's parse.newNumber reads it, converted as exec's
 * idealConstant does for an untyped argument: an int, or a float64 when the
 * text has a fraction or exponent. Character constants are ints (runes).
 */
export function parseNumber(text: string, isChar: boolean): number | GoFloat {
  if (isChar) return unquote(text).codePointAt(0)!;
  if (text.endsWith('i') && !/^[+-]?0[xX]/.test(text)) throw new Error('complex numbers are not supported');
  const clean = text.replace(/_/g, '');
  if (text.includes('_') && !/^[+-]?(0[xXoObB]?_?)?[0-9a-fA-F]+(_[0-9a-fA-F]+)*(\.[0-9_]*)?([eEpP][+-]?[0-9_]+)?$/.test(text)) {
    throw new Error(`illegal number syntax: "${text}"`);
  }
  const sign = clean.startsWith('-') ? -1 : 1;
  const unsigned = clean.replace(/^[+-]/, '');
  let m: RegExpMatchArray | null;
  if ((m = unsigned.match(/^0[xX]([0-9a-fA-F]+)$/))) return sign * parseInt(m[1], 16);
  if ((m = unsigned.match(/^0[oO]?([0-7]+)$/))) return sign * parseInt(m[1], 8);
  if ((m = unsigned.match(/^0[bB]([01]+)$/))) return sign * parseInt(m[1], 2);
  if (/^[0-9]+$/.test(unsigned)) {
    const v = sign * Number(unsigned);
    if (!Number.isSafeInteger(v)) throw new Error(`integer overflow: "${text}"`);
    return v;
  }
  if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(unsigned)) return new GoFloat(sign * Number(unsigned));
  if (/^0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+$/.test(unsigned)) {
    const [mant, exp] = unsigned.slice(2).split(/[pP]/);
    const [ip, fp = ''] = mant.split('.');
    const v = parseInt(ip || '0', 16) + (fp ? parseInt(fp, 16) / 16 ** fp.length : 0);
    return new GoFloat(sign * v * 2 ** Number(exp));
  }
  throw new Error(`illegal number syntax: "${text}"`);
}
