/**
 * Syntax tree of HCL2 native expressions and templates. Every node carries
 * `pos`, its 0-based offset in the source string, for error messages.
 */

export type Node =
  | LiteralNode
  | TemplateNode
  | VariableNode
  | GetAttrNode
  | IndexNode
  | SplatNode
  | SplatItemNode
  | CallNode
  | UnaryNode
  | BinaryNode
  | ConditionalNode
  | TupleNode
  | ObjectNode
  | ForNode
  | ParenNode;

export interface LiteralNode {
  kind: 'literal';
  pos: number;
  value: string | number | boolean | null;
  /** Set for `true`, `false`, `null` written bare: an object key keeps the word. */
  word?: string;
}

/** A bare identifier: the root of a traversal (`var`, `local`, a for-variable, a runtime root). */
export interface VariableNode {
  kind: 'variable';
  pos: number;
  name: string;
}

/** `pos` is where the whole traversal starts; `namePos` where the attribute name is. */
export interface GetAttrNode {
  kind: 'getattr';
  pos: number;
  target: Node;
  name: string;
  namePos: number;
}

export interface IndexNode {
  kind: 'index';
  pos: number;
  target: Node;
  key: Node;
}

/** `target[*].rest` or `target.*.rest`: `each` is evaluated per element, with a SplatItemNode standing for it. */
export interface SplatNode {
  kind: 'splat';
  pos: number;
  target: Node;
  each: Node;
}

export interface SplatItemNode {
  kind: 'splat-item';
  pos: number;
}

export interface CallNode {
  kind: 'call';
  pos: number;
  name: string;
  args: Node[];
  /** The last argument is a list expanded into arguments (`f(xs...)`). */
  expand: boolean;
}

export interface UnaryNode {
  kind: 'unary';
  pos: number;
  op: '!' | '-';
  operand: Node;
}

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

export interface BinaryNode {
  kind: 'binary';
  pos: number;
  op: BinaryOp;
  left: Node;
  right: Node;
}

export interface ConditionalNode {
  kind: 'conditional';
  pos: number;
  cond: Node;
  then: Node;
  else: Node;
}

export interface TupleNode {
  kind: 'tuple';
  pos: number;
  items: Node[];
}

export interface ObjectNode {
  kind: 'object';
  pos: number;
  items: { key: Node; value: Node }[];
}

/** `[for k, v in coll : value if cond]` or `{for k, v in coll : key => value... if cond}`. */
export interface ForNode {
  kind: 'for';
  pos: number;
  keyVar?: string;
  valueVar: string;
  collection: Node;
  /** Present for the object form. */
  key?: Node;
  value: Node;
  cond?: Node;
  /** Object form with `...`: values with the same key are grouped into lists. */
  group: boolean;
}

export interface ParenNode {
  kind: 'paren';
  pos: number;
  inner: Node;
}

/** A template: literal text mixed with interpolations and directives. */
export interface TemplateNode {
  kind: 'template';
  pos: number;
  parts: TemplatePart[];
}

export type TemplatePart = string | InterpPart | IfPart | ForPart;

export interface InterpPart {
  kind: 'interp';
  /** Offsets of `${` and just past `}` in the source. */
  start: number;
  end: number;
  /** The expression's source text, trimmed, for keeping a runtime reference verbatim. */
  text: string;
  expr: Node;
}

export interface IfPart {
  kind: 'if';
  start: number;
  end: number;
  cond: Node;
  then: TemplatePart[];
  else: TemplatePart[];
}

export interface ForPart {
  kind: 'for';
  start: number;
  end: number;
  keyVar?: string;
  valueVar: string;
  collection: Node;
  body: TemplatePart[];
}
