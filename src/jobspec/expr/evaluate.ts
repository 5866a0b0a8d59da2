/**
 * Tree-walking evaluator for parsed expressions and templates. Load-time
 * roots (`var`, `local`) resolve from the scope; runtime roots evaluate to
 * UNKNOWN, which every operation propagates, so the caller can keep the
 * enclosing `${…}` as text for launch time.
 */
import { ExprError, type EvalScope, type Value } from './index.js';
import { callFunction, unknownFunctionError } from './functions.js';
import { suggest } from './suggest.js';
import type { ForNode, Node } from './ast.js';
import { evalTemplateNode } from './evaluate-template.js';
import {
  UNKNOWN,
  type Val,
  type ValueObject,
  describeValue,
  equals,
  isObject,
  sortedKeys,
  toBool,
  toNumber,
  toStr,
} from './values.js';

/** Bare roots only known at launch; `NOMAD_*` names are runtime too. */
export const RUNTIME_ROOTS = new Set(['node', 'attr', 'meta', 'env', 'device']);

export function isRuntimeRoot(name: string): boolean {
  return RUNTIME_ROOTS.has(name) || name.startsWith('NOMAD_');
}

/** Errors about references that can never resolve (unknown variable, function, root): `try` and `can` do not hide them. */
const staticErrors = new WeakSet<ExprError>();

export function isStaticError(err: unknown): boolean {
  return err instanceof ExprError && staticErrors.has(err);
}

function staticError(message: string, offset: number, hint?: string): ExprError {
  const err = new ExprError(message, offset, hint);
  staticErrors.add(err);
  return err;
}

/** Give an offset-less error (from a conversion or a function) the offset of the node being evaluated. */
function located(err: ExprError, offset: number, prefix = ''): ExprError {
  if (err.offset !== undefined) return err;
  const out = new ExprError(prefix + err.message, offset, err.hint);
  if (staticErrors.has(err)) staticErrors.add(out);
  return out;
}

function didYouMean(word: string | undefined): string | undefined {
  return word === undefined ? undefined : `did you mean "${word}"?`;
}

export interface Ctx {
  scope: EvalScope;
  /** Names bound by for-expressions (prototype chain for nesting). */
  bound: Record<string, Val>;
  /** The current element inside a splat's per-element traversal. */
  splat?: Val;
  src: string;
}

export function newCtx(scope: EvalScope, src: string): Ctx {
  const bound = Object.create(null) as Record<string, Val>;
  if (scope.bound) Object.assign(bound, scope.bound);
  return { scope, bound, src };
}

function bind(ctx: Ctx, names: Record<string, Val>): Ctx {
  const bound = Object.create(ctx.bound) as Record<string, Val>;
  Object.assign(bound, names);
  return { ...ctx, bound };
}

export function evalNode(node: Node, ctx: Ctx): Val {
  try {
    return dispatch(node, ctx);
  } catch (err) {
    if (err instanceof ExprError) throw located(err, node.pos);
    throw err;
  }
}

function dispatch(node: Node, ctx: Ctx): Val {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'paren':
      return evalNode(node.inner, ctx);
    case 'template':
      return evalTemplateNode(node, ctx, false);
    case 'variable':
      return evalVariable(node.name, node.pos, ctx);
    case 'getattr':
      return evalGetAttr(node.target, node.name, node.namePos, ctx);
    case 'index':
      return evalIndex(node.target, node.key, ctx);
    case 'splat':
      return evalSplat(node.target, node.each, ctx);
    case 'splat-item':
      return ctx.splat === undefined ? null : ctx.splat;
    case 'call':
      return evalCall(node.name, node.args, node.expand, node.pos, ctx);
    case 'unary': {
      const v = evalNode(node.operand, ctx);
      if (v === UNKNOWN) return UNKNOWN;
      return node.op === '!' ? !toBool(v) : -toNumber(v);
    }
    case 'binary':
      return evalBinary(node.op, node.left, node.right, ctx);
    case 'conditional': {
      const cond = evalNode(node.cond, ctx);
      if (cond === UNKNOWN) return UNKNOWN;
      const chosen = toBool(cond) ? node.then : node.else;
      const other = chosen === node.then ? node.else : node.then;
      const v = evalNode(chosen, ctx);
      // HCL unifies the two result types: a number or bool beside a string becomes a string.
      const otherIsString = (other.kind === 'literal' && typeof other.value === 'string') || other.kind === 'template';
      return otherIsString && (typeof v === 'number' || typeof v === 'boolean') ? toStr(v) : v;
    }
    case 'tuple': {
      const out: Value[] = [];
      for (const item of node.items) {
        const v = evalNode(item, ctx);
        if (v === UNKNOWN) return UNKNOWN;
        out.push(v);
      }
      return out;
    }
    case 'object': {
      const out: ValueObject = {};
      for (const item of node.items) {
        const key = objectKey(item.key, ctx);
        const v = evalNode(item.value, ctx);
        if (key === UNKNOWN || v === UNKNOWN) return UNKNOWN;
        out[key] = v;
      }
      return out;
    }
    case 'for':
      return evalFor(node, ctx);
  }
}

/** A bare name or keyword as an object key is the literal word; anything else is evaluated. */
function objectKey(key: Node, ctx: Ctx): string | typeof UNKNOWN {
  if (key.kind === 'variable') return key.name;
  if (key.kind === 'literal' && key.word !== undefined) return key.word;
  const v = evalNode(key, ctx);
  if (v === UNKNOWN) return UNKNOWN;
  if (v === null) throw new ExprError('expected an object key, got null', key.pos);
  return toStr(v);
}

function evalVariable(name: string, pos: number, ctx: Ctx): Val {
  if (name in ctx.bound) return ctx.bound[name];
  if (isRuntimeRoot(name)) return UNKNOWN;
  if (name === 'var' || name === 'local') {
    throw staticError(`expected an attribute of "${name}" like ${name}.name, got "${name}" alone`, pos);
  }
  return unknownRoot(name, undefined, pos, ctx);
}

/**
 * A root that is neither a variable, a local, a runtime root nor a name a
 * `for` binds (`${HOME}` in a shell script, `${UNKNOWN}`): as in Nomad's
 * parser it stays as written (UNKNOWN keeps the enclosing `${…}` as text).
 * The scope hears of it, with a hint when the name is close to a known root.
 */
function unknownRoot(name: string, attr: string | undefined, pos: number, ctx: Ctx): Val {
  const candidates = ['var', 'local', ...RUNTIME_ROOTS];
  for (const k in ctx.bound) candidates.push(k);
  const root = suggest(name, candidates);
  const rest = attr === undefined ? '' : `.${attr}`;
  ctx.scope.onUnknownRef?.(`${name}${rest}`, pos, didYouMean(root === undefined ? undefined : root + rest));
  return UNKNOWN;
}

function lookupVar(name: string, pos: number, ctx: Ctx): Val {
  const vars = ctx.scope.vars;
  if (Object.hasOwn(vars, name)) return vars[name];
  throw staticError(`unknown variable "var.${name}"`, pos, didYouMean(prefixed('var', suggest(name, Object.keys(vars)))));
}

function lookupLocal(name: string, pos: number, ctx: Ctx): Val {
  const { locals, local } = ctx.scope;
  if (Object.hasOwn(locals, name)) return locals[name];
  const v = local?.(name);
  if (v !== undefined) return v;
  throw staticError(`unknown local "local.${name}"`, pos, didYouMean(prefixed('local', suggest(name, Object.keys(locals)))));
}

function prefixed(root: string, name: string | undefined): string | undefined {
  return name === undefined ? undefined : `${root}.${name}`;
}

/** `var.x`, `local.x` and their index forms (`var["x"]`) are lookups, not attribute access. */
function rootLookup(target: Node, name: string, pos: number, ctx: Ctx): Val | undefined {
  if (target.kind !== 'variable' || target.name in ctx.bound) return undefined;
  if (target.name === 'var') return lookupVar(name, target.pos, ctx);
  if (target.name === 'local') return lookupLocal(name, target.pos, ctx);
  if (isRuntimeRoot(target.name)) return UNKNOWN;
  return unknownRoot(target.name, name, target.pos, ctx);
}

function evalGetAttr(target: Node, name: string, pos: number, ctx: Ctx): Val {
  const root = rootLookup(target, name, pos, ctx);
  if (root !== undefined) return root;
  const obj = evalNode(target, ctx);
  if (obj === UNKNOWN) return UNKNOWN;
  if (!isObject(obj)) throw new ExprError(`expected an object with attribute "${name}", got ${describeValue(obj)}`, pos);
  if (Object.hasOwn(obj, name)) return obj[name];
  throw new ExprError(`unsupported attribute "${name}"`, pos, didYouMean(suggest(name, Object.keys(obj))));
}

function evalIndex(target: Node, keyNode: Node, ctx: Ctx): Val {
  const key = evalNode(keyNode, ctx);
  if (key === UNKNOWN) return UNKNOWN;
  if (target.kind === 'variable' && typeof key === 'string') {
    const root = rootLookup(target, key, keyNode.pos, ctx);
    if (root !== undefined) return root;
  }
  const coll = evalNode(target, ctx);
  if (coll === UNKNOWN) return UNKNOWN;
  if (Array.isArray(coll)) {
    const i = located2(() => toNumber(key, 'a list index'), keyNode.pos);
    if (!Number.isInteger(i) || i < 0 || i >= coll.length) {
      throw new ExprError(`expected an index from 0 to ${coll.length - 1}, got ${describeValue(key)}`, keyNode.pos);
    }
    return coll[i];
  }
  if (isObject(coll)) {
    const k = located2(() => toStr(key), keyNode.pos);
    if (Object.hasOwn(coll, k)) return coll[k];
    throw new ExprError(`unknown key ${JSON.stringify(k)}`, keyNode.pos, didYouMean(suggest(k, Object.keys(coll))));
  }
  throw new ExprError(`expected a list or map to index, got ${describeValue(coll)}`, keyNode.pos);
}

function evalSplat(target: Node, each: Node, ctx: Ctx): Val {
  const coll = evalNode(target, ctx);
  if (coll === UNKNOWN) return UNKNOWN;
  if (coll === null) return [];
  const items = Array.isArray(coll) ? coll : [coll];
  const out: Value[] = [];
  for (const item of items) {
    const v = evalNode(each, { ...ctx, splat: item });
    if (v === UNKNOWN) return UNKNOWN;
    out.push(v);
  }
  return out;
}

function evalCall(name: string, argNodes: Node[], expand: boolean, pos: number, ctx: Ctx): Val {
  const unknown = unknownFunctionError(name);
  if (unknown !== undefined) throw staticError(unknown.message, pos, unknown.hint);
  if (name === 'try' || name === 'can') return evalTryCan(name, argNodes, pos, ctx);
  const args: Val[] = [];
  for (const node of argNodes) {
    const v = evalNode(node, ctx);
    args.push(v);
  }
  if (expand) {
    const last = args.pop()!;
    if (last === UNKNOWN) return UNKNOWN;
    if (!Array.isArray(last)) {
      throw new ExprError(`expected a list before "...", got ${describeValue(last)}`, argNodes[argNodes.length - 1].pos);
    }
    args.push(...last);
  }
  try {
    return callFunction(name, args, ctx.scope);
  } catch (err) {
    if (err instanceof ExprError && err.offset === undefined) {
      throw located(err, pos, `failed to call function "${name}": `);
    }
    throw err;
  }
}

function evalTryCan(name: 'try' | 'can', argNodes: Node[], pos: number, ctx: Ctx): Val {
  if (name === 'can' && argNodes.length !== 1) throw new ExprError(`failed to call function "can": expected 1 argument, got ${argNodes.length}`, pos);
  if (argNodes.length === 0) throw new ExprError('failed to call function "try": expected at least 1 argument, got 0', pos);
  let last: ExprError | undefined;
  for (const node of argNodes) {
    try {
      const v = evalNode(node, ctx);
      return name === 'can' && v !== UNKNOWN ? true : v;
    } catch (err) {
      if (!(err instanceof ExprError) || isStaticError(err)) throw err;
      last = err;
    }
  }
  if (name === 'can') return false;
  throw new ExprError(`failed to call function "try": no expression succeeded: ${last!.message}`, pos, last!.hint);
}

function evalBinary(op: string, leftNode: Node, rightNode: Node, ctx: Ctx): Val {
  const left = evalNode(leftNode, ctx);
  if (op === '&&' || op === '||') {
    if (left !== UNKNOWN) {
      const l = toBool(left);
      if (op === '&&' ? !l : l) return l;
    }
    const right = evalNode(rightNode, ctx);
    if (left === UNKNOWN || right === UNKNOWN) return UNKNOWN;
    return toBool(right);
  }
  const right = evalNode(rightNode, ctx);
  if (left === UNKNOWN || right === UNKNOWN) return UNKNOWN;
  if (op === '==') return equals(left, right);
  if (op === '!=') return !equals(left, right);
  const a = toNumber(left);
  const b = toNumber(right);
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
    case '%':
      if (b === 0) throw new ExprError(`failed to ${op === '/' ? 'divide' : 'take the remainder'}: division by zero`);
      return op === '/' ? a / b : a % b;
  }
  throw new ExprError(`expected an operator, got ${JSON.stringify(op)}`);
}

/** The (key, value) pairs a for-expression or `%{for}` iterates: index/element for lists, sorted key/value for maps. */
export function iterate(coll: Val): [Value, Value][] {
  if (Array.isArray(coll)) return coll.map((v, i) => [i, v]);
  if (isObject(coll)) return sortedKeys(coll).map((k) => [k, coll[k]]);
  throw new ExprError(`expected a list or map to iterate, got ${describeValue(coll)}`);
}

export function loopCtx(ctx: Ctx, keyVar: string | undefined, valueVar: string, k: Value, v: Value): Ctx {
  return bind(ctx, keyVar === undefined ? { [valueVar]: v } : { [keyVar]: k, [valueVar]: v });
}

function evalFor(node: ForNode, ctx: Ctx): Val {
  const coll = evalNode(node.collection, ctx);
  if (coll === UNKNOWN) return UNKNOWN;
  const list: Value[] = [];
  const obj: Record<string, Value> = {};
  for (const [k, v] of located2(() => iterate(coll), node.collection.pos)) {
    const inner = loopCtx(ctx, node.keyVar, node.valueVar, k, v);
    if (node.cond !== undefined) {
      const c = evalNode(node.cond, inner);
      if (c === UNKNOWN) return UNKNOWN;
      if (!located2(() => toBool(c), node.cond.pos)) continue;
    }
    const value = evalNode(node.value, inner);
    if (value === UNKNOWN) return UNKNOWN;
    if (node.key === undefined) {
      list.push(value);
      continue;
    }
    const keyVal = evalNode(node.key, inner);
    if (keyVal === UNKNOWN) return UNKNOWN;
    const key = located2(() => toStr(keyVal), node.key.pos);
    if (node.group) {
      ((obj[key] ??= []) as Value[]).push(value);
    } else if (Object.hasOwn(obj, key)) {
      throw new ExprError(`expected unique keys in a for expression, got ${JSON.stringify(key)} twice`, node.key.pos, 'add "..." after the value to group values by key');
    } else {
      obj[key] = value;
    }
  }
  return node.key === undefined ? list : obj;
}

export function located2<T>(fn: () => T, pos: number): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ExprError) throw located(err, pos);
    throw err;
  }
}
