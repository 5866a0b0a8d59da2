/**
 * The rest of Nomad's function table: `uuidv4`, `bcrypt`, `sha512`,
 * `regex_replace`, `chunklist`, `setproduct`, `strlen`, `log`, `yamldecode`.
 *
 * `uuidv4` and `bcrypt`'s salt are random in Nomad, drawn anew on each
 * `nomad job run`. tend loads a file again after every agent restart, and
 * the desired state must stay a pure function of the files (or every restart
 * would restart the tasks): so they are drawn from the job file's content
 * hash and the call's order. A changed file gives new values; the same file
 * gives the same ones. The values have the right form (a version-4 UUID, a
 * bcrypt hash any bcrypt verifies).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { ExprError, type EvalScope, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import { compileRegex, goReplacement } from './fn-string.js';
import { describeValue, equals, toList, toNumber, toStr } from './values.js';

/**
 * bcryptjs and yaml are required by the first call of `bcrypt` or `yamldecode`: few job files call
 * them, and an agent that never does never holds them (~2 MiB of its RSS, bench/README.md).
 */
const require = createRequire(import.meta.url);
let bcryptLib: typeof import('bcryptjs') | undefined;
let yamlLib: typeof import('yaml') | undefined;
const bcryptjs = () => (bcryptLib ??= require('bcryptjs') as typeof import('bcryptjs'));
const yaml = () => (yamlLib ??= require('yaml') as typeof import('yaml'));

const fn = (min: number, max: number, call: (args: Value[], scope?: EvalScope) => Value) => ({ min, max, call });

/** 16 bytes: from the file's seed and the draw's number when loading a file, random otherwise. */
function draw(scope: EvalScope | undefined, what: string): Buffer {
  const files = scope?.files;
  if (files?.seed === undefined) return randomBytes(16);
  const n = (files.draws = (files.draws ?? 0) + 1);
  return createHash('sha256').update(`${files.seed}\0${what}\0${n}`).digest().subarray(0, 16);
}

function uuidv4(bytes: Buffer): string {
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function bcrypt(text: string, cost: number, salt: Buffer): string {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new ExprError(`expected a bcrypt cost from 4 to 31, got ${cost}`);
  if (Buffer.byteLength(text) > 72) throw new ExprError(`expected at most 72 bytes to hash with bcrypt, got ${Buffer.byteLength(text)}`);
  const b = bcryptjs();
  return b.hashSync(text, `$2a$${String(cost).padStart(2, '0')}$${b.encodeBase64(salt, 16)}`);
}

/** Number of user-perceived characters (grapheme clusters), as cty's strlen counts. */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
function strlen(s: string): number {
  let n = 0;
  for (const _ of segmenter.segment(s)) n++;
  return n;
}

function chunklist(list: Value[], size: number): Value[] {
  if (!Number.isInteger(size) || size < 0) throw new ExprError(`expected a chunk size >= 0, got ${size}`);
  if (size === 0) return [list];
  const out: Value[] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function setproduct(sets: Value[][]): Value[] {
  let out: Value[][] = [[]];
  for (const set of sets) {
    const distinct = set.filter((v, i) => set.findIndex((w) => equals(v, w)) === i);
    out = out.flatMap((prefix) => distinct.map((v) => [...prefix, v]));
  }
  return sets.length ? out : [];
}

function yamldecode(text: string): Value {
  const docs = yaml().parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length !== 1) throw new ExprError(`expected exactly one YAML document, got ${list.length}`);
  const doc = list[0];
  if (doc.errors.length) throw new ExprError(`failed to decode YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const v = doc.toJS({ maxAliasCount: 100 }) as unknown;
  return normalise(v);
}

function normalise(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ExprError(`expected a finite number in YAML, got ${v}`);
    return v;
  }
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), normalise(x)]));
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  throw new ExprError(`expected YAML data, got ${typeof v}`);
}

export const EXTRA_FUNCTIONS: FunctionTable = {
  uuidv4: fn(0, 0, (_args, scope) => uuidv4(draw(scope, 'uuidv4'))),
  bcrypt: fn(1, 2, ([s, cost], scope) => bcrypt(toStr(s), cost === undefined ? 10 : toNumber(cost), draw(scope, 'bcrypt'))),
  sha512: fn(1, 1, ([s]) => createHash('sha512').update(toStr(s), 'utf8').digest('hex')),
  regex_replace: fn(3, 3, ([s, pattern, repl]) => toStr(s).replace(compileRegex(toStr(pattern), true), goReplacement(toStr(repl)))),
  chunklist: fn(2, 2, ([list, size]) => chunklist(toList(list), toNumber(size))),
  setproduct: fn(1, Infinity, (sets) => setproduct(sets.map((s) => toList(s, 'set')))),
  strlen: fn(1, 1, ([s]) => strlen(toStr(s))),
  log: fn(2, 2, ([n, base]) => {
    const r = Math.log(toNumber(n)) / Math.log(toNumber(base));
    if (Number.isNaN(r)) throw new ExprError(`expected a logarithm of a positive number in a base > 0, got log(${describeValue(n)}, ${describeValue(base)})`);
    return r;
  }),
  yamldecode: fn(1, 1, ([s]) => yamldecode(toStr(s))),
};
