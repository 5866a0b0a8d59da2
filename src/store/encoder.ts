/**
 * The store document's JSON, rebuilt from what changed (issue 14). Writing the whole document
 * with one `JSON.stringify` per write cost 2–4 ms at 200 tasks and grew with N: it was the agent's
 * largest CPU cost while idle, on a new file and on a crash. Here every part of the document keeps
 * its last JSON text: a task record, an event, a shared spec, an entry of the periodic, ports,
 * dispatch and rollouts maps. The store says which keys it changed (`touch`), and a write
 * stringifies only those and joins the rest from the cache. The text on disk has the format
 * `encodeDocument` writes (records refer to shared specs by `hashes.ref`), so `decodeDocument`
 * reads both.
 *
 * Events are never changed once made, so their text is kept by identity. A task record's text
 * leaves its events out and appends them, so a new event costs its own text and a join.
 *
 * `TEND_STORE_CHECK=1` (the e2e harness sets it) compares every write with a full encode of the
 * document and ends the process on a difference: a change made without telling the store would
 * otherwise be lost on disk without a sign.
 */
import { isDeepStrictEqual } from 'node:util';
import type { StoreDocument, TaskEvent, TaskRecord } from './store.js';

export type Section = 'tasks' | 'periodic' | 'ports' | 'dispatch' | 'rollouts';
const MAPS = ['periodic', 'ports', 'dispatch', 'rollouts'] as const;
const SECTIONS: readonly Section[] = ['tasks', ...MAPS];

type Fields = Record<string, string>;
type Values = Record<string, unknown> | undefined;

export class DocumentEncoder {
  #doc: StoreDocument | undefined;
  /** Per section: key → its JSON text (`"key":{…}`), for keys not changed since it was made. */
  readonly #texts = new Map<Section, Map<string, string>>();
  readonly #dirty = new Map<Section, Set<string>>();
  /** Shared specs: one ref per (fields, values) pair, by identity, for as long as the objects live. */
  readonly #refs = new WeakMap<Fields, Map<Values, string>>();
  #nextRef = 0;
  /** ref → `"sN":{fields}` and `"sN":{values}` (undefined when the spec has no values). */
  readonly #specTexts = new Map<string, { fields: string; values?: string }>();
  /** task id → the ref its record uses (to know which specs are still used). */
  readonly #refOf = new Map<string, string>();
  readonly #eventTexts = new WeakMap<TaskEvent, string>();
  /** Refs whose spec texts the journal has since the last full encode. */
  readonly #journaledRefs = new Set<string>();
  /** The last node-wide event on disk (in the snapshot or a journal line). */
  #lastEvent: TaskEvent | undefined;
  /** The node-wide ring's text as of the last encode: it only grows at the end between trims. */
  #ring: { first: TaskEvent | undefined; last: TaskEvent | undefined; length: number; text: string } | undefined;

  /** `key` of `section` changed (or was deleted): its text is made again at the next encode. */
  touch(section: Section, key: string): void {
    let set = this.#dirty.get(section);
    if (!set) this.#dirty.set(section, (set = new Set()));
    set.add(key);
  }

  /** The document's JSON. A document other than the last one encoded (a load) is encoded whole. */
  encode(doc: StoreDocument): string {
    if (doc !== this.#doc) this.#reset(doc);
    const parts: string[] = [];
    const tasks = this.#section('tasks', doc.tasks as Record<string, unknown>, (id, r) => this.#taskText(id, r as TaskRecord));
    // Specs still referred to, in the order of first use.
    const used = new Set(this.#refOf.values());
    for (const ref of this.#specTexts.keys()) if (!used.has(ref)) this.#specTexts.delete(ref);
    const specs: string[] = [];
    const specValues: string[] = [];
    for (const t of this.#specTexts.values()) {
      specs.push(t.fields);
      if (t.values !== undefined) specValues.push(t.values);
    }
    parts.push(`"version":${JSON.stringify(doc.version)}`, `"nodeId":${JSON.stringify(doc.nodeId)}`, `"seq":${JSON.stringify(doc.seq)}`);
    if (doc.journal !== undefined) parts.push(`"journal":${JSON.stringify(doc.journal)}`);
    parts.push(`"tasks":{${tasks}}`);
    for (const m of MAPS) {
      const map = doc[m] as Record<string, unknown> | undefined;
      if (map === undefined) continue;
      parts.push(`${JSON.stringify(m)}:{${this.#section(m, map, (k, v) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)}}`);
    }
    parts.push(`"events":[${this.#ringText(doc.events)}]`);
    // Keys of the document this encoder does not know (a newer field): written as they are.
    for (const [k, v] of Object.entries(doc)) {
      if (!KNOWN.has(k) && v !== undefined) parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"specs":{${specs.join(',')}}`, `"specValues":{${specValues.join(',')}}`);
    const text = `{${parts.join(',')}}`;
    if (process.env.TEND_STORE_CHECK === '1') checkEncoding(doc, text);
    // What the journal appends from now on is relative to this text.
    this.#journaledRefs.clear();
    for (const ref of this.#specTexts.keys()) this.#journaledRefs.add(ref);
    this.#lastEvent = doc.events[doc.events.length - 1];
    return text;
  }

  /**
   * What changed since the last `encode` or `delta`, as one journal line (JSON, no newline;
   * `applyDelta` replays it), or undefined when nothing did. Only valid after an `encode` of this
   * same document (the journal extends a snapshot).
   */
  delta(doc: StoreDocument, gen: number): string | undefined {
    if (doc !== this.#doc) throw new Error('store journal: expected a snapshot of this document first');
    const set: string[] = [];
    const del: string[] = [];
    const specs: string[] = [];
    const specValues: string[] = [];
    for (const section of SECTIONS) {
      const dirty = this.#dirty.get(section);
      if (!dirty?.size) continue;
      let texts = this.#texts.get(section);
      if (!texts) this.#texts.set(section, (texts = new Map()));
      const map = (section === 'tasks' ? doc.tasks : doc[section]) as Record<string, unknown> | undefined;
      const made: string[] = [];
      const gone: string[] = [];
      for (const key of dirty) {
        texts.delete(key);
        if (!map || !Object.hasOwn(map, key)) {
          if (section === 'tasks') this.#refOf.delete(key);
          gone.push(JSON.stringify(key));
          continue;
        }
        const t = section === 'tasks' ? this.#taskText(key, map[key] as TaskRecord) : `${JSON.stringify(key)}:${JSON.stringify(map[key])}`;
        texts.set(key, t);
        made.push(t);
        if (section !== 'tasks') continue;
        const ref = this.#refOf.get(key)!;
        if (this.#journaledRefs.has(ref)) continue;
        this.#journaledRefs.add(ref);
        const st = this.#specTexts.get(ref)!;
        specs.push(st.fields);
        if (st.values !== undefined) specValues.push(st.values);
      }
      dirty.clear();
      if (made.length) set.push(`${JSON.stringify(section)}:{${made.join(',')}}`);
      if (gone.length) del.push(`${JSON.stringify(section)}:[${gone.join(',')}]`);
    }
    // Node-wide events appended since the last line (all of them again when the last one was trimmed away).
    const events = doc.events;
    const at = this.#lastEvent === undefined ? -1 : events.lastIndexOf(this.#lastEvent);
    const reset = this.#lastEvent !== undefined && at < 0;
    const fresh = events.slice(at + 1);
    this.#lastEvent = events[events.length - 1] ?? this.#lastEvent;
    if (!set.length && !del.length && !fresh.length && !reset) return undefined;
    const parts = [`"g":${gen}`, `"seq":${doc.seq}`];
    if (set.length) parts.push(`"set":{${set.join(',')}}`);
    if (del.length) parts.push(`"del":{${del.join(',')}}`);
    if (specs.length) parts.push(`"specs":{${specs.join(',')}}`);
    if (specValues.length) parts.push(`"specValues":{${specValues.join(',')}}`);
    if (fresh.length || reset) parts.push(`"events":[${this.#events(fresh)}]`);
    if (reset) parts.push('"eventsReset":true');
    return `{${parts.join(',')}}`;
  }

  #reset(doc: StoreDocument): void {
    this.#doc = doc;
    this.#texts.clear();
    this.#dirty.clear();
    this.#specTexts.clear();
    this.#refOf.clear();
    this.#ring = undefined;
    this.#journaledRefs.clear();
    this.#lastEvent = undefined;
  }

  /** The section's `"key":…` texts joined: cached ones as they are, changed ones made again. */
  #section(section: Section, map: Record<string, unknown>, make: (key: string, value: unknown) => string): string {
    let texts = this.#texts.get(section);
    if (!texts) this.#texts.set(section, (texts = new Map()));
    const dirty = this.#dirty.get(section);
    if (dirty) {
      for (const key of dirty) {
        texts.delete(key);
        if (section === 'tasks' && !Object.hasOwn(map, key)) this.#refOf.delete(key);
      }
      dirty.clear();
    }
    const out: string[] = [];
    for (const key of Object.keys(map)) {
      let t = texts.get(key);
      if (t === undefined) {
        t = make(key, map[key]);
        texts.set(key, t);
      }
      out.push(t);
    }
    // Keys deleted without a touch are simply not written; their cache entries go.
    if (texts.size > out.length) for (const key of texts.keys()) if (!Object.hasOwn(map, key)) texts.delete(key);
    if (section === 'tasks' && this.#refOf.size > out.length) for (const key of this.#refOf.keys()) if (!Object.hasOwn(map, key)) this.#refOf.delete(key);
    return out.join(',');
  }

  #taskText(id: string, r: TaskRecord): string {
    const ref = this.#ref(r.hashes.fields, r.hashes.values);
    this.#refOf.set(id, ref);
    const { events, ...rest } = r;
    const body = JSON.stringify({ ...rest, hashes: { restart: r.hashes.restart, resources: r.hashes.resources, policy: r.hashes.policy, ref } });
    return `${JSON.stringify(id)}:${body.slice(0, -1)},"events":[${this.#events(events)}]}`;
  }

  #ref(fields: Fields, values: Values): string {
    let byValues = this.#refs.get(fields);
    if (!byValues) this.#refs.set(fields, (byValues = new Map()));
    let ref = byValues.get(values);
    if (ref === undefined) {
      ref = `s${this.#nextRef++}`;
      byValues.set(values, ref);
    }
    if (!this.#specTexts.has(ref)) {
      this.#specTexts.set(ref, { fields: `"${ref}":${JSON.stringify(fields)}`, ...(values ? { values: `"${ref}":${JSON.stringify(values)}` } : {}) });
    }
    return ref;
  }

  /** The ring's text: the last one plus the events appended since, while nothing was trimmed. */
  #ringText(list: readonly TaskEvent[]): string {
    const r = this.#ring;
    let text: string;
    if (r && list.length >= r.length && list[0] === r.first && list[r.length - 1] === r.last) {
      const added = this.#events(list.slice(r.length));
      text = !added ? r.text : r.text ? `${r.text},${added}` : added;
    } else {
      text = this.#events(list);
    }
    this.#ring = { first: list[0], last: list[list.length - 1], length: list.length, text };
    return text;
  }

  #events(list: readonly TaskEvent[]): string {
    const out = new Array<string>(list.length);
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      let t = this.#eventTexts.get(e);
      if (t === undefined) {
        t = JSON.stringify(e);
        this.#eventTexts.set(e, t);
      }
      out[i] = t;
    }
    return out.join(',');
  }
}

const KNOWN = new Set(['version', 'nodeId', 'seq', 'journal', 'tasks', 'periodic', 'ports', 'dispatch', 'rollouts', 'events', 'specs', 'specValues']);

/** The store document with every record's spec inlined: what `decodeDocument` makes of a text. */
function inlined(doc: unknown): unknown {
  const d = doc as { specs?: Record<string, Fields>; specValues?: Record<string, Values>; tasks?: Record<string, { hashes: Record<string, unknown> }> };
  for (const r of Object.values(d.tasks ?? {})) {
    const ref = r.hashes.ref as string | undefined;
    if (ref === undefined) continue;
    r.hashes.fields = d.specs?.[ref] ?? {};
    if (d.specValues?.[ref]) r.hashes.values = d.specValues[ref];
    delete r.hashes.ref;
  }
  delete d.specs;
  delete d.specValues;
  return d;
}

function checkEncoding(doc: StoreDocument, text: string): void {
  const where = encodingDifference(doc, text);
  if (!where.length) return;
  process.stderr.write(`TEND_STORE_CHECK: the store's cached encoding differs from the document at ${where.slice(0, 10).join(', ')}: a change was made without telling the store (put/update/delete)\n`);
  process.exit(70);
}

/** Where `text` (an encoding) and the document differ, as `section.key` paths; empty when they agree. */
export function encodingDifference(doc: StoreDocument, text: string): string[] {
  return documentDifference(doc, inlined(JSON.parse(text)) as StoreDocument);
}

/** Where a document read back (specs inlined) and the document differ, as `section.key` paths. */
export function documentDifference(doc: StoreDocument, read: StoreDocument): string[] {
  const want = inlined(JSON.parse(JSON.stringify(doc))) as Record<string, unknown>;
  const got = JSON.parse(JSON.stringify(read)) as Record<string, unknown>;
  if (isDeepStrictEqual(got, want)) return [];
  const where: string[] = [];
  for (const k of new Set([...Object.keys(want), ...Object.keys(got)])) {
    const a = want[k] as Record<string, unknown> | undefined;
    const b = got[k] as Record<string, unknown> | undefined;
    if (isDeepStrictEqual(a, b)) continue;
    if (a && b && typeof a === 'object' && !Array.isArray(a)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) if (!isDeepStrictEqual(a[key], b[key])) where.push(`${k}.${key}`);
    } else where.push(k);
  }
  return where;
}

/** One journal line as `delta` writes it. */
interface DeltaLine {
  g: number;
  seq: number;
  set?: Partial<Record<Section, Record<string, unknown>>>;
  del?: Partial<Record<Section, string[]>>;
  specs?: Record<string, Fields>;
  specValues?: Record<string, Record<string, unknown>>;
  events?: TaskEvent[];
  eventsReset?: boolean;
}

/**
 * Replay one journal line onto a decoded document (`decodeDocument`'s output: specs inlined).
 * `specs`/`specValues`: every spec seen so far (the snapshot's and earlier lines'), by ref.
 * `trimEvents`: the ring's own trimming, as the store applies it per event.
 */
export function applyDelta(doc: StoreDocument, line: DeltaLine, specs: { fields: Record<string, Fields>; values: Record<string, Record<string, unknown>> }, trimEvents: (events: TaskEvent[]) => void): void {
  Object.assign(specs.fields, line.specs ?? {});
  Object.assign(specs.values, line.specValues ?? {});
  doc.seq = line.seq;
  for (const section of SECTIONS) {
    const set = line.set?.[section];
    const del = line.del?.[section];
    if (!set && !del) continue;
    const map = (section === 'tasks' ? doc.tasks : (doc[section] ??= {})) as Record<string, unknown>;
    for (const key of del ?? []) delete map[key];
    for (const [key, value] of Object.entries(set ?? {})) {
      if (section === 'tasks') {
        const r = value as { hashes: Record<string, unknown> };
        const ref = r.hashes.ref as string | undefined;
        if (ref !== undefined) {
          r.hashes.fields = specs.fields[ref] ?? {};
          if (specs.values[ref]) r.hashes.values = specs.values[ref];
          delete r.hashes.ref;
        }
      }
      map[key] = value;
    }
  }
  if (line.eventsReset) doc.events = [];
  for (const e of line.events ?? []) {
    doc.events.push(e);
    trimEvents(doc.events);
  }
}
