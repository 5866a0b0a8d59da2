/**
 * Template evaluation: literal text, interpolations and directives. At the
 * top level (the string the loader hands over) a part that depends on a
 * runtime value is kept as its source text for launch time.
 */
import { ExprError, type Value } from './index.js';
import type { TemplateNode, TemplatePart } from './ast.js';
import { evalNode, iterate, located2, loopCtx, type Ctx } from './evaluate.js';
import { UNKNOWN, type Val, describeValue, toBool, toStr } from './values.js';

/**
 * Evaluate a template. `top` is the string handed over by the loader: there
 * a runtime part is kept as its `${…}` text. Nested (a quoted string inside an
 * expression) a runtime part makes the whole string a runtime value.
 */
export function evalTemplateNode(node: TemplateNode, ctx: Ctx, top: boolean): Val {
  const parts = node.parts;
  if (parts.length === 1 && typeof parts[0] !== 'string' && parts[0].kind === 'interp') {
    const v = evalNode(parts[0].expr, ctx);
    return v === UNKNOWN && top ? '${' + parts[0].text + '}' : v;
  }
  const out: string[] = [];
  return appendParts(parts, ctx, top, out) ? out.join('') : UNKNOWN;
}

/** Append the text of `parts` to `out`; false when a runtime part makes a nested template unknown. */
function appendParts(parts: TemplatePart[], ctx: Ctx, top: boolean, out: string[]): boolean {
  for (const part of parts) {
    if (typeof part === 'string') {
      out.push(part);
      continue;
    }
    if (part.kind === 'interp') {
      const v = evalNode(part.expr, ctx);
      if (v === UNKNOWN) {
        if (!top) return false;
        out.push('${' + part.text + '}');
      } else {
        out.push(interpolated(v, part.expr.pos));
      }
      continue;
    }
    if (part.kind === 'if') {
      const cond = evalNode(part.cond, ctx);
      if (cond === UNKNOWN) {
        if (!top) return false;
        out.push(ctx.src.slice(part.start, part.end));
        continue;
      }
      if (!appendParts(located2(() => toBool(cond), part.cond.pos) ? part.then : part.else, ctx, top, out)) return false;
      continue;
    }
    const coll = evalNode(part.collection, ctx);
    if (coll === UNKNOWN) {
      if (!top) return false;
      out.push(ctx.src.slice(part.start, part.end));
      continue;
    }
    for (const [k, v] of located2(() => iterate(coll), part.collection.pos)) {
      if (!appendParts(part.body, loopCtx(ctx, part.keyVar, part.valueVar, k, v), top, out)) return false;
    }
  }
  return true;
}

function interpolated(v: Value, pos: number): string {
  if (v === null) throw new ExprError('failed to interpolate a value into a string: expected string, number or bool, got null', pos);
  if (typeof v === 'object') {
    throw new ExprError(`failed to interpolate a value into a string: expected string, number or bool, got ${describeValue(v)}`, pos, 'use jsonencode() or join() to turn it into a string');
  }
  return toStr(v);
}
