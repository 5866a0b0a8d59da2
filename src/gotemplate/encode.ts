/**
 * consul-template's data functions: toJSON / toJSONPretty as Go's
 * encoding/json writes them (sorted keys, `<>&` escaped), toYAML as
 * yaml.v2 does, toTOML as BurntSushi/toml does, and parseJSON / parseYAML
 * into Go's dynamic values (JSON numbers are float64).
 */
import { createRequire } from 'node:module';
import type { TemplateFunc } from './exec.js';
import { str } from './helpers.js';
import { GoChannel, GoFloat, GoObject, compareStrings, isPlainMap, sortedEntries, typeName } from './values.js';

/** yaml, required by the first toYAML or parseYAML: most templates use neither (~1.5 MiB of the agent's RSS). */
let yamlLib: typeof import('yaml') | undefined;
const yaml = () => (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

const fn = (call: TemplateFunc['call']): TemplateFunc => ({ arity: 1, call });

/** The value encoding/json sees: GoObjects as their JSON form, floats unboxed. */
function plain(v: unknown): unknown {
  if (v instanceof GoObject) return plain(v.goJSON());
  if (v instanceof GoFloat) {
    if (!Number.isFinite(v.value)) throw new Error(`json: unsupported value: ${v.value === Infinity ? '+Inf' : v.value === -Infinity ? '-Inf' : 'NaN'}`);
    return v.value;
  }
  if (v instanceof GoChannel) throw new Error(`json: unsupported type: ${v.goType}`);
  if (typeof v === 'function') throw new Error('json: unsupported type: func');
  if (Array.isArray(v)) return v.map(plain);
  if (isPlainMap(v)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, x] of sortedEntries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

function jsonString(s: string, escapeHTML: boolean): string {
  let q = JSON.stringify(s).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
  if (escapeHTML) q = q.replace(/[<>&]/g, (c) => (c === '<' ? '\\u003c' : c === '>' ? '\\u003e' : '\\u0026'));
  return q;
}

/** Go's json.Marshal / MarshalIndent(v, "", indent). */
export function goJSON(v: unknown, indent = '', escapeHTML = true): string {
  const enc = (x: unknown, depth: number): string => {
    if (x === undefined || x === null) return 'null';
    if (typeof x === 'string') return jsonString(x, escapeHTML);
    if (typeof x === 'number') return JSON.stringify(x);
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    const nl = indent ? '\n' + indent.repeat(depth + 1) : '';
    const close = indent ? '\n' + indent.repeat(depth) : '';
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      return '[' + x.map((e) => nl + enc(e, depth + 1)).join(',') + close + ']';
    }
    const keys = Object.keys(x as object).sort(compareStrings);
    if (keys.length === 0) return '{}';
    const sep = indent ? ': ' : ':';
    return '{' + keys.map((k) => nl + jsonString(k, escapeHTML) + sep + enc((x as Record<string, unknown>)[k], depth + 1)).join(',') + close + '}';
  };
  return enc(plain(v), 0);
}

/** yaml.v2's key order: byte order, except that runs of digits compare as numbers. */
function yamlKeyCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) return Number(x) - Number(y) || compareStrings(x, y);
    return compareStrings(x, y);
  }
  return pa.length - pb.length;
}

/** yaml.v2's Marshal, trimmed as consul-template trims it. */
export function goYAML(v: unknown): string {
  const toYamlValue = (x: unknown): unknown => {
    if (x instanceof GoFloat) return x.value;
    if (x instanceof GoObject) return toYamlValue(x.goJSON());
    if (Array.isArray(x)) return x.map(toYamlValue);
    if (isPlainMap(x)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort(yamlKeyCompare)) out[k] = toYamlValue(x[k]);
      return out;
    }
    return x === undefined ? null : x;
  };
  const doc = new (yaml().Document)(toYamlValue(v), { version: '1.1', sortMapEntries: (a, b) => yamlKeyCompare(String(a.key), String(b.key)) });
  return doc.toString({ indentSeq: false, lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN', nullStr: 'null' }).trim();
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

function tomlKey(k: string): string {
  return BARE_KEY.test(k) ? k : tomlString(k);
}

function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/gi, '\\u007F');
}

function tomlValue(x: unknown): string {
  if (typeof x === 'string') return tomlString(x);
  if (typeof x === 'boolean') return String(x);
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : String(x);
  if (x instanceof GoFloat) {
    if (Number.isNaN(x.value)) return 'nan';
    if (!Number.isFinite(x.value)) return x.value > 0 ? 'inf' : '-inf';
    const s = String(x.value);
    return /[.e]/.test(s) ? s : s + '.0';
  }
  if (Array.isArray(x)) return '[' + x.map(tomlValue).join(', ') + ']';
  if (isPlainMap(x)) return '{' + sortedEntries(x).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}`).join(', ') + '}';
  throw new Error(`toml: cannot encode a value of type ${typeName(x)}`);
}

/** BurntSushi/toml's Encoder: plain keys first, then tables indented two spaces per level. */
export function goTOML(v: unknown): string {
  const root = plainForToml(v);
  if (!isPlainMap(root)) throw new Error(`toml: top-level values must be Go maps or structs`);
  const lines: string[] = [];
  const isTable = (x: unknown) => isPlainMap(x);
  const isTableArray = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every(isPlainMap);
  const writeTable = (m: Record<string, unknown>, path: string[], depth: number) => {
    const ind = '  '.repeat(Math.max(0, depth));
    const entries = sortedEntries(m).filter(([, x]) => x !== undefined && x !== null);
    for (const [k, x] of entries) if (!isTable(x) && !isTableArray(x)) lines.push(`${ind}${tomlKey(k)} = ${tomlValue(x)}`);
    for (const [k, x] of entries) {
      const p = [...path, tomlKey(k)];
      if (isTable(x)) {
        lines.push('', `${'  '.repeat(depth)}[${p.join('.')}]`);
        writeTable(x as Record<string, unknown>, p, depth + 1);
      } else if (isTableArray(x)) {
        for (const t of x as Array<Record<string, unknown>>) {
          lines.push('', `${'  '.repeat(depth)}[[${p.join('.')}]]`);
          writeTable(t, p, depth + 1);
        }
      }
    }
  };
  writeTable(root, [], 0);
  return lines.join('\n').trim();
}

function plainForToml(v: unknown): unknown {
  if (v instanceof GoObject) return plainForToml(v.goJSON());
  if (Array.isArray(v)) return v.map(plainForToml);
  if (isPlainMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainForToml(x);
    return out;
  }
  return v;
}

/** JSON as Go's json.Unmarshal into interface{}: numbers become float64. */
export function parseGoJSON(s: string): unknown {
  if (s === '') return {};
  return JSON.parse(s, (_k, x) => (typeof x === 'number' ? new GoFloat(x) : x));
}

/** YAML as yaml.v2 reads it into interface{}: ints stay ints, floats are float64. */
export function parseGoYAML(s: string): unknown {
  if (s === '') return {};
  const conv = (x: unknown): unknown => {
    if (typeof x === 'bigint') return Number(x);
    if (typeof x === 'number') return new GoFloat(x);
    if (x instanceof Date) return x.toISOString();
    if (Array.isArray(x)) return x.map(conv);
    if (x instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of x) out[String(k)] = conv(v);
      return out;
    }
    if (x !== null && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) out[k] = conv(v);
      return out;
    }
    return x === null ? null : x;
  };
  return conv(yaml().parse(s, { version: '1.1', intAsBigInt: true, mapAsMap: false }));
}

export function encodeFunctions(): Array<[string, TemplateFunc]> {
  const wrap = (name: string, f: (v: unknown) => string) =>
    fn(([v]) => {
      try {
        return f(v);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    });
  return [
    ['toJSON', wrap('toJSON', (v) => goJSON(v))],
    ['toJSONPretty', wrap('toJSONPretty', (v) => goJSON(v, '  '))],
    ['toUnescapedJSON', wrap('toUnescapedJSON', (v) => goJSON(v, '', false))],
    ['toUnescapedJSONPretty', wrap('toUnescapedJSONPretty', (v) => goJSON(v, '  ', false))],
    ['toYAML', wrap('toYAML', goYAML)],
    ['toTOML', wrap('toTOML', goTOML)],
    ['parseJSON', fn(([s]) => parseGoJSON(str(s)))],
    ['parseYAML', fn(([s]) => parseGoYAML(str(s)))],
  ];
}
