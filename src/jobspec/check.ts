/**
 * The schema walk: takes the hcl2json-shaped value of a file (blocks as
 * label-keyed objects holding lists of bodies, or as plain objects in TOML
 * and JSON), evaluates attribute values, checks names and types against
 * schema.ts, and returns a tree of checked bodies. Every problem becomes a
 * diagnostic; the walk never stops at the first one.
 */
import { ExprError, suggest, type EvalScope, type Value } from './expr/index.js';
import type { PathStep } from './locate.js';
import type { Reporter } from './diagnostics.js';
import { execConfig, knownNames, otherConfig, type AttrType, type BlockSchema } from './schema.js';
import { evaluateValue, stringsIn } from './evaluate.js';
import { checkRuntimeRef, runtimeRefsIn } from './runtime-refs.js';
import { parseDuration } from './duration.js';
import { mentionsUnset } from './variables.js';
import { DYNAMIC_ORIGIN, expandDynamic, type DynamicOrigin } from './dynamic.js';

/** One checked block: evaluated, typed attributes and nested blocks by type. */
export interface Body {
  steps: PathStep[];
  labels: string[];
  attrs: Record<string, unknown>;
  blocks: Record<string, Body[]>;
  /** Attribute names as written (for "explicitly set" checks). */
  written: Set<string>;
}

export const EXEC_DRIVERS = ['exec', 'raw_exec'];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const describe = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : String(v));

export class Checker {
  readonly #r: Reporter;
  readonly #scope: EvalScope;
  readonly #unset: Set<string>;
  /** Names bound by the `dynamic` blocks around the body being checked. */
  #bound: Record<string, Value> = {};

  /** `unset`: variables already reported as having no value (their uses are not reported again). */
  constructor(reporter: Reporter, scope: EvalScope, unset: Set<string> = new Set()) {
    this.#r = reporter;
    this.#scope = scope;
    this.#unset = unset;
  }

  /** Expand a block value into its instances: `{label: [body]}` / `[body]` / `{…}`. */
  instances(value: unknown, labels: number, steps: PathStep[], type: string): { labels: string[]; body: unknown }[] {
    const out: { labels: string[]; body: unknown }[] = [];
    const walk = (v: unknown, got: string[]): void => {
      if (got.length === labels) {
        if (Array.isArray(v)) for (const b of v) out.push({ labels: got, body: b });
        else out.push({ labels: got, body: v });
        return;
      }
      if (!isObject(v)) {
        this.#r.error('schema', steps, type, `expected a "${type}" block with ${labels} label${labels === 1 ? '' : 's'}, got ${describe(v)}`);
        return;
      }
      for (const [k, sub] of Object.entries(v)) walk(sub, [...got, k]);
    };
    walk(value, []);
    return out;
  }

  /** Evaluate one value (with `extra` names bound besides the dynamic iterators in force); reports and returns undefined on failure. */
  evaluate(value: unknown, steps: PathStep[], attr: string, extra?: Record<string, Value>): { ok: boolean; value: unknown } {
    for (const s of stringsIn(value)) {
      for (const ref of runtimeRefsIn(s)) {
        const v = checkRuntimeRef(ref);
        if (v.ok) continue;
        const near = v.candidates ? suggest(ref, v.candidates) : undefined;
        this.#r.report(v.severity, v.severity === 'error' ? 'schema' : 'unsupported', steps, attr, v.message, near ? `did you mean "\${${near}}"?` : undefined);
      }
    }
    const onUnknownRef = (ref: string, _offset: number, hint?: string): void => {
      // Kept as written, as Nomad does; a warning only when it looks like a typo of a known root.
      if (hint) this.#r.warn('schema', steps, attr, `\${${ref}} is not a variable, local or runtime reference; it stays as written`, hint);
    };
    const bound = extra ? { ...this.#bound, ...extra } : this.#bound;
    try {
      return { ok: true, value: evaluateValue(value, { ...this.#scope, bound, onUnknownRef }) };
    } catch (err) {
      if (mentionsUnset(err, this.#unset)) return { ok: false, value: undefined };
      if (err instanceof ExprError) this.#r.error('schema', steps, attr, err.message, err.hint);
      else this.#r.error('schema', steps, attr, `failed to evaluate expression: ${err instanceof Error ? err.message : String(err)}`);
      return { ok: false, value: undefined };
    }
  }

  /** Check a body against a schema. */
  body(raw: unknown, schema: BlockSchema, steps: PathStep[], labels: string[]): Body {
    const origin = isObject(raw) ? ((raw as Record<symbol, unknown>)[DYNAMIC_ORIGIN] as DynamicOrigin | undefined) : undefined;
    if (!origin) return this.#body(raw, schema, steps, labels);
    const outer = this.#bound;
    this.#bound = { ...outer, ...origin.bound };
    try {
      return this.#body(raw, schema, origin.steps, labels);
    } finally {
      this.#bound = outer;
    }
  }

  #body(raw: unknown, schema: BlockSchema, steps: PathStep[], labels: string[]): Body {
    const out: Body = { steps, labels, attrs: {}, blocks: {}, written: new Set() };
    const last = steps[steps.length - 1];
    if (!isObject(raw)) {
      // A map block (env, meta, …) may be given as one expression, as Nomad's HCL2 parser allows: `env = local.env`.
      if (schema.open && typeof raw === 'string' && raw.includes('${')) {
        const e = this.evaluate(raw, steps.slice(0, -1), last?.type ?? '');
        if (!e.ok) return out;
        if (isObject(e.value)) {
          for (const [k, v] of Object.entries(e.value)) {
            out.written.add(k);
            out.attrs[k] = v;
          }
          return out;
        }
        this.#r.error('schema', steps.slice(0, -1), last?.type, `expected a map, got ${describe(e.value)}`);
        return out;
      }
      this.#r.error('schema', steps.slice(0, -1), last?.type, `expected a block body, got ${describe(raw)}`);
      return out;
    }
    const fields = 'dynamic' in raw && !schema.open && !schema.blocks?.dynamic ? this.#expand(raw, schema, steps) : raw;
    if (schema.open) {
      for (const [k, v] of Object.entries(fields)) {
        out.written.add(k);
        const e = this.evaluate(v, steps, k);
        if (e.ok) out.attrs[k] = e.value;
      }
      return out;
    }
    for (const [key, value] of Object.entries(fields)) {
      out.written.add(key);
      let sub = schema.blocks?.[key];
      if (sub && key === 'config' && schema.blocks?.config === otherConfig) {
        const driver = this.evaluate(fields.driver, steps, 'driver').value;
        sub = typeof driver === 'string' && EXEC_DRIVERS.includes(driver) ? execConfig : otherConfig;
      }
      if (sub) {
        if (sub.warn) this.#r.warn('unsupported', steps, key, `"${key}" ${sub.warn}; ignored`);
        const insts = this.instances(value, sub.labels ?? 0, steps, key);
        if (sub.single && insts.length > 1) {
          this.#r.error('schema', [...steps, { type: key, index: 1 }], undefined, `expected at most one "${key}" block, got ${insts.length}`);
        }
        const list: Body[] = (out.blocks[key] ??= []);
        const seen = new Map<string, number>();
        for (const inst of insts) {
          const id = inst.labels.join('\0');
          const index = seen.get(id) ?? 0;
          seen.set(id, index + 1);
          const step: PathStep = { type: key, ...(inst.labels.length ? { labels: inst.labels } : {}), ...(index ? { index } : {}) };
          list.push(this.body(inst.body, sub, [...steps, step], inst.labels));
        }
        continue;
      }
      const type = schema.attrs?.[key];
      if (type !== undefined) {
        const e = this.evaluate(value, steps, key);
        if (!e.ok) continue;
        const v = this.coerce(e.value, type, steps, key);
        if (v !== undefined) out.attrs[key] = v;
        continue;
      }
      const reason = schema.ignored?.[key];
      if (reason !== undefined) {
        this.#r.warn('unsupported', steps, key, `"${key}" ${reason}; ignored`);
        continue;
      }
      const near = suggest(key, knownNames(schema));
      this.#r.error('schema', steps, key, `unknown field "${key}"`, near ? `did you mean "${near}"?` : undefined);
    }
    return out;
  }

  #expand(raw: Record<string, unknown>, schema: BlockSchema, steps: PathStep[]): Record<string, unknown> {
    return expandDynamic(raw, schema, steps, {
      evaluate: (v, at, attr, extra) => this.evaluate(v, at, attr, extra),
      error: (at, attr, message, hint) => this.#r.error('schema', at, attr, message, hint),
    });
  }

  /** Convert an evaluated value to the attribute's type, as HCL's conversions do (`"500"` → 500). */
  coerce(v: unknown, type: AttrType, steps: PathStep[], attr: string): unknown {
    const bad = (expected: string, hint?: string) => {
      this.#r.error('schema', steps, attr, `expected ${expected}, got ${describe(v)}`, hint);
      return undefined;
    };
    if (v === null) return undefined;
    if (Array.isArray(type)) {
      if (typeof v === 'string' && type.includes(v)) return v;
      const near = typeof v === 'string' ? suggest(v, type) : undefined;
      return bad(`one of ${type.map((t) => JSON.stringify(t)).join(', ')}`, near ? `did you mean "${near}"?` : undefined);
    }
    switch (type) {
      case 'any':
        return v;
      case 'string':
        if (typeof v === 'string') return v;
        if (typeof v === 'number' || typeof v === 'boolean') return String(v);
        return bad('a string');
      case 'number':
        if (typeof v === 'number') return v;
        if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
        return bad('a number');
      case 'int': {
        const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
        if (Number.isInteger(n)) return n;
        return bad('a whole number', Number.isFinite(n) ? `did you mean ${Math.round(n)}?` : undefined);
      }
      case 'bool':
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 'false') return v === 'true';
        return bad('a bool');
      case 'duration': {
        const ms = parseDuration(v);
        return ms === undefined ? bad('a duration like "30s"') : ms;
      }
      case 'strings':
        if (!Array.isArray(v)) return bad('a list of strings');
        if (v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) return v.map(String);
        return bad('a list of strings');
      case 'map':
        if (!isObject(v)) return bad('a map');
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]));
    }
  }
}
