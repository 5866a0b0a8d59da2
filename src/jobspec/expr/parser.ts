/**
 * Pratt parser for HCL2 native expressions. Templates (the top-level string,
 * quoted strings and heredocs inside expressions) are scanned by
 * template-parser.ts, which calls back into this parser for `${…}` and `%{…}`.
 */
import { ExprError } from './index.js';
import { lex, type Token } from './lexer.js';
import { scanTemplate } from './template-parser.js';
import type { BinaryOp, ForNode, Node, ObjectNode, TemplateNode, TupleNode } from './ast.js';

const PRECEDENCE: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
  '%': 6,
};

function describe(tok: Token): string {
  return tok.kind === 'eof' ? 'end of text' : JSON.stringify(tok.text);
}

export class Parser {
  readonly src: string;
  pos = 0;
  /** Inside `{ … }` object bodies a newline ends an item; inside (), [] and ${} it is plain space. */
  #newlines = false;
  #cache: Token | undefined;
  #cachePos = -1;

  constructor(src: string) {
    this.src = src;
  }

  peek(): Token {
    if (this.#cache === undefined || this.#cachePos !== this.pos) {
      this.#cache = lex(this.src, this.pos);
      this.#cachePos = this.pos;
    }
    return this.#cache;
  }

  next(): Token {
    const tok = this.peek();
    this.pos = tok.end;
    return tok;
  }

  isPunct(text: string, tok: Token = this.peek()): boolean {
    return tok.kind === 'punct' && tok.text === text;
  }

  isWord(text: string, tok: Token = this.peek()): boolean {
    return tok.kind === 'ident' && tok.text === text;
  }

  expectPunct(text: string): Token {
    const tok = this.peek();
    if (!this.isPunct(text, tok)) throw new ExprError(`expected "${text}", got ${describe(tok)}`, tok.start);
    return this.next();
  }

  expectIdent(what: string): Token {
    const tok = this.peek();
    if (tok.kind !== 'ident') throw new ExprError(`expected ${what}, got ${describe(tok)}`, tok.start);
    return this.next();
  }

  /** Run `fn` with newline handling switched on or off, restoring it afterwards. */
  withNewlines<T>(on: boolean, fn: () => T): T {
    const saved = this.#newlines;
    this.#newlines = on;
    try {
      return fn();
    } finally {
      this.#newlines = saved;
    }
  }

  /** A token on a new line ends the current object item. */
  #endsItem(tok: Token): boolean {
    return this.#newlines && tok.nlBefore;
  }

  parseExpr(): Node {
    const cond = this.#parseBinary(1);
    const tok = this.peek();
    if (!this.isPunct('?', tok) || this.#endsItem(tok)) return cond;
    this.next();
    const then = this.parseExpr();
    this.expectPunct(':');
    const otherwise = this.parseExpr();
    return { kind: 'conditional', pos: cond.pos, cond, then, else: otherwise };
  }

  #parseBinary(minPrec: number): Node {
    let left = this.#parseUnary();
    for (;;) {
      const tok = this.peek();
      const prec = tok.kind === 'punct' ? PRECEDENCE[tok.text] : undefined;
      if (prec === undefined || prec < minPrec || this.#endsItem(tok)) return left;
      this.next();
      const right = this.#parseBinary(prec + 1);
      left = { kind: 'binary', pos: tok.start, op: tok.text as BinaryOp, left, right };
    }
  }

  #parseUnary(): Node {
    const tok = this.peek();
    if (this.isPunct('!', tok) || this.isPunct('-', tok)) {
      this.next();
      const operand = this.#parseUnary();
      if (tok.text === '-' && operand.kind === 'literal' && typeof operand.value === 'number') {
        return { kind: 'literal', pos: tok.start, value: -operand.value };
      }
      return { kind: 'unary', pos: tok.start, op: tok.text as '!' | '-', operand };
    }
    return this.#parsePostfix(this.#parsePrimary());
  }

  #parsePostfix(target: Node): Node {
    for (;;) {
      const tok = this.peek();
      if (this.#endsItem(tok)) return target;
      if (this.isPunct('.', tok)) {
        this.next();
        const step = this.peek();
        if (this.isPunct('*', step)) {
          this.next();
          return { kind: 'splat', pos: target.pos, target, each: this.#parseSplatSteps(false) };
        }
        target = this.#parseAttrStep(target);
      } else if (this.isPunct('[', tok)) {
        this.next();
        if (this.isPunct('*')) {
          this.next();
          this.expectPunct(']');
          return { kind: 'splat', pos: target.pos, target, each: this.#parseSplatSteps(true) };
        }
        const key = this.withNewlines(false, () => this.parseExpr());
        this.expectPunct(']');
        target = { kind: 'index', pos: target.pos, target, key };
      } else {
        return target;
      }
    }
  }

  /** After `.`: an attribute name, or a legacy numeric index (`list.0`). */
  #parseAttrStep(target: Node): Node {
    const step = this.next();
    if (step.kind === 'ident') return { kind: 'getattr', pos: target.pos, target, name: step.text, namePos: step.start };
    if (step.kind === 'number' && /^\d+$/.test(step.text)) {
      return { kind: 'index', pos: target.pos, target, key: { kind: 'literal', pos: step.start, value: Number(step.text) } };
    }
    throw new ExprError(`expected an attribute name after ".", got ${describe(step)}`, step.start);
  }

  /** The traversal applied to each element after a splat; `[…]` steps only after a full splat `[*]`. */
  #parseSplatSteps(full: boolean): Node {
    let each: Node = { kind: 'splat-item', pos: this.pos };
    for (;;) {
      const tok = this.peek();
      if (this.#endsItem(tok)) return each;
      if (this.isPunct('.', tok)) {
        this.next();
        each = this.#parseAttrStep(each);
      } else if (full && this.isPunct('[', tok)) {
        this.next();
        const key = this.withNewlines(false, () => this.parseExpr());
        this.expectPunct(']');
        each = { kind: 'index', pos: each.pos, target: each, key };
      } else {
        return each;
      }
    }
  }

  #parsePrimary(): Node {
    const tok = this.next();
    switch (tok.kind) {
      case 'number':
        return { kind: 'literal', pos: tok.start, value: Number(tok.text) };
      case 'ident':
        return this.#parseIdent(tok);
      case 'quote':
        return this.#simplify(scanTemplate(this, tok.start, { end: 'quote' }));
      case 'heredoc':
        return this.#simplify(scanTemplate(this, tok.start, { end: 'heredoc', opener: tok.text }));
      case 'punct':
        if (tok.text === '(') {
          const inner = this.withNewlines(false, () => this.parseExpr());
          this.expectPunct(')');
          return { kind: 'paren', pos: tok.start, inner };
        }
        if (tok.text === '[') return this.#parseTuple(tok);
        if (tok.text === '{') return this.#parseObject(tok);
        break;
      case 'eof':
        break;
    }
    throw new ExprError(`expected an expression, got ${describe(tok)}`, tok.start);
  }

  #parseIdent(tok: Token): Node {
    switch (tok.text) {
      case 'true':
        return { kind: 'literal', pos: tok.start, value: true, word: 'true' };
      case 'false':
        return { kind: 'literal', pos: tok.start, value: false, word: 'false' };
      case 'null':
        return { kind: 'literal', pos: tok.start, value: null, word: 'null' };
    }
    const after = this.peek();
    if (!this.isPunct('(', after) || this.#endsItem(after)) return { kind: 'variable', pos: tok.start, name: tok.text };
    this.next();
    return this.withNewlines(false, () => {
      const args: Node[] = [];
      let expand = false;
      while (!this.isPunct(')')) {
        args.push(this.parseExpr());
        if (this.isPunct('...')) {
          this.next();
          expand = true;
          if (!this.isPunct(')')) throw new ExprError(`expected ")" after "...", got ${describe(this.peek())}`, this.peek().start);
          break;
        }
        this.#expectSeparator(')');
      }
      this.expectPunct(')');
      return { kind: 'call', pos: tok.start, name: tok.text, args, expand };
    });
  }

  /** Between list items or arguments: a comma, or the closing bracket left for the caller. */
  #expectSeparator(close: string): void {
    const tok = this.peek();
    if (this.isPunct(',', tok)) this.next();
    else if (!this.isPunct(close, tok)) throw new ExprError(`expected "," or "${close}", got ${describe(tok)}`, tok.start);
  }

  /** `for` starts a for-expression only when followed by a name (`[for = …]` is not valid anyway). */
  #startsFor(): boolean {
    if (!this.isWord('for')) return false;
    const after = lex(this.src, this.peek().end);
    return after.kind === 'ident';
  }

  #parseTuple(open: Token): Node {
    return this.withNewlines(false, () => {
      if (this.#startsFor()) return this.#parseFor(open, ']');
      const node: TupleNode = { kind: 'tuple', pos: open.start, items: [] };
      while (!this.isPunct(']')) {
        node.items.push(this.parseExpr());
        this.#expectSeparator(']');
      }
      this.next();
      return node;
    });
  }

  #parseObject(open: Token): Node {
    if (this.withNewlines(false, () => this.#startsFor())) return this.withNewlines(false, () => this.#parseFor(open, '}'));
    return this.withNewlines(true, () => {
      const node: ObjectNode = { kind: 'object', pos: open.start, items: [] };
      while (!this.isPunct('}')) {
        const key = this.parseExpr();
        const sep = this.peek();
        if (!this.isPunct('=', sep) && !this.isPunct(':', sep)) {
          throw new ExprError(`expected "=" or ":" after an object key, got ${describe(sep)}`, sep.start);
        }
        this.next();
        const value = this.parseExpr();
        node.items.push({ key, value });
        const tok = this.peek();
        if (this.isPunct(',', tok)) this.next();
        else if (!this.isPunct('}', tok) && !tok.nlBefore) throw new ExprError(`expected "," or a newline after an object item, got ${describe(tok)}`, tok.start);
      }
      this.next();
      return node;
    });
  }

  #parseFor(open: Token, close: ']' | '}'): ForNode {
    this.next(); // for
    let valueVar = this.expectIdent('a variable name').text;
    let keyVar: string | undefined;
    if (this.isPunct(',')) {
      this.next();
      keyVar = valueVar;
      valueVar = this.expectIdent('a variable name').text;
    }
    const kw = this.peek();
    if (!this.isWord('in', kw)) throw new ExprError(`expected "in", got ${describe(kw)}`, kw.start);
    this.next();
    const collection = this.parseExpr();
    this.expectPunct(':');
    const node: ForNode = { kind: 'for', pos: open.start, keyVar, valueVar, collection, value: collection, group: false };
    if (close === '}') {
      node.key = this.parseExpr();
      this.expectPunct('=>');
      node.value = this.parseExpr();
      if (this.isPunct('...')) {
        this.next();
        node.group = true;
      }
    } else {
      node.value = this.parseExpr();
    }
    if (this.isWord('if')) {
      this.next();
      node.cond = this.parseExpr();
    }
    this.expectPunct(close);
    return node;
  }

  /** A template made only of literal text is a plain string literal. */
  #simplify(tpl: TemplateNode): Node {
    if (tpl.parts.length === 0) return { kind: 'literal', pos: tpl.pos, value: '' };
    if (tpl.parts.length === 1 && typeof tpl.parts[0] === 'string') return { kind: 'literal', pos: tpl.pos, value: tpl.parts[0] };
    return tpl;
  }
}

/** Parse a whole top-level string (as hcl2json hands it over) into a template. */
export function parseTemplate(src: string): TemplateNode {
  const parser = new Parser(src);
  return scanTemplate(parser, 0, { end: 'eof' });
}

/** Parse a bare expression (no `${}` around it), e.g. for isRuntimeRef. */
export function parseExpression(src: string): Node {
  const parser = new Parser(src);
  const node = parser.parseExpr();
  const rest = parser.peek();
  if (rest.kind !== 'eof') throw new ExprError(`expected end of expression, got ${JSON.stringify(rest.text)}`, rest.start);
  return node;
}
