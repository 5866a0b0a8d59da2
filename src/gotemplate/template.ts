/**
 * parseTemplate and render: the module's API (types in gotemplate.ts).
 *
 *   const t = parseTemplate(text, { name: 'jobs/web.hcl', baseLine: 40 });
 *   const { text, deps, missing } = render(t, { env, vars, fileReader });
 */
import { builtinFunctions } from './builtins.js';
import { dataFunctions, unsupportedReason, type RenderState } from './data-funcs.js';
import { encodeFunctions } from './encode.js';
import { Exec, ExecFailure, type TemplateFunc } from './exec.js';
import { TemplateError, type ParseOptions, type RenderContext, type RenderResult } from './gotemplate.js';
import { helperFunctions, str } from './helpers.js';
import type { Node } from './nodes.js';
import { ParseFailure, parse } from './parser.js';
import { hostNetwork, sockaddrFunctions } from './sockaddr.js';
import { printValue } from './values.js';

/** A parsed template: reusable, immutable, cheap to render many times. */
export interface CompiledTemplate {
  readonly name: string;
  readonly text: string;
  /** Every template by name (the main one under `name`, plus `define`s and `block`s). */
  readonly trees: ReadonlyMap<string, Node[]>;
  /** Byte offsets of line starts, for positions. */
  readonly lineStarts: number[];
  readonly baseLine: number;
}

const FUNCTIONS: Map<string, TemplateFunc> = new Map([
  ...builtinFunctions(),
  ...helperFunctions(),
  ...encodeFunctions(),
  ...dataFunctions(),
  ['sockaddr', { arity: 0, variadic: true, call: (args, rt) => sockaddr(args.map((a) => str(a)).join(' '), rt.state) }],
]);

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function position(t: { lineStarts: number[]; baseLine: number; text: string }, pos: number): { line: number; col: number } {
  let lo = 0;
  let hi = t.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t.lineStarts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return { line: t.baseLine + lo, col: pos - t.lineStarts[lo] + 1 };
}

/**
 * Parses a template. Throws TemplateError: kind 'parse' for bad syntax,
 * 'unsupported' for a Consul/Vault function (named in `func`).
 */
export function parseTemplate(text: string, options: ParseOptions = {}): CompiledTemplate {
  const name = options.name ?? 'template';
  const leftDelim = options.leftDelim || '{{';
  const rightDelim = options.rightDelim || '}}';
  const base = { text, lineStarts: lineStartsOf(text), baseLine: options.baseLine ?? 1 };
  let unsupported: { name: string; reason: string } | undefined;
  const isFunction = (fname: string) => {
    if (options.denied?.has(fname)) {
      unsupported = { name: fname, reason: `function "${fname}" is denied by the agent config (client { template { function_denylist } })` };
      return false;
    }
    if (FUNCTIONS.has(fname)) return true;
    const reason = unsupportedReason(fname);
    if (reason) unsupported = { name: fname, reason };
    return false;
  };
  try {
    const { trees } = parse(text, name, leftDelim, rightDelim, isFunction);
    return { name, trees, ...base };
  } catch (err) {
    if (!(err instanceof ParseFailure)) throw err;
    const where = { template: name, ...position(base, err.pos) };
    if (unsupported && err.message === `function "${unsupported.name}" not defined`) {
      throw new TemplateError('unsupported', where, unsupported.reason, { func: unsupported.name });
    }
    throw new TemplateError('parse', where, err.message);
  }
}

/** Renders a parsed template. Throws TemplateError (kind 'exec') when execution fails. */
export function render(t: CompiledTemplate, ctx: RenderContext = {}): RenderResult {
  const state: RenderState = {
    ctx,
    env: new Set(),
    files: new Set(),
    vars: new Set(),
    varLists: new Set(),
    services: new Set(),
    missing: new Set(),
  };
  const ex = new Exec(t.trees as Map<string, Node[]>, FUNCTIONS, ctx.errorOnMissingKey ?? false, t.name, state);
  try {
    ex.run(t.name, undefined);
  } catch (err) {
    if (!(err instanceof ExecFailure)) throw err;
    const context = t.text.slice(err.pos, err.end).replace(/\s+/g, ' ');
    throw new TemplateError(
      err.unsupportedFunc ? 'unsupported' : 'exec',
      { template: t.name, ...position(t, err.pos) },
      err.message,
      { cause: err.cause, context: context.length > 20 ? context.slice(0, 20) + '...' : context, executing: err.executing, func: err.unsupportedFunc },
    );
  }
  return {
    text: ex.out,
    deps: {
      env: [...state.env],
      files: [...state.files],
      vars: [...state.vars],
      varLists: [...state.varLists],
      services: [...state.services],
    },
    missing: [...state.missing],
  };
}

const SOCKADDR_CACHE = new Map<string, CompiledTemplate>();
let sockaddrFuncs: { net: unknown; funcs: Map<string, TemplateFunc> } | undefined;

/** consul-template's sockaddr: `{{ <args> }}` as a go-sockaddr template. */
function sockaddr(expr: string, state: RenderState): string {
  const net = state.ctx.network ?? hostNetwork;
  if (sockaddrFuncs?.net !== net) sockaddrFuncs = { net, funcs: sockaddrFunctions(net) };
  const funcs = sockaddrFuncs.funcs;
  let compiled = SOCKADDR_CACHE.get(expr);
  if (!compiled) {
    const text = `{{ ${expr} }}`;
    try {
      const { trees } = parse(text, 'sockaddr', '{{', '}}', (n) => funcs.has(n));
      compiled = { name: 'sockaddr', text, trees, lineStarts: [0], baseLine: 1 };
    } catch (err) {
      throw new Error(`unable to parse sockaddr template ${JSON.stringify(expr)}: ${(err as Error).message} (tend supports GetPrivateIP, GetPublicIP, GetInterfaceIP, GetAllInterfaces | include | exclude | sort | limit | attr | join and friends)`);
    }
    if (SOCKADDR_CACHE.size > 256) SOCKADDR_CACHE.clear();
    SOCKADDR_CACHE.set(expr, compiled);
  }
  const ex = new Exec(compiled.trees as Map<string, Node[]>, funcs, false, 'sockaddr', state);
  try {
    ex.run('sockaddr', undefined);
  } catch (err) {
    throw new Error(`sockaddr ${JSON.stringify(expr)}: ${(err as Error).message}`);
  }
  return ex.out === printValue(undefined) ? '' : ex.out;
}
