/**
 * The parser of Go's text/template: tokens → one tree per template name
 * (the main text plus every `define` and `block`), with Go's parse-time
 * checks (functions defined, variables declared, `break` inside `range`)
 * and Go's messages.
 */
import { lex, type Token, type TokenType } from './lexer.js';
import {
  parseNumber,
  unquote,
  type ArgNode,
  type BranchNode,
  type CommandNode,
  type Node,
  type PipeNode,
  type TemplateNode,
} from './nodes.js';

/** Thrown by `parse`; the caller adds the template's name and line:col. */
export class ParseFailure extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

export interface ParsedTrees {
  /** Every template by name; the main text is under `name`. */
  trees: Map<string, Node[]>;
}

/** Parses `text`; `isFunction` says which identifiers are functions. */
export function parse(
  text: string,
  name: string,
  leftDelim: string,
  rightDelim: string,
  isFunction: (name: string) => boolean,
): ParsedTrees {
  const tokens = lex(text, leftDelim, rightDelim);
  const p = new Parser(tokens, isFunction);
  const trees = new Map<string, Node[]>();
  const add = (treeName: string, list: Node[], pos: number) => {
    const old = trees.get(treeName);
    if (old === undefined || isEmptyTree(old)) trees.set(treeName, list);
    else if (!isEmptyTree(list)) throw new ParseFailure(`template: multiple definition of template "${treeName}"`, pos);
  };
  p.onDefine = add;
  add(name, p.parseTop(), 0);
  return { trees };
}

function isEmptyTree(list: Node[]): boolean {
  return list.every((n) => n.type === 'text' && n.text.trim() === '');
}

type EndMarker = { kind: 'end' | 'else'; pos: number; token: Token; end?: number };

class Parser {
  #tokens: Token[];
  #i = 0;
  #vars: string[] = ['$'];
  #rangeDepth = 0;
  #isFunction: (name: string) => boolean;
  onDefine: (name: string, list: Node[], pos: number) => void = () => {};

  constructor(tokens: Token[], isFunction: (name: string) => boolean) {
    this.#tokens = tokens;
    this.#isFunction = isFunction;
  }

  #next(): Token {
    const t = this.#tokens[this.#i];
    if (t.type === 'error') throw new ParseFailure(t.val, t.pos);
    if (this.#i < this.#tokens.length - 1) this.#i++;
    return t;
  }
  #backup(n = 1): void {
    this.#i -= n;
  }
  #peek(): Token {
    const t = this.#tokens[this.#i];
    if (t.type === 'error') throw new ParseFailure(t.val, t.pos);
    return t;
  }
  #nextNonSpace(): Token {
    let t = this.#next();
    while (t.type === 'space') t = this.#next();
    return t;
  }
  #peekNonSpace(): Token {
    const t = this.#nextNonSpace();
    // #next stays on 'eof' instead of moving past it: nothing to give back then.
    if (t.type !== 'eof') this.#backup();
    return t;
  }
  #fail(msg: string, pos: number): never {
    throw new ParseFailure(msg, pos);
  }
  #unexpected(t: Token, context: string): never {
    this.#fail(`unexpected ${describe(t)} in ${context}`, t.pos);
  }

  /** The top level: text, actions and `define`s until EOF. */
  parseTop(): Node[] {
    const list: Node[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.type === 'eof') return list;
      if (t.type === 'leftDelim') {
        const save = this.#i;
        this.#next();
        const kw = this.#nextNonSpace();
        if (kw.type === 'keyword' && kw.val === 'define') {
          this.#parseDefinition(kw.pos);
          continue;
        }
        this.#i = save;
      }
      const n = this.#textOrAction();
      if ('kind' in n) this.#fail(`unexpected {{${n.kind}}}`, n.pos);
      list.push(n);
    }
  }

  #parseDefinition(pos: number): void {
    const context = 'define clause';
    const nameTok = this.#nextNonSpace();
    if (nameTok.type !== 'string' && nameTok.type !== 'rawString') this.#unexpected(nameTok, context);
    const name = this.#unquote(nameTok);
    const close = this.#nextNonSpace();
    if (close.type !== 'rightDelim') this.#unexpected(close, context);
    const savedVars = this.#vars;
    this.#vars = ['$'];
    const [list, end] = this.#itemList();
    if (end.kind !== 'end') this.#fail(`unexpected {{${end.kind}}} in ${context}`, end.pos);
    this.#vars = savedVars;
    this.onDefine(name, list, pos);
  }

  /** Nodes up to `{{end}}` or `{{else}}`. */
  #itemList(): [Node[], EndMarker] {
    const list: Node[] = [];
    for (;;) {
      if (this.#peekNonSpace().type === 'eof') this.#fail('unexpected EOF', this.#peek().pos);
      const n = this.#textOrAction();
      if ('kind' in n) return [list, n];
      list.push(n);
    }
  }

  #textOrAction(): Node | EndMarker {
    const t = this.#nextNonSpace();
    if (t.type === 'text') return { type: 'text', text: t.val, pos: t.pos, end: t.pos + t.val.length };
    if (t.type === 'leftDelim') return this.#action(t.pos);
    this.#unexpected(t, 'input');
  }

  #action(start: number): Node | EndMarker {
    const t = this.#nextNonSpace();
    if (t.type === 'keyword') {
      switch (t.val) {
        case 'block':
          return this.#blockControl(start);
        case 'break':
        case 'continue': {
          const close = this.#nextNonSpace();
          if (close.type !== 'rightDelim') this.#unexpected(close, `{{${t.val}}}`);
          if (this.#rangeDepth === 0) this.#fail(`{{${t.val}}} outside {{range}}`, t.pos);
          return { type: t.val, pos: start, end: close.pos + close.val.length };
        }
        case 'else':
          return this.#elseControl(t);
        case 'end': {
          const close = this.#nextNonSpace();
          if (close.type !== 'rightDelim') this.#unexpected(close, 'end');
          return { kind: 'end', pos: t.pos, token: t, end: close.pos + close.val.length };
        }
        case 'if':
        case 'range':
        case 'with':
          return this.#control(t.val, start);
        case 'template':
          return this.#templateControl(start);
      }
    }
    this.#backup();
    const pipe = this.#pipeline('command', 'rightDelim');
    return { type: 'action', pipe, pos: start, end: pipe.end };
  }

  #elseControl(t: Token): EndMarker {
    const peek = this.#peekNonSpace();
    // `{{else if …}}` and `{{else with …}}`: the rest is handled by #control.
    if (peek.type === 'keyword' && (peek.val === 'if' || peek.val === 'with')) return { kind: 'else', pos: t.pos, token: peek };
    const close = this.#nextNonSpace();
    if (close.type !== 'rightDelim') this.#unexpected(close, 'else');
    return { kind: 'else', pos: t.pos, token: t };
  }

  #control(context: 'if' | 'range' | 'with', start: number): BranchNode {
    const depth = this.#vars.length;
    const pipe = this.#pipeline(context, 'rightDelim');
    if (context === 'range') this.#rangeDepth++;
    let [list, next] = this.#itemList();
    if (context === 'range') this.#rangeDepth--;
    let elseList: Node[] | undefined;
    if (next.kind === 'else') {
      const chained = next.token.type === 'keyword' && next.token.val === context && context !== 'range';
      if (chained) {
        // {{else if x}} is {{else}}{{if x}}…{{end}}{{end}} with one shared {{end}}.
        this.#nextNonSpace();
        elseList = [this.#control(context, next.pos)];
        next = { kind: 'end', pos: next.pos, token: next.token };
      } else {
        [elseList, next] = this.#itemList();
        if (next.kind !== 'end') this.#fail(`expected end; found {{else}}`, next.pos);
      }
    }
    this.#vars.length = depth;
    return { type: context, pipe, list, elseList, pos: start, end: next.end ?? next.pos };
  }

  #templateControl(start: number): TemplateNode {
    const context = 'template clause';
    const nameTok = this.#nextNonSpace();
    if (nameTok.type !== 'string' && nameTok.type !== 'rawString') this.#unexpected(nameTok, context);
    const name = this.#unquote(nameTok);
    let pipe: PipeNode | undefined;
    const t = this.#nextNonSpace();
    if (t.type !== 'rightDelim') {
      this.#backup();
      pipe = this.#pipeline(context, 'rightDelim');
    }
    return { type: 'template', name, pipe, pos: start, end: pipe?.end ?? t.pos + t.val.length };
  }

  #blockControl(start: number): TemplateNode {
    const context = 'block clause';
    const nameTok = this.#nextNonSpace();
    if (nameTok.type !== 'string' && nameTok.type !== 'rawString') this.#unexpected(nameTok, context);
    const name = this.#unquote(nameTok);
    const pipe = this.#pipeline(context, 'rightDelim');
    const savedVars = this.#vars;
    const savedDepth = this.#rangeDepth;
    this.#vars = ['$'];
    this.#rangeDepth = 0;
    const [list, end] = this.#itemList();
    if (end.kind !== 'end') this.#fail(`unexpected {{${end.kind}}} in ${context}`, end.pos);
    this.#vars = savedVars;
    this.#rangeDepth = savedDepth;
    this.onDefine(name, list, start);
    return { type: 'template', name, pipe, pos: start, end: pipe.end };
  }

  #pipeline(context: string, end: TokenType): PipeNode {
    const first = this.#peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', isAssign: false, decl: [], cmds: [], pos: first.pos, end: first.pos };
    // Declarations: `$x :=`, `$x =`, and `$i, $e :=` in range.
    for (;;) {
      const v = this.#peekNonSpace();
      if (v.type !== 'variable') break;
      const save = this.#i;
      this.#nextNonSpace();
      const next = this.#peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        this.#nextNonSpace();
        pipe.isAssign = next.type === 'assign';
        pipe.decl.push(v.val);
        if (next.type === 'declare' || !this.#vars.includes(v.val)) this.#vars.push(v.val);
        break;
      }
      if (next.type === 'char' && next.val === ',') {
        this.#nextNonSpace();
        pipe.decl.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const after = this.#peekNonSpace();
          if (after.type === 'variable' || after.type === 'rightDelim' || after.type === 'rightParen') continue;
          this.#fail('range can only initialize variables', after.pos);
        }
        this.#fail(`too many declarations in ${context}`, next.pos);
      }
      this.#i = save;
      break;
    }
    if (pipe.decl.length > 1 && context === 'range') for (const d of pipe.decl) if (!this.#vars.includes(d)) this.#vars.push(d);
    for (;;) {
      const t = this.#nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) this.#fail(`missing value for ${context}`, t.pos);
        for (let i = 1; i < pipe.cmds.length; i++) {
          const a = pipe.cmds[i].args[0];
          if (a.type === 'literal' || a.type === 'dot' || a.type === 'nil') {
            this.#fail(`non executable command in pipeline stage ${i + 1}`, a.pos);
          }
        }
        pipe.end = t.pos + t.val.length;
        return pipe;
      }
      switch (t.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.#backup();
          pipe.cmds.push(this.#command());
          break;
        default:
          this.#unexpected(t, context);
      }
    }
  }

  #command(): CommandNode {
    const cmd: CommandNode = { type: 'command', args: [], pos: this.#peekNonSpace().pos, end: 0 };
    for (;;) {
      this.#peekNonSpace();
      const operand = this.#operand();
      if (operand) cmd.args.push(operand);
      const t = this.#next();
      if (t.type === 'space') continue;
      if (t.type === 'rightDelim' || t.type === 'rightParen') this.#backup();
      else if (t.type !== 'pipe') this.#unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.#fail('empty command', cmd.pos);
    cmd.end = cmd.args[cmd.args.length - 1].end;
    return cmd;
  }

  #operand(): ArgNode | undefined {
    const node = this.#term();
    if (!node) return undefined;
    if (this.#peek().type !== 'field') return node;
    const fields: string[] = [];
    let end = node.end;
    while (this.#peek().type === 'field') {
      const f = this.#next();
      fields.push(f.val.slice(1));
      end = f.pos + f.val.length;
    }
    switch (node.type) {
      case 'field':
        return { ...node, ident: [...node.ident, ...fields], end };
      case 'variable':
        return { ...node, ident: [...node.ident, ...fields], end };
      case 'literal':
      case 'nil':
      case 'dot':
        this.#fail(`unexpected . after term "${node.type === 'dot' ? '.' : node.type === 'nil' ? 'nil' : String(node.value)}"`, node.end);
      // falls through (never returns)
      default:
        return { type: 'chain', node, field: fields, pos: node.pos, end };
    }
  }

  #term(): ArgNode | undefined {
    const t = this.#nextNonSpace();
    const end = t.pos + t.val.length;
    switch (t.type) {
      case 'identifier':
        if (!this.#isFunction(t.val)) this.#fail(`function "${t.val}" not defined`, t.pos);
        return { type: 'identifier', name: t.val, pos: t.pos, end };
      case 'dot':
        return { type: 'dot', pos: t.pos, end };
      case 'nil':
        return { type: 'nil', pos: t.pos, end };
      case 'variable': {
        const name = t.val;
        if (!this.#vars.includes(name)) this.#fail(`undefined variable "${name}"`, t.pos);
        return { type: 'variable', ident: [name], pos: t.pos, end };
      }
      case 'field':
        return { type: 'field', ident: [t.val.slice(1)], pos: t.pos, end };
      case 'bool':
        return { type: 'literal', lit: 'bool', value: t.val === 'true', pos: t.pos, end };
      case 'number':
      case 'charConstant':
        try {
          return { type: 'literal', lit: 'number', value: parseNumber(t.val, t.type === 'charConstant'), pos: t.pos, end };
        } catch (err) {
          this.#fail((err as Error).message === 'invalid syntax' ? `malformed character constant: ${t.val}` : (err as Error).message, t.pos);
        }
      // falls through (never returns)
      case 'leftParen': {
        const pipe = this.#pipeline('parenthesized pipeline', 'rightParen');
        pipe.pos = t.pos;
        return pipe;
      }
      case 'string':
      case 'rawString':
        return { type: 'literal', lit: 'string', value: this.#unquote(t), pos: t.pos, end };
    }
    this.#backup();
    return undefined;
  }

  #unquote(t: Token): string {
    try {
      return unquote(t.val);
    } catch {
      this.#fail('invalid syntax', t.pos);
    }
  }
}

/** A token as Go's parser names it in "unexpected …" messages. */
function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'EOF';
    case 'keyword':
      return `<${t.val}>`;
    case 'rightDelim':
    case 'leftDelim':
      return `"${t.val}"`;
    default: {
      const q = JSON.stringify(t.val);
      return t.val.length > 10 ? `${JSON.stringify(t.val.slice(0, 10))}...` : q;
    }
  }
}
