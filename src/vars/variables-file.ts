/**
 * `<data_dir>/variables.json`: the variables written with `tendctl var put`
 * and the node's variable index, one JSON document, mode 0600.
 *
 * A write goes to a temp file beside it, created 0600 with O_EXCL (never a
 * moment readable by others, never through a link), is fsync'ed, renamed over
 * the document and the dir fsync'ed: a crash leaves the old document or the
 * new one. Temp files a crash left are removed on load. A document found with
 * another mode is put back to 0600 (and said so); one that does not parse,
 * is of another version or is not a regular file is moved aside
 * (`variables.json.corrupt-<time>`, still 0600) and the store starts empty,
 * reported at error: the agent never refuses to start over it.
 */
import { constants as C } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type pino from 'pino';
import { TendError, describeError, errnoCode } from '../errors.js';
import { pathProblem } from './path.js';
import type { Variable } from './vars.js';

export const VARIABLES_FILE = 'variables.json';
export const VARIABLES_SCHEMA_VERSION = 1;
const TMP_PREFIX = `${VARIABLES_FILE}.tmp-`;

/** The document on disk. */
export interface VariablesDocument {
  version: number;
  /** The last index handed out (put, purge, a dir file's change). */
  index: number;
  variables: Record<string, Omit<Variable, 'path' | 'file'>>;
}

export interface LoadedVariables {
  outcome: 'loaded' | 'missing' | 'corrupt';
  index: number;
  variables: Map<string, Variable>;
  /** For 'corrupt': where the file went and why (never its content). */
  movedTo?: string;
  reason?: string;
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Why a parsed document is unusable, or undefined. Names paths and fields, never values. */
export function invalidReason(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'expected an object';
  const d = doc as Partial<VariablesDocument>;
  if (d.version !== VARIABLES_SCHEMA_VERSION) return `expected schema version ${VARIABLES_SCHEMA_VERSION}, got ${JSON.stringify(d.version)}`;
  if (!isIndex(d.index)) return 'expected a whole number index';
  if (typeof d.variables !== 'object' || d.variables === null || Array.isArray(d.variables)) return 'expected variables';
  for (const [p, v] of Object.entries(d.variables)) {
    if (pathProblem(p)) return `invalid variable path ${JSON.stringify(p)}`;
    if (typeof v !== 'object' || v === null) return `expected a variable at ${p}`;
    if (!isIndex(v.createIndex) || !isIndex(v.modifyIndex) || v.modifyIndex > d.index) return `expected indexes up to ${d.index} at ${p}`;
    if (typeof v.createTime !== 'number' || typeof v.modifyTime !== 'number') return `expected times at ${p}`;
    if (typeof v.items !== 'object' || v.items === null || Array.isArray(v.items) || Object.values(v.items).some((x) => typeof x !== 'string')) return `expected string items at ${p}`;
  }
  return undefined;
}

export class VariablesFile {
  readonly path: string;
  readonly #dir: string;
  readonly #log?: pino.Logger;
  readonly #now: () => Date;
  #tmpSeq = 0;

  constructor(opts: { dataDir: string; logger?: pino.Logger; now?: () => Date }) {
    this.#dir = opts.dataDir;
    this.path = path.join(opts.dataDir, VARIABLES_FILE);
    this.#log = opts.logger;
    this.#now = opts.now ?? (() => new Date());
  }

  async load(): Promise<LoadedVariables> {
    await fs.mkdir(this.#dir, { recursive: true });
    await this.#removeStaleTemps();
    let text: string;
    try {
      const fh = await fs.open(this.path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
      try {
        const st = await fh.stat();
        if (!st.isFile()) return this.#moveAside('not a regular file');
        if ((st.mode & 0o7777) !== 0o600) {
          await fh.chmod(0o600);
          this.#log?.warn({ path: this.path, mode: (st.mode & 0o7777).toString(8) }, 'variables file had another mode; set back to 0600');
        }
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return { outcome: 'missing', index: 0, variables: new Map() };
      if (code === 'ELOOP') return this.#moveAside('a symbolic link');
      throw new TendError('E_STORE', `failed to read variables ${this.path}: ${describeError(err)}`, { cause: err });
    }
    let doc: unknown;
    let reason: string | undefined;
    try {
      doc = JSON.parse(text);
      reason = invalidReason(doc);
    } catch {
      reason = 'invalid JSON'; // the parser's message may quote the text
    }
    if (reason !== undefined) return this.#moveAside(reason);
    const d = doc as VariablesDocument;
    const variables = new Map<string, Variable>();
    for (const [p, v] of Object.entries(d.variables)) variables.set(p, { path: p, items: v.items, createIndex: v.createIndex, modifyIndex: v.modifyIndex, createTime: v.createTime, modifyTime: v.modifyTime });
    return { outcome: 'loaded', index: d.index, variables };
  }

  async #moveAside(reason: string): Promise<LoadedVariables> {
    const movedTo = `${this.path}.corrupt-${this.#now().toISOString().replace(/[:.]/g, '-')}`;
    await fs.rename(this.path, movedTo);
    this.#log?.error({ path: this.path, movedTo, reason }, 'variables file unusable; moved aside, starting without stored variables');
    return { outcome: 'corrupt', index: 0, variables: new Map(), movedTo, reason };
  }

  async #removeStaleTemps(): Promise<void> {
    for (const name of await fs.readdir(this.#dir).catch(() => [] as string[])) {
      if (name.startsWith(TMP_PREFIX)) await fs.unlink(path.join(this.#dir, name)).catch(() => undefined);
    }
  }

  /** Replace the document atomically (see the module comment). Throws E_STORE; the old document then stays. */
  async write(index: number, variables: Iterable<Variable>): Promise<void> {
    const doc: VariablesDocument = { version: VARIABLES_SCHEMA_VERSION, index, variables: {} };
    for (const v of variables) {
      doc.variables[v.path] = { items: v.items, createIndex: v.createIndex, modifyIndex: v.modifyIndex, createTime: v.createTime, modifyTime: v.modifyTime };
    }
    const tmp = path.join(this.#dir, `${TMP_PREFIX}${process.pid}-${this.#tmpSeq++}`);
    try {
      const fh = await fs.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        await fh.chmod(0o600); // whatever the umask
        await fh.writeFile(JSON.stringify(doc));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, this.path);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      throw new TendError('E_STORE', `failed to write variables ${this.path}: ${describeError(err)}`, { cause: err });
    }
    // The rename is durable once the dir is synced; a failure here leaves a complete document anyway.
    const dir = await fs.open(this.#dir, C.O_RDONLY | C.O_DIRECTORY).catch(() => undefined);
    if (dir) await dir.sync().catch(() => undefined).finally(() => dir.close());
  }
}
