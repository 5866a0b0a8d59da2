/**
 * The evaluator of Go's text/template (exec.go): walks the parse trees with
 * a dot and a variable stack and writes the output. Missing map keys behave
 * as consul-template sets them: `missingkey=zero` by default (a nil
 * interface, printed `<no value>`), `missingkey=error` with
 * error_on_missing_key.
 */
import type { RenderState, StateRuntime } from './data-funcs.js';
import type { ArgNode, BranchNode, CommandNode, Node, PipeNode, TemplateNode } from './nodes.js';
import { GoChannel, GoObject, NO_FIELD, isPlainMap, isTrue, kindOf, printValue, sortedEntries, typeName } from './values.js';

/** A function callable from templates. */
export interface TemplateFunc {
  /** Number of parameters; with `variadic`, the minimum. */
  arity: number;
  variadic?: boolean;
  call(args: unknown[], rt: Runtime): unknown;
}

/** A wrong argument type: reported as Go's evalArg does, not as "error calling". */
export class ArgTypeError extends Error {}

/** An error the evaluator reports at a node (the caller adds name and position). */
export class ExecFailure extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly end: number,
    readonly executing: string,
    readonly unsupportedFunc?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown by a function that one node cannot serve (Consul, Vault, …). */
export class UnsupportedFunction extends Error {
  constructor(
    readonly func: string,
    message: string,
  ) {
    super(message);
  }
}

/** What functions may use of the running execution: the render state and executeTemplate. */
export type Runtime = StateRuntime;

/** Go allows 100000 nested template calls; JS stacks hold fewer, and real templates nest a few levels. */
const MAX_DEPTH = 1000;
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

export class Exec implements Runtime {
  out = '';
  #vars: Array<{ name: string; value: unknown }> = [];
  #depth = 0;
  #executing: string;
  #node: { pos: number; end: number } = { pos: 0, end: 0 };

  constructor(
    readonly trees: Map<string, Node[]>,
    readonly funcs: Map<string, TemplateFunc>,
    readonly errorOnMissingKey: boolean,
    name: string,
    readonly state: RenderState,
  ) {
    this.#executing = name;
  }

  /** Runs template `name` with `dot` into `out`. */
  run(name: string, dot: unknown): void {
    const tree = this.trees.get(name);
    if (!tree) this.#fail(`no such template "${name}"`);
    const savedVars = this.#vars;
    const savedName = this.#executing;
    this.#vars = [{ name: '$', value: dot }];
    this.#executing = name;
    if (++this.#depth > MAX_DEPTH) this.#fail(`exceeded maximum template depth (${MAX_DEPTH})`);
    try {
      this.#walkList(dot, tree);
    } finally {
      this.#depth--;
      this.#vars = savedVars;
      this.#executing = savedName;
    }
  }

  executeTemplate(name: string, dot: unknown): string {
    const saved = this.out;
    this.out = '';
    try {
      this.run(name, dot);
      return this.out;
    } finally {
      this.out = saved;
    }
  }

  #fail(msg: string, node: { pos: number; end: number } = this.#node, cause?: unknown, func?: string): never {
    throw new ExecFailure(msg, node.pos, node.end, this.#executing, func, cause === undefined ? undefined : { cause });
  }

  #walkList(dot: unknown, list: Node[]): typeof BREAK | typeof CONTINUE | undefined {
    for (let i = 0; i < list.length; i++) {
      const r = this.#walk(dot, list[i]);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  #walk(dot: unknown, node: Node): typeof BREAK | typeof CONTINUE | undefined {
    this.#node = node;
    switch (node.type) {
      case 'text':
        this.out += node.text;
        return undefined;
      case 'action': {
        const v = this.#evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out += this.#printable(v, node);
        return undefined;
      }
      case 'if':
      case 'with':
        return this.#walkIfOrWith(dot, node);
      case 'range':
        return this.#walkRange(dot, node);
      case 'template':
        this.#walkTemplate(dot, node);
        return undefined;
      case 'break':
        return BREAK;
      case 'continue':
        return CONTINUE;
    }
  }

  #printable(v: unknown, node: { pos: number; end: number }): string {
    if (typeof v === 'function' || v instanceof GoChannel) this.#fail(`can't print value of type ${typeName(v)}`, node);
    return printValue(v === null ? undefined : v);
  }

  #walkIfOrWith(dot: unknown, node: BranchNode): typeof BREAK | typeof CONTINUE | undefined {
    const mark = this.#vars.length;
    try {
      const v = this.#evalPipeline(dot, node.pipe);
      if (isTrue(v)) return this.#walkList(node.type === 'with' ? v : dot, node.list);
      if (node.elseList) return this.#walkList(dot, node.elseList);
      return undefined;
    } finally {
      this.#vars.length = mark;
    }
  }

  #walkRange(dot: unknown, node: BranchNode): typeof BREAK | typeof CONTINUE | undefined {
    const mark = this.#vars.length;
    try {
      const pipe = node.pipe;
      const v = this.#evalPipeline(dot, pipe, false);
      let entries: Array<[unknown, unknown]>;
      const kind = kindOf(v);
      if (v instanceof GoChannel) {
        if (pipe.decl.length > 1) this.#fail(`can't use ${printValue(v)} to iterate over more than one variable`, node);
        entries = v.items.map((x, i) => [i, x]);
      } else if (Array.isArray(v)) {
        entries = v.map((x, i) => [i, x]);
      } else if (v instanceof GoObject && v.goKind !== 'struct') {
        entries = v.goEntries();
      } else if (kind === 'map') {
        entries = sortedEntries(v as Record<string, unknown>);
      } else if (kind === 'int') {
        if (pipe.decl.length > 1) this.#fail(`can't use ${printValue(v)} to iterate over more than one variable`, node);
        entries = [];
        for (let i = 0; i < (v as number); i++) entries.push([i, i]);
      } else if (v === undefined || v === null) {
        entries = [];
      } else {
        this.#fail(`range can't iterate over ${printValue(v)}`, node);
      }
      if (entries.length === 0) {
        if (node.elseList) return this.#walkList(dot, node.elseList);
        return undefined;
      }
      for (const [k, x] of entries) {
        if (pipe.decl.length === 1) this.#setOrPush(pipe, 0, x, mark);
        else if (pipe.decl.length === 2) {
          this.#setOrPush(pipe, 0, k, mark);
          this.#setOrPush(pipe, 1, x, mark + 1);
        }
        const r = this.#walkList(x, node.list);
        this.#vars.length = mark + (pipe.isAssign ? 0 : pipe.decl.length);
        if (r === BREAK) break;
      }
      return undefined;
    } finally {
      this.#vars.length = mark;
    }
  }

  #setOrPush(pipe: PipeNode, i: number, value: unknown, at: number): void {
    if (pipe.isAssign) this.#setVar(pipe.decl[i], value, pipe);
    else this.#vars[at] = { name: pipe.decl[i], value };
  }

  #walkTemplate(dot: unknown, node: TemplateNode): void {
    if (!this.trees.has(node.name)) this.#fail(`template "${node.name}" not defined`, node);
    const newDot = node.pipe ? this.#evalPipeline(dot, node.pipe) : undefined;
    this.run(node.name, newDot === null ? undefined : newDot);
  }

  #setVar(name: string, value: unknown, node: { pos: number; end: number }): void {
    for (let i = this.#vars.length - 1; i >= 0; i--) {
      if (this.#vars[i].name === name) {
        this.#vars[i].value = value;
        return;
      }
    }
    this.#fail(`undefined variable: ${name}`, node);
  }

  #varValue(name: string, node: { pos: number; end: number }): unknown {
    for (let i = this.#vars.length - 1; i >= 0; i--) if (this.#vars[i].name === name) return this.#vars[i].value;
    this.#fail(`undefined variable: ${name}`, node);
  }

  #evalPipeline(dot: unknown, pipe: PipeNode, declare = true): unknown {
    let value: unknown = NO_FINAL;
    for (let i = 0; i < pipe.cmds.length; i++) value = this.#evalCommand(dot, pipe.cmds[i], value);
    if (declare) for (const name of pipe.decl) {
      if (pipe.isAssign) this.#setVar(name, value, pipe);
      else this.#vars.push({ name, value });
    }
    return value;
  }

  #evalCommand(dot: unknown, cmd: CommandNode, final: unknown): unknown {
    const first = cmd.args[0];
    this.#node = first;
    switch (first.type) {
      case 'field':
        return this.#evalFieldChain(dot, dot, first, first.ident, 0, cmd.args, final);
      case 'chain': {
        const recv = this.#evalArg(dot, first.node);
        return this.#evalFieldChain(dot, recv, first, first.field, 0, cmd.args, final);
      }
      case 'identifier':
        return this.#evalFunction(dot, first.name, cmd, cmd.args, final);
      case 'pipe':
        this.#notAFunction(cmd.args, final, first);
        return this.#evalPipeline(dot, first);
      case 'variable': {
        const v = this.#varValue(first.ident[0], first);
        if (first.ident.length === 1) {
          this.#notAFunction(cmd.args, final, first);
          return v;
        }
        return this.#evalFieldChain(dot, v, first, first.ident, 1, cmd.args, final);
      }
    }
    this.#notAFunction(cmd.args, final, first);
    switch (first.type) {
      case 'literal':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.#fail('nil is not a command', first);
    }
  }

  #notAFunction(args: ArgNode[], final: unknown, node: ArgNode): void {
    if (args.length > 1 || final !== NO_FINAL) this.#fail(`can't give argument to non-function ${this.#source(node)}`, node);
  }

  #source(node: ArgNode): string {
    switch (node.type) {
      case 'field':
        return '.' + node.ident.join('.');
      case 'variable':
        return node.ident.join('.');
      case 'literal':
        return typeof node.value === 'string' ? JSON.stringify(node.value) : printValue(node.value);
      case 'dot':
        return '.';
      case 'nil':
        return 'nil';
      case 'identifier':
        return node.name;
      default:
        return '(…)';
    }
  }

  #evalFieldChain(dot: unknown, recv: unknown, node: ArgNode, ident: string[], from: number, args: ArgNode[], final: unknown): unknown {
    const last = ident.length - 1;
    for (let i = from; i < last; i++) recv = this.#evalField(dot, ident[i], node, undefined, NO_FINAL, recv);
    return this.#evalField(dot, ident[last], node, args, final, recv);
  }

  #evalField(dot: unknown, name: string, node: ArgNode, args: ArgNode[] | undefined, final: unknown, recv: unknown): unknown {
    this.#node = node;
    if (recv === undefined) {
      if (this.errorOnMissingKey) this.#fail(`nil data; no entry for key "${name}"`, node);
      return undefined;
    }
    if (recv === null) this.#fail(`nil pointer evaluating interface {}.${name}`, node);
    const hasArgs = (args !== undefined && args.length > 1) || final !== NO_FINAL;
    if (recv instanceof GoObject) {
      const method = recv.goMethod(name);
      if (method) {
        const argv = this.#evalArgs(dot, args, final);
        try {
          return method(...argv);
        } catch (err) {
          if (err instanceof ExecFailure) throw err;
          this.#fail(err instanceof ArgTypeError ? err.message : `error calling ${name}: ${(err as Error).message}`, node, err);
        }
      }
      if (recv.goKind === 'struct') {
        const f = recv.goField(name);
        if (f !== NO_FIELD) {
          if (hasArgs) this.#fail(`${name} has arguments but cannot be invoked as function`, node);
          return f;
        }
      } else if (recv.goKind === 'map') {
        if (hasArgs) this.#fail(`${name} is not a method but has arguments`, node);
        const v = recv.goGet(name);
        if (v !== NO_FIELD) return v;
        if (this.errorOnMissingKey) this.#fail(`map has no entry for key "${name}"`, node);
        return recv.goZero();
      }
    } else if (isPlainMap(recv)) {
      if (hasArgs) this.#fail(`${name} is not a method but has arguments`, node);
      if (Object.hasOwn(recv, name)) return recv[name];
      if (this.errorOnMissingKey) this.#fail(`map has no entry for key "${name}"`, node);
      return null;
    }
    this.#fail(`can't evaluate field ${name} in type ${typeName(recv)}`, node);
  }

  #evalArgs(dot: unknown, args: ArgNode[] | undefined, final: unknown): unknown[] {
    const out: unknown[] = [];
    if (args) for (let i = 1; i < args.length; i++) out.push(this.#evalArg(dot, args[i]));
    if (final !== NO_FINAL) out.push(final);
    return out;
  }

  #evalArg(dot: unknown, arg: ArgNode): unknown {
    this.#node = arg;
    switch (arg.type) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'literal':
        return arg.value;
      case 'field':
        return this.#evalFieldChain(dot, dot, arg, arg.ident, 0, [arg], NO_FINAL);
      case 'variable': {
        const v = this.#varValue(arg.ident[0], arg);
        return arg.ident.length === 1 ? v : this.#evalFieldChain(dot, v, arg, arg.ident, 1, [arg], NO_FINAL);
      }
      case 'pipe':
        return this.#evalPipeline(dot, arg);
      case 'identifier':
        return this.#evalFunction(dot, arg.name, arg, [arg], NO_FINAL);
      case 'chain': {
        const recv = this.#evalArg(dot, arg.node);
        return this.#evalFieldChain(dot, recv, arg, arg.field, 0, [arg], NO_FINAL);
      }
    }
  }

  #evalFunction(dot: unknown, name: string, node: { pos: number; end: number }, args: ArgNode[], final: unknown): unknown {
    const fn = this.funcs.get(name);
    if (!fn) this.#fail(`"${name}" is not a defined function`, node);
    const n = args.length - 1 + (final !== NO_FINAL ? 1 : 0);
    if (fn.variadic ? n < fn.arity : n !== fn.arity) {
      this.#fail(`wrong number of args for ${name}: want ${fn.variadic ? 'at least ' : ''}${fn.arity} got ${n}`, node);
    }
    if (name === 'and' || name === 'or') {
      // Short-circuit: evaluate only as far as the answer needs (Go 1.18+).
      let v: unknown;
      for (let i = 1; i <= n; i++) {
        v = i < args.length ? this.#evalArg(dot, args[i]) : final;
        if (isTrue(v) === (name === 'or')) return v;
      }
      return v;
    }
    const argv = this.#evalArgs(dot, args, final);
    this.#node = node;
    try {
      return fn.call(argv, this);
    } catch (err) {
      if (err instanceof ExecFailure) throw err;
      if (err instanceof UnsupportedFunction) this.#fail(err.message, node, err, err.func);
      this.#fail(err instanceof ArgTypeError ? err.message : `error calling ${name}: ${(err as Error).message}`, node, err);
    }
  }
}

/** Marks "no piped value" (distinct from a piped undefined). */
const NO_FINAL: unique symbol = Symbol('no final');
