/** Encoding and hashing functions (Terraform semantics). */
import { createHash } from 'node:crypto';
import { ExprError, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import { describeValue, formatNumber, isObject, sortedKeys, toStr } from './values.js';

const fn = (min: number, max: number, call: (args: Value[]) => Value) => ({ min, max, call });
const str1 = (f: (s: string) => Value) => fn(1, 1, ([s]) => f(toStr(s)));

/** JSON as Terraform writes it: keys sorted, no spaces, `<` `>` `&` U+2028 U+2029 escaped. */
export function jsonEncode(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  if (Array.isArray(v)) return '[' + v.map(jsonEncode).join(',') + ']';
  return '{' + sortedKeys(v).map((k) => jsonEncode(k) + ':' + jsonEncode(v[k])).join(',') + '}';
}

function yamlScalar(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return formatNumber(v);
  return String(v);
}

/** Block-style YAML, strings double-quoted, map keys sorted (as Terraform's yamlencode). */
function yamlLines(v: Value, indent: string): string[] {
  if (Array.isArray(v)) {
    if (v.length === 0) return [indent + '[]'];
    return v.flatMap((item) => {
      if (typeof item === 'object' && item !== null && (Array.isArray(item) ? item.length : Object.keys(item).length) > 0) {
        const inner = yamlLines(item, indent + '  ');
        return [indent + '- ' + inner[0].slice(indent.length + 2), ...inner.slice(1)];
      }
      return [indent + '- ' + yamlLines(item, '')[0]];
    });
  }
  if (isObject(v)) {
    const keys = sortedKeys(v);
    if (keys.length === 0) return [indent + '{}'];
    return keys.flatMap((k) => {
      const item = v[k];
      const key = indent + JSON.stringify(k) + ':';
      if (typeof item === 'object' && item !== null && (Array.isArray(item) ? item.length : Object.keys(item).length) > 0) {
        return [key, ...yamlLines(item, Array.isArray(item) ? indent : indent + '  ')];
      }
      return [key + ' ' + yamlLines(item, '')[0]];
    });
  }
  return [indent + yamlScalar(v)];
}

/** RFC 4180 CSV: the first row names the columns; each further row becomes a map. */
function csvDecode(text: string): Value {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      endField();
      rows.push(row);
      row = [];
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new ExprError('expected a closing quote in the CSV text, got end of text');
  if (field !== '' || row.length > 0) {
    endField();
    rows.push(row);
  }
  if (rows.length === 0) throw new ExprError('expected a CSV header row, got empty text');
  const [header, ...records] = rows;
  return records.map((r, n) => {
    if (r.length !== header.length) throw new ExprError(`expected ${header.length} fields on CSV line ${n + 2}, got ${r.length}`);
    return Object.fromEntries(header.map((h, j) => [h, r[j]]));
  });
}

const hash = (algo: string) => str1((s) => createHash(algo).update(s, 'utf8').digest('hex'));

const UUID_NAMESPACES: Record<string, string> = {
  dns: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
  url: '6ba7b811-9dad-11d1-80b4-00c04fd430c8',
  oid: '6ba7b812-9dad-11d1-80b4-00c04fd430c8',
  x500: '6ba7b814-9dad-11d1-80b4-00c04fd430c8',
};

function uuidv5(namespace: string, name: string): string {
  const ns = UUID_NAMESPACES[namespace] ?? namespace;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ns)) {
    throw new ExprError(`expected a namespace "dns", "url", "oid", "x500" or a UUID, got ${JSON.stringify(namespace)}`);
  }
  const bytes = createHash('sha1').update(Buffer.from(ns.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Parsed JSON with nothing HCL cannot hold (JSON has nothing else; only numbers need to be finite). */
function jsonDecode(text: string): Value {
  try {
    return JSON.parse(text) as Value;
  } catch (err) {
    throw new ExprError(`expected valid JSON, got ${describeValue(text)}: ${(err as Error).message}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const ENCODING_FUNCTIONS: FunctionTable = {
  jsonencode: fn(1, 1, ([v]) => jsonEncode(v)),
  jsondecode: str1(jsonDecode),
  yamlencode: fn(1, 1, ([v]) => yamlLines(v, '').join('\n') + '\n'),
  csvdecode: str1(csvDecode),
  base64encode: str1((s) => Buffer.from(s, 'utf8').toString('base64')),
  base64decode: str1((s) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new ExprError(`expected base64 text, got ${describeValue(s)}`);
    try {
      return utf8.decode(Buffer.from(s, 'base64'));
    } catch {
      throw new ExprError('expected base64 of UTF-8 text, got other bytes');
    }
  }),
  urlencode: str1((s) =>
    encodeURIComponent(s)
      .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
      .replace(/%20/g, '+'),
  ),
  md5: hash('md5'),
  sha1: hash('sha1'),
  sha256: hash('sha256'),
  uuidv5: fn(2, 2, ([ns, name]) => uuidv5(toStr(ns), toStr(name))),
};
