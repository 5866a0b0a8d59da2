/**
 * The lowdb implementation of the Store: one JSON document, compact, mode 0600, written
 * atomically (private-file.ts: tmp file + rename, so a crash never leaves half a file), and
 * extended by a journal (issue 14): each write after the snapshot appends one line to
 * `tend.journal` with what changed (encoder.ts `delta`), so a write costs what changed, not the
 * whole document (3.6 MB at 1,000 tasks: 11–15 ms a write); once the journal outgrows the
 * snapshot, the next write is a snapshot again (and the journal starts over). Reading replays
 * the journal's lines of the snapshot's generation onto it and stops at a torn last line (a crash
 * mid-append). Changes mark the document dirty; one write carries them all.
 */
import { merged } from '../objects.js';
import { randomUUID } from 'node:crypto';
import { constants as FS } from 'node:fs';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { PrivateFile } from './private-file.js';
import { applyDelta, DocumentEncoder, documentDifference, type Section } from './encoder.js';
import type pino from 'pino';
import type { EventQuery, TaskEvent } from './store.js';
import { TendError, errnoCode, isTendError } from '../errors.js';
import type { PortAssignment } from '../ports/ports.js';
import {
  NODE_EVENT_LIMIT,
  STORE_SCHEMA_VERSION,
  TASK_EVENT_LIMIT,
  type DispatchRecord,
  type RolloutRecord,
  type NewEvent,
  type PeriodicRecord,
  type Store,
  type StoreDocument,
  type StoreLoadResult,
  type TaskRecord,
} from './store.js';

export const STORE_FILE = 'tend.json';
/** Lines of changes since the snapshot in STORE_FILE (see the top of this file). */
export const JOURNAL_FILE = 'tend.journal';
/** The journal is folded into a snapshot once it is bigger than the snapshot and than this. */
const JOURNAL_MIN_BYTES = 1 << 20;
/** The node id, beside the store and written once: it outlives a lost or damaged store. */
export const NODE_ID_FILE = 'node-id';
const NODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Longest pause between two writes of a big document. */
const MAX_WRITE_GAP_MS = 200;
/** Changes within this long after a write share the next one (issue 14: at 1,000 tasks a write costs ms). */
const MIN_WRITE_GAP_MS = 50;
/** After a failed write (a full disk), what is in memory is written again this often. */
const WRITE_RETRY_MS = 1000;

export interface LowdbStoreOptions {
  dataDir: string;
  logger?: pino.Logger;
  /** Clock, for tests. */
  now?: () => Date;
}

/**
 * On disk, instances of one spec share their per-field hashes and values:
 * records carry `hashes.ref` into top-level `specs` and `specValues` maps (a
 * 1,000-instance job writes them once instead of 1,000 times). In memory
 * every record has its fields (and values, when it had them).
 */
interface DiskRecord extends Omit<TaskRecord, 'hashes'> {
  hashes: Omit<TaskRecord['hashes'], 'fields' | 'values'> & { fields?: Record<string, string>; values?: Record<string, unknown>; ref?: string };
}

export function encodeDocument(doc: StoreDocument): string {
  const specs: Record<string, Record<string, string>> = {};
  const specValues: Record<string, Record<string, unknown>> = {};
  const tasks: Record<string, DiskRecord> = {};
  // By identity: instances of one spec share one hashes object, so one fields and one values object (hash cache, and decode below).
  const refs = new Map<Record<string, string>, Map<Record<string, unknown> | undefined, string>>();
  let n = 0;
  for (const [id, r] of Object.entries(doc.tasks)) {
    const byValues = refs.get(r.hashes.fields) ?? new Map<Record<string, unknown> | undefined, string>();
    refs.set(r.hashes.fields, byValues);
    let ref = byValues.get(r.hashes.values);
    if (ref === undefined) {
      ref = `s${n++}`;
      byValues.set(r.hashes.values, ref);
      specs[ref] = r.hashes.fields;
      if (r.hashes.values) specValues[ref] = r.hashes.values;
    }
    tasks[id] = { ...r, hashes: { restart: r.hashes.restart, resources: r.hashes.resources, policy: r.hashes.policy, ref } };
  }
  return JSON.stringify({ ...doc, tasks, specs, specValues });
}

export function decodeDocument(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const d = raw as { specs?: Record<string, Record<string, string>>; specValues?: Record<string, Record<string, unknown>>; tasks?: Record<string, DiskRecord> };
  const specs = d.specs ?? {};
  const specValues = d.specValues ?? {};
  delete d.specs;
  delete d.specValues;
  for (const r of Object.values(d.tasks ?? {})) {
    if (!r || typeof r !== 'object' || !r.hashes) continue;
    if (r.hashes.ref !== undefined) {
      r.hashes.fields = specs[r.hashes.ref] ?? {};
      const values = specValues[r.hashes.ref];
      if (values && typeof values === 'object') r.hashes.values = values;
      delete r.hashes.ref;
    }
    r.hashes.fields ??= {};
  }
  return d;
}

/** The node-wide ring's trimming, as addEvent does it (in batches). */
function trimRing(events: TaskEvent[]): void {
  if (events.length > NODE_EVENT_LIMIT + 100) trimFront(events, NODE_EVENT_LIMIT);
}

/**
 * The document a snapshot text and its journal text give: the snapshot decoded, then each journal
 * line of its generation replayed, up to a torn line (`torn`). Throws on a snapshot that is not
 * JSON; the caller checks the shape (`invalidReason`).
 */
export function replayStore(snapshot: string, journal: string | undefined): { doc: unknown; replayed: number; torn: boolean } {
  const raw = JSON.parse(snapshot) as { specs?: Record<string, Record<string, string>>; specValues?: Record<string, Record<string, unknown>> } | null;
  // Held before decodeDocument takes them out: journal lines refer to the snapshot's specs too.
  const specs = { fields: { ...(raw?.specs ?? {}) }, values: { ...(raw?.specValues ?? {}) } };
  const doc = decodeDocument(raw);
  let replayed = 0;
  let torn = false;
  if (!journal || invalidReason(doc) !== undefined) return { doc, replayed, torn };
  const d = doc as StoreDocument;
  for (const text of journal.split('\n')) {
    if (!text) continue;
    let line: Parameters<typeof applyDelta>[1];
    try {
      line = JSON.parse(text);
    } catch {
      torn = true;
      break;
    }
    if (line.g !== d.journal) continue; // left by a crash between a snapshot and the journal's truncation
    applyDelta(d, line, specs, trimRing);
    replayed++;
  }
  return { doc, replayed, torn };
}

/** The store of `dataDir` as the agent last wrote it (snapshot and journal), or undefined when unreadable. For tests and tools. */
export function readStoreDocument(dataDir: string): StoreDocument | undefined {
  try {
    const snapshot = readFileSync(path.join(dataDir, STORE_FILE), 'utf8');
    let journal: string | undefined;
    try {
      journal = readFileSync(path.join(dataDir, JOURNAL_FILE), 'utf8');
    } catch {
      journal = undefined;
    }
    const { doc } = replayStore(snapshot, journal);
    return invalidReason(doc) === undefined ? (doc as StoreDocument) : undefined;
  } catch {
    return undefined;
  }
}

function emptyDocument(): StoreDocument {
  return { version: STORE_SCHEMA_VERSION, nodeId: randomUUID(), seq: 0, tasks: {}, events: [] };
}

/** Checks the shape of a parsed document; returns why it is unusable, or undefined. */
export function invalidReason(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return `expected an object, got ${Array.isArray(doc) ? 'an array' : typeof doc}`;
  const d = doc as Partial<StoreDocument>;
  if (d.version !== STORE_SCHEMA_VERSION) return `expected schema version ${STORE_SCHEMA_VERSION}, got ${JSON.stringify(d.version)}`;
  if (typeof d.nodeId !== 'string' || typeof d.seq !== 'number') return 'expected nodeId and seq';
  if (typeof d.tasks !== 'object' || d.tasks === null || !Array.isArray(d.events)) return 'expected tasks and events';
  for (const [id, r] of Object.entries(d.tasks)) {
    if (!r || typeof r !== 'object' || r.id !== id || typeof r.execId !== 'string' || !Array.isArray(r.events)) return `expected a task record for ${id}`;
  }
  return undefined;
}

function trimFront<T>(list: T[], limit: number): void {
  if (list.length > limit) list.splice(0, list.length - limit);
}

export class LowdbStore implements Store {
  readonly path: string;
  readonly #dataDir: string;
  readonly #db: Low<StoreDocument>;
  readonly #log?: pino.Logger;
  readonly #now: () => Date;
  readonly #listeners = new Set<(e: TaskEvent) => void>();
  readonly #enc = new DocumentEncoder();
  #dirty = false;
  #scheduled: NodeJS.Immediate | undefined;
  #inflight: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #lastWriteMs = 0;
  #lastWriteEnd = 0;
  readonly #journalPath: string;
  #journalFh: FileHandle | undefined;
  /** The journal's generation (the snapshot's `journal`); bytes appended since the snapshot; the snapshot's size. */
  #gen = 0;
  #journalBytes = 0;
  #snapshotBytes = 0;
  /** The next write is a snapshot (after a load, a failed append, or a journal grown too big). */
  #needSnapshot = true;
  /** When writes began to fail (undefined while they succeed); the timer that tries again. */
  #failingSince: number | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** `all()`'s list, for this document, while no record was added, replaced or deleted. */
  #all: { doc: StoreDocument; list: readonly TaskRecord[] } | undefined;
  #ix: { doc: StoreDocument; byJob: Map<string, Set<string>>; byAlloc: Map<string, Set<string>> } | undefined;
  /** A caller waits for the next write: no MIN_WRITE_GAP_MS for it. */
  #urgent = false;
  /** Ends the gap the queued write waits out (set while it waits). */
  #cutGap: (() => void) | undefined;
  #closed = false;

  constructor(opts: LowdbStoreOptions) {
    this.#dataDir = opts.dataDir;
    this.path = path.join(opts.dataDir, STORE_FILE);
    this.#journalPath = path.join(opts.dataDir, JOURNAL_FILE);
    this.#log = opts.logger?.child({ component: 'store' });
    this.#now = opts.now ?? (() => new Date());
    this.#db = new Low<StoreDocument>(new PrivateFile<StoreDocument>(this.path, { parse: (t) => decodeDocument(JSON.parse(t)) as StoreDocument, stringify: (doc) => {
      const text = this.#enc.encode(doc);
      this.#snapshotBytes = text.length;
      return text;
    } }), emptyDocument());
  }

  get nodeId(): string {
    return this.#db.data.nodeId;
  }

  async load(): Promise<StoreLoadResult> {
    await mkdir(this.#dataDir, { recursive: true });
    const saved = await this.#readNodeId();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
      // A document written by an earlier tend (0644): dispatch payloads are for the agent only.
      await chmod(this.path, 0o600).catch(() => {});
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new TendError('E_STORE', `failed to read store ${this.path}: ${(err as Error).message}`, { cause: err });
      this.#db.data = emptyDocument();
      if (saved) this.#db.data.nodeId = saved;
      else await this.#writeNodeId(this.#db.data.nodeId);
      this.#markDirty();
      await this.flush();
      return { outcome: 'missing', nodeId: saved ? 'file' : 'new' };
    }
    let reason: string | undefined;
    let doc: unknown;
    try {
      const journal = await readFile(this.#journalPath, 'utf8').catch((err) => {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw new TendError('E_STORE', `failed to read store journal ${this.#journalPath}: ${(err as Error).message}`, { cause: err });
      });
      const r = replayStore(text, journal);
      doc = r.doc;
      reason = invalidReason(doc);
      if (r.torn) this.#log?.warn({ path: this.#journalPath, replayed: r.replayed }, 'store journal ends with a torn line (the agent stopped mid-write); replayed up to it');
    } catch (err) {
      if (isTendError(err)) throw err;
      reason = `invalid JSON: ${escapeControls((err as Error).message)}`;
    }
    if (reason === undefined) {
      this.#db.data = doc as StoreDocument;
      this.#gen = this.#db.data.journal ?? 0;
      // The store's records were made with its id: it wins, and the file follows it.
      if (saved !== this.#db.data.nodeId) {
        if (saved) this.#log?.warn({ store: this.#db.data.nodeId, file: saved }, 'node id file differs from the store; rewritten');
        await this.#writeNodeId(this.#db.data.nodeId);
      }
      return { outcome: 'loaded', nodeId: 'store' };
    }
    const movedTo = `${this.path}.corrupt-${this.#now().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.path, movedTo);
    this.#log?.error({ path: this.path, movedTo, reason }, 'store corrupt, moved aside and rebuilt');
    const fresh = emptyDocument();
    // The node-id file first; else the old document's, when it still names one.
    const oldId = (doc as { nodeId?: unknown } | undefined)?.nodeId;
    const from: StoreLoadResult['nodeId'] = saved ? 'file' : typeof oldId === 'string' && NODE_ID_RE.test(oldId) ? 'store' : 'new';
    if (saved) fresh.nodeId = saved;
    else if (from === 'store') fresh.nodeId = oldId as string;
    if (!saved) await this.#writeNodeId(fresh.nodeId);
    this.#db.data = fresh;
    this.#markDirty();
    await this.flush();
    return { outcome: 'corrupt', movedTo, reason, nodeId: from };
  }

  /** The node id of `<dataDir>/node-id`, or undefined when it is missing or malformed. */
  async #readNodeId(): Promise<string | undefined> {
    const file = path.join(this.#dataDir, NODE_ID_FILE);
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      this.#log?.warn({ path: file, err: (err as Error).message }, 'failed to read the node id file');
      return undefined;
    }
    if (NODE_ID_RE.test(text)) return text;
    this.#log?.warn({ path: file }, 'node id file malformed; ignored');
    return undefined;
  }

  async #writeNodeId(id: string): Promise<void> {
    const file = path.join(this.#dataDir, NODE_ID_FILE);
    await writeFile(`${file}.tmp`, `${id}\n`, { mode: 0o644 });
    await rename(`${file}.tmp`, file);
  }

  get(id: string): TaskRecord | undefined {
    return this.#db.data.tasks[id];
  }

  all(): readonly TaskRecord[] {
    // Kept until the set of records changes (issue 14: a pass asked for it several times, each a
    // fresh array of every record); update() changes a record in place, so the list still holds it.
    const doc = this.#db.data;
    if (this.#all?.doc !== doc) this.#all = { doc, list: Object.values(doc.tasks) };
    return this.#all.list;
  }

  ofJob(job: string): TaskRecord[] {
    return this.#indexed(this.#index().byJob.get(job));
  }

  ofAlloc(allocId: string): TaskRecord[] {
    return this.#indexed(this.#index().byAlloc.get(allocId));
  }

  put(record: TaskRecord): void {
    if (this.#db.data.tasks[record.id] !== record) this.#all = undefined;
    this.#unindex(this.#db.data.tasks[record.id]);
    this.#db.data.tasks[record.id] = record;
    this.#reindex(record);
    this.#markDirty('tasks', record.id);
  }

  update(id: string, fn: (r: TaskRecord) => void): TaskRecord | undefined {
    const r = this.#db.data.tasks[id];
    if (!r) return undefined;
    this.#unindex(r);
    fn(r);
    this.#reindex(r);
    this.#markDirty('tasks', id);
    return r;
  }

  delete(id: string): void {
    if (!(id in this.#db.data.tasks)) return;
    this.#unindex(this.#db.data.tasks[id]);
    delete this.#db.data.tasks[id];
    this.#all = undefined;
    this.#markDirty('tasks', id);
  }

  /** Record ids by job and by allocation, for the document in memory (made again after a load). */
  #index(): { doc: StoreDocument; byJob: Map<string, Set<string>>; byAlloc: Map<string, Set<string>> } {
    const doc = this.#db.data;
    if (this.#ix?.doc === doc) return this.#ix;
    this.#ix = { doc, byJob: new Map(), byAlloc: new Map() };
    for (const r of Object.values(doc.tasks)) this.#reindex(r);
    return this.#ix;
  }

  #reindex(r: TaskRecord): void {
    const ix = this.#ix;
    if (ix?.doc !== this.#db.data) return; // made whole on the next read
    addTo(ix.byJob, r.job, r.id);
    addTo(ix.byAlloc, r.allocId, r.id);
  }

  #unindex(r: TaskRecord | undefined): void {
    const ix = this.#ix;
    if (!r || ix?.doc !== this.#db.data) return;
    removeFrom(ix.byJob, r.job, r.id);
    removeFrom(ix.byAlloc, r.allocId, r.id);
  }

  #indexed(ids: Set<string> | undefined): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const id of ids ?? []) {
      const r = this.#db.data.tasks[id];
      if (r) out.push(r);
    }
    return out;
  }

  periodicAll(): PeriodicRecord[] {
    return Object.values(this.#db.data.periodic ?? {});
  }

  getPeriodic(job: string): PeriodicRecord | undefined {
    return this.#db.data.periodic?.[job];
  }

  putPeriodic(record: PeriodicRecord): void {
    (this.#db.data.periodic ??= {})[record.job] = record;
    this.#markDirty('periodic', record.job);
  }

  deletePeriodic(job: string): void {
    if (!this.#db.data.periodic || !(job in this.#db.data.periodic)) return;
    delete this.#db.data.periodic[job];
    this.#markDirty('periodic', job);
  }

  portsAll(): PortAssignment[] {
    return Object.values(this.#db.data.ports ?? {});
  }

  getPorts(allocId: string): PortAssignment | undefined {
    return this.#db.data.ports?.[allocId];
  }

  putPorts(a: PortAssignment): void {
    (this.#db.data.ports ??= {})[a.allocId] = a;
    this.#markDirty('ports', a.allocId);
  }

  deletePorts(allocId: string): void {
    if (!this.#db.data.ports || !(allocId in this.#db.data.ports)) return;
    delete this.#db.data.ports[allocId];
    this.#markDirty('ports', allocId);
  }

  dispatchAll(): DispatchRecord[] {
    return Object.values(this.#db.data.dispatch ?? {});
  }

  getDispatch(job: string): DispatchRecord | undefined {
    return this.#db.data.dispatch?.[job];
  }

  putDispatch(record: DispatchRecord): void {
    (this.#db.data.dispatch ??= {})[record.job] = record;
    this.#markDirty('dispatch', record.job);
  }

  deleteDispatch(job: string): void {
    if (!this.#db.data.dispatch || !(job in this.#db.data.dispatch)) return;
    delete this.#db.data.dispatch[job];
    this.#markDirty('dispatch', job);
  }

  rolloutAll(): RolloutRecord[] {
    return Object.values(this.#db.data.rollouts ?? {});
  }

  getRollout(job: string): RolloutRecord | undefined {
    return this.#db.data.rollouts?.[job];
  }

  putRollout(record: RolloutRecord): void {
    (this.#db.data.rollouts ??= {})[record.job] = record;
    this.#markDirty('rollouts', record.job);
  }

  deleteRollout(job: string): void {
    if (!this.#db.data.rollouts || !(job in this.#db.data.rollouts)) return;
    delete this.#db.data.rollouts[job];
    this.#markDirty('rollouts', job);
  }

  addEvent(e: NewEvent): TaskEvent {
    const doc = this.#db.data;
    const ev: TaskEvent = merged(e, { seq: ++doc.seq, time: e.time ?? this.#now().toISOString() });
    doc.events.push(ev);
    // Trim in batches so a busy node does not shift the array on every event.
    if (doc.events.length > NODE_EVENT_LIMIT + 100) trimFront(doc.events, NODE_EVENT_LIMIT);
    if (ev.task) {
      const r = doc.tasks[ev.task];
      if (r) {
        r.events.push(ev);
        trimFront(r.events, TASK_EVENT_LIMIT);
        this.#enc.touch('tasks', ev.task);
      }
    }
    this.#markDirty();
    for (const l of this.#listeners) {
      try {
        l(ev);
      } catch (err) {
        this.#log?.warn({ err }, 'event listener failed');
      }
    }
    return ev;
  }

  events(q: EventQuery = {}): TaskEvent[] {
    const rec = q.task ? this.#db.data.tasks[q.task] : undefined;
    const source = rec ? rec.events : this.#db.data.events;
    const start = source.length > NODE_EVENT_LIMIT ? source.length - NODE_EVENT_LIMIT : 0;
    const out: TaskEvent[] = [];
    for (let i = start; i < source.length; i++) {
      const e = source[i];
      if (q.after !== undefined && e.seq <= q.after) continue;
      if (q.task && e.task !== q.task) continue;
      if (q.job && e.job !== q.job) continue;
      out.push(e);
    }
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
  }

  subscribe(listener: (e: TaskEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Write what changed now (after the write in flight, and the bounded gap that follows it). */
  flush(): Promise<void> {
    this.#urgent = true;
    this.#cutGap?.();
    return this.#write();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.#journalFh?.close().catch(() => {});
      this.#journalFh = undefined;
      this.#closed = true;
      if (this.#retry) clearTimeout(this.#retry);
      this.#listeners.clear();
    }
  }

  /** Something changed: written at the next write (`section`/`key`: what, for the encoder's cache). */
  #markDirty(section?: Section, key?: string): void {
    if (section !== undefined && key !== undefined) this.#enc.touch(section, key);
    this.#dirty = true;
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = setImmediate(() => {
      this.#write().catch(() => {
        /* logged in #write */
      });
    });
  }

  /** One write: a journal line with what changed, or a snapshot (then the journal starts over). */
  async #persist(): Promise<void> {
    const doc = this.#db.data;
    if (!this.#needSnapshot && this.#journalBytes <= Math.max(this.#snapshotBytes, JOURNAL_MIN_BYTES)) {
      const line = this.#enc.delta(doc, this.#gen);
      if (line === undefined) return;
      // The document as this line leaves it (changes made while it is written come in the next one).
      const expected = process.env.TEND_STORE_CHECK === '1' ? (JSON.parse(JSON.stringify(doc)) as StoreDocument) : undefined;
      const bytes = Buffer.from(`${line}\n`);
      const before = this.#journalBytes;
      try {
        this.#journalFh ??= await open(this.#journalPath, FS.O_WRONLY | FS.O_APPEND | FS.O_CREAT | FS.O_NOFOLLOW, 0o600);
        // A full disk takes part of a line without an error: that is a failure too.
        const { bytesWritten } = await this.#journalFh.write(bytes, 0, bytes.length, null);
        if (bytesWritten !== bytes.length) throw Object.assign(new Error(`ENOSPC: short write to the store journal (${bytesWritten} of ${bytes.length} bytes)`), { code: 'ENOSPC' });
        this.#journalBytes += bytes.length;
      } catch (err) {
        // What the line held is in memory only now: the next write is a whole snapshot. A torn
        // line is cut off again, or a replay would stop at it and lose every line after it.
        this.#needSnapshot = true;
        await this.#journalFh?.truncate(before).catch(() => {});
        throw err;
      }
      if (expected) this.#checkDisk(expected);
      return;
    }
    // A generation no stale line can have (a crash between a snapshot and the truncation leaves them).
    this.#gen = Math.max(this.#gen + 1, Date.now());
    doc.journal = this.#gen;
    // Until the snapshot and the truncation are both done, no line may be appended.
    this.#needSnapshot = true;
    await this.#db.write();
    if (this.#journalFh) await this.#journalFh.truncate(0);
    else await truncateIfExists(this.#journalPath);
    this.#journalBytes = 0;
    this.#needSnapshot = false;
  }

  /** TEND_STORE_CHECK: the snapshot and journal on disk replay to the document in memory. */
  #checkDisk(expected: StoreDocument): void {
    const disk = readStoreDocument(this.#dataDir);
    const where = disk ? documentDifference(expected, disk) : ['the whole document (unreadable)'];
    if (!where.length) return;
    process.stderr.write(`TEND_STORE_CHECK: the store's snapshot and journal replay to a document that differs at ${where.slice(0, 10).join(', ')}\n`);
    process.exit(70);
  }

  #write(): Promise<void> {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (!this.#dirty) return this.#inflight;
    // A write that has not begun yet will carry this change too: share it.
    if (this.#queued) return this.#queued;
    // Serialised after the write in flight; the document is stringified when this write begins.
    const p = this.#inflight.then(async () => {
      // A big document written back to back would hold the event loop: leave
      // at least twice the last write's duration between writes (bounded), so
      // writing never takes more than about a third of the agent's time; and
      // changes of the next MIN_WRITE_GAP_MS share a write, unless someone
      // waits for it (`flush`: a task's handle before "Started").
      for (;;) {
        const floor = this.#urgent ? 0 : MIN_WRITE_GAP_MS;
        const gap = Math.max(floor, Math.min(MAX_WRITE_GAP_MS, this.#lastWriteMs * 2)) - (performance.now() - this.#lastWriteEnd);
        if (gap <= 1) break;
        await new Promise<void>((r) => {
          const t = setTimeout(r, gap);
          this.#cutGap = () => {
            clearTimeout(t);
            r();
          };
        });
        this.#cutGap = undefined;
      }
      this.#urgent = false;
      this.#queued = undefined;
      this.#dirty = false;
      const t0 = performance.now();
      try {
        await this.#persist();
        if (this.#failingSince !== undefined) {
          this.#log?.info({ path: this.path, since: new Date(this.#failingSince).toISOString() }, 'store writes again');
          this.#failingSince = undefined;
        }
      } finally {
        this.#lastWriteEnd = performance.now();
        this.#lastWriteMs = this.#lastWriteEnd - t0;
      }
    });
    this.#inflight = p.catch((err) => {
      this.#dirty = true;
      // Logged once per episode (a full disk fails every write); tried again on a timer, so
      // what is in memory reaches the disk once there is room even if nothing else changes.
      if (this.#failingSince === undefined) {
        this.#failingSince = Date.now();
        this.#log?.error({ err, path: this.path }, 'store write failed; retried every second until it succeeds');
      } else this.#log?.debug({ err, path: this.path }, 'store write failed again');
      if (!this.#closed && !this.#retry) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          if (this.#dirty && !this.#closed) this.#write().catch(() => {});
        }, WRITE_RETRY_MS);
        this.#retry.unref();
      }
    });
    this.#queued = p.catch((err) => {
      throw new TendError('E_STORE', `failed to write store ${this.path}: ${(err as Error).message}`, { cause: err });
    });
    return this.#queued;
  }
}

export function createStore(opts: LowdbStoreOptions): Store {
  return new LowdbStore(opts);
}

async function truncateIfExists(file: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(file, FS.O_WRONLY | FS.O_TRUNC | FS.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  await fh.close();
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (!set.size) map.delete(key);
}

/** The parser's message quotes the file's bytes: control and line-breaking characters are shown escaped, so the reason stays one printable line. */
function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
