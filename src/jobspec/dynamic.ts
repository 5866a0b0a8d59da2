/**
 * `dynamic` blocks, expanded as HCL does: for each element of `for_each`
 * (a list, set or map, known at load time) one block of the labelled type,
 * with the `content` block as its body and the `labels` list as its labels;
 * inside, the iterator (`iterator = name`, the block type by default) holds
 * `key` (index or map key) and `value`. Generated bodies are marked with the
 * names they bind, so the schema walk evaluates them with those names in
 * scope; a nested `dynamic` sees the iterators of the blocks around it.
 */
import type { Value } from './expr/index.js';
import type { PathStep } from './locate.js';
import type { BlockSchema } from './schema.js';
import { suggest } from './expr/index.js';

/** On a generated body: the names it binds and where its `content` block is written. */
export const DYNAMIC_ORIGIN = Symbol('dynamic origin');

export interface DynamicOrigin {
  bound: Record<string, Value>;
  /** `… › dynamic "template" › content`: where diagnostics about the body point. */
  steps: PathStep[];
}

/** What expansion needs from the schema walk. */
export interface DynamicHost {
  /** Evaluate with the current names plus `extra` bound; undefined when it failed (already reported). */
  evaluate(value: unknown, steps: PathStep[], attr: string, extra?: Record<string, Value>): { ok: boolean; value: unknown };
  error(steps: PathStep[], attr: string | undefined, message: string, hint?: string): void;
}

const DYNAMIC_KEYS = ['for_each', 'iterator', 'labels', 'content'];
const IDENT = /^[A-Za-z_][\w-]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const describe = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : String(v));

/** The body with its `dynamic` blocks replaced by the blocks they generate (after the static ones of each type). */
export function expandDynamic(raw: Record<string, unknown>, schema: BlockSchema, steps: PathStep[], host: DynamicHost): Record<string, unknown> {
  const { dynamic, ...out } = raw;
  if (!isObject(dynamic)) {
    host.error(steps, 'dynamic', `expected a "dynamic" block with 1 label, got ${describe(dynamic)}`);
    return out;
  }
  for (const [type, decls] of Object.entries(dynamic)) {
    const sub = schema.blocks?.[type];
    (Array.isArray(decls) ? decls : [decls]).forEach((decl, index) => {
      const at: PathStep[] = [...steps, { type: 'dynamic', labels: [type], ...(index ? { index } : {}) }];
      if (!sub) {
        const near = suggest(type, Object.keys(schema.blocks ?? {}));
        host.error(at, undefined, `expected a block type for "dynamic", got "${type}", which is not a block here`, near ? `did you mean "${near}"?` : undefined);
        return;
      }
      if (!isObject(decl)) return host.error(steps, 'dynamic', `expected a "dynamic" block body, got ${describe(decl)}`);
      const made = expandOne(decl, type, sub.labels ?? 0, at, host);
      for (const m of made) addBlock(out, type, m.labels, m.body);
    });
  }
  return out;
}

function expandOne(decl: Record<string, unknown>, type: string, labelCount: number, at: PathStep[], host: DynamicHost): { labels: string[]; body: Record<string, unknown> }[] {
  for (const key of Object.keys(decl)) {
    if (!DYNAMIC_KEYS.includes(key)) {
      const near = suggest(key, DYNAMIC_KEYS);
      host.error(at, key, `unknown field "${key}" in a dynamic block`, near ? `did you mean "${near}"?` : undefined);
    }
  }
  if (!('for_each' in decl)) return void host.error(at, undefined, 'missing required field "for_each" in dynamic block'), [];
  const contents = Array.isArray(decl.content) ? decl.content : decl.content === undefined ? [] : [decl.content];
  if (contents.length !== 1 || !isObject(contents[0])) {
    host.error(at, contents.length > 1 ? 'content' : undefined, `expected exactly one "content" block in dynamic "${type}", got ${contents.length}`);
    return [];
  }
  let name = type;
  if (decl.iterator !== undefined) {
    const m = typeof decl.iterator === 'string' ? /^\$\{\s*([^{}]*?)\s*\}$/.exec(decl.iterator) : null;
    if (!m || !IDENT.test(m[1])) return void host.error(at, 'iterator', `expected a name for "iterator" like iterator = item, got ${describe(decl.iterator)}`), [];
    name = m[1];
  }
  const each = host.evaluate(decl.for_each, at, 'for_each');
  if (!each.ok) return [];
  const items = elements(each.value);
  if (items === undefined) {
    const runtime = typeof each.value === 'string' && each.value.includes('${');
    host.error(at, 'for_each', `expected a list, set or map for "for_each"${runtime ? ' known when the file is loaded' : ''}, got ${describe(each.value)}`);
    return [];
  }
  const contentSteps: PathStep[] = [...at, { type: 'content' }];
  const out: { labels: string[]; body: Record<string, unknown> }[] = [];
  for (const [key, value] of items) {
    const bound = { [name]: { key, value } as Value };
    let labels: string[] = [];
    if (decl.labels !== undefined) {
      const got = host.evaluate(decl.labels, at, 'labels', bound);
      if (!got.ok) continue;
      if (!Array.isArray(got.value) || !got.value.every((l) => typeof l === 'string' || typeof l === 'number')) {
        host.error(at, 'labels', `expected a list of strings for "labels", got ${describe(got.value)}`);
        return out;
      }
      labels = got.value.map(String);
    }
    if (labels.length !== labelCount) {
      host.error(at, 'labels', `expected ${labelCount} label${labelCount === 1 ? '' : 's'} for a "${type}" block, got ${labels.length}`);
      return out;
    }
    const body: Record<string, unknown> = { ...contents[0] };
    Object.defineProperty(body, DYNAMIC_ORIGIN, { value: { bound, steps: contentSteps } satisfies DynamicOrigin, enumerable: false });
    out.push({ labels, body });
  }
  return out;
}

/** (key, value) pairs: index and element for a list, sorted keys for a map. */
function elements(v: unknown): [Value, Value][] | undefined {
  if (Array.isArray(v)) return v.map((x, i) => [i, x as Value]);
  if (isObject(v)) return Object.keys(v).sort().map((k) => [k, v[k] as Value]);
  return undefined;
}

/** Add one block to an hcl2json-shaped body: `type: [body]` or `type: {label: … [body]}`; never mutates the parse result. */
function addBlock(out: Record<string, unknown>, type: string, labels: string[], body: Record<string, unknown>): void {
  if (labels.length === 0) {
    const prev = out[type];
    out[type] = [...(Array.isArray(prev) ? prev : prev === undefined ? [] : [prev]), body];
    return;
  }
  const root: Record<string, unknown> = isObject(out[type]) ? { ...(out[type] as Record<string, unknown>) } : {};
  out[type] = root;
  let node = root;
  labels.forEach((label, i) => {
    const last = i === labels.length - 1;
    const prev = node[label];
    if (last) {
      node[label] = [...(Array.isArray(prev) ? prev : prev === undefined ? [] : [prev]), body];
    } else {
      const next: Record<string, unknown> = isObject(prev) ? { ...prev } : {};
      node[label] = next;
      node = next;
    }
  });
}
