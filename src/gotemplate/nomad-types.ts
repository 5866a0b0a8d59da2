/**
 * The values consul-template's Nomad functions return, with the fields and
 * methods templates use:
 *
 * - `nomadVar` → NomadVarItems: a map of item name → NomadVarItem
 *   (`{{ .key }}` prints the value; `.key.Value`, `.key.Key`), with methods
 *   `Keys`, `Values`, `Tuples` (`.K`/`.V`), `Metadata`, `Parent`, `ItemsMap`.
 * - `nomadVarList` → a list of NomadVarMeta (`.Path`, `.Namespace`, times;
 *   prints as its path).
 * - NomadVariable (`.Parent`): `.Path`, `.Items`, `.Metadata`, …
 */
import type { NomadServiceRegistration, StoredVariable, StoredVariableMeta } from './gotemplate.js';
import { formatGoTime, goTimeString } from './timefmt.js';
import { GoObject, NO_FIELD, compareStrings, type GoMethod } from './values.js';

/** A Go struct from a field table and a method table. */
abstract class GoStruct extends GoObject {
  readonly goKind = 'struct' as const;
  protected abstract fields(): Record<string, unknown>;
  protected methods(): Record<string, GoMethod> {
    return {};
  }
  override goMethod(name: string): GoMethod | undefined {
    const m = this.methods();
    return Object.hasOwn(m, name) ? m[name] : undefined;
  }
  override goField(name: string): unknown {
    const f = this.fields();
    return Object.hasOwn(f, name) ? f[name] : NO_FIELD;
  }
  override goFields(): unknown[] {
    return Object.values(this.fields());
  }
  goJSON(): unknown {
    return this.fields();
  }
}

/** Go's time.Time, as far as templates use it. */
export class GoTime extends GoStruct {
  readonly goType = 'time.Time';
  constructor(readonly nanos: bigint) {
    super();
  }
  protected fields() {
    return {};
  }
  protected override methods(): Record<string, GoMethod> {
    const d = new Date(Number(this.nanos / 1_000_000n));
    return {
      Format: (layout) => formatGoTime(d, String(layout)),
      Unix: () => Number(this.nanos / 1_000_000_000n),
      UnixNano: () => Number(this.nanos),
      UTC: () => this,
      String: () => goTimeString(this.nanos),
    };
  }
  override goString(): string {
    return goTimeString(this.nanos);
  }
  override goJSON(): unknown {
    return formatGoTime(new Date(Number(this.nanos / 1_000_000n)), '2006-01-02T15:04:05.999999999Z07:00');
  }
}

/** Nomad's stored time (unix nanoseconds) with `.Time` and Go's time printing. */
export class NanoTime extends GoStruct {
  readonly goType = 'dependency.nanoTime';
  constructor(readonly nanos: bigint) {
    super();
  }
  protected fields() {
    return {};
  }
  protected override methods(): Record<string, GoMethod> {
    return { Time: () => new GoTime(this.nanos), String: () => goTimeString(this.nanos) };
  }
  override goString(): string {
    return goTimeString(this.nanos);
  }
  override goJSON(): unknown {
    return Number(this.nanos);
  }
}

function metaFields(m: StoredVariableMeta): Record<string, unknown> {
  return {
    Namespace: m.namespace ?? 'default',
    Path: m.path,
    CreateIndex: m.createIndex ?? 0,
    ModifyIndex: m.modifyIndex ?? 0,
    CreateTime: new NanoTime(BigInt(m.createTime ?? 0)),
    ModifyTime: new NanoTime(BigInt(m.modifyTime ?? 0)),
  };
}

export class NomadVarMeta extends GoStruct {
  readonly goType = '*dependency.NomadVarMeta';
  constructor(readonly meta: StoredVariableMeta) {
    super();
  }
  protected fields() {
    return metaFields(this.meta);
  }
  protected override methods(): Record<string, GoMethod> {
    return { String: () => this.meta.path };
  }
  override goString(): string {
    return this.meta.path;
  }
}

export class NomadVariable extends GoStruct {
  readonly goType = '*dependency.NomadVariable';
  readonly items: NomadVarItems;
  constructor(readonly stored: StoredVariable) {
    super();
    this.items = new NomadVarItems(this);
  }
  protected fields() {
    return { ...metaFields(this.stored), Items: this.items };
  }
  protected override methods(): Record<string, GoMethod> {
    return { Metadata: () => new NomadVarMeta(this.stored) };
  }
}

export class NomadVarItem extends GoStruct {
  readonly goType = 'dependency.NomadVarItem';
  constructor(
    readonly key: string,
    readonly value: string,
    readonly parent: NomadVariable | undefined,
  ) {
    super();
  }
  protected fields() {
    return { Key: this.key, Value: this.value };
  }
  override goField(name: string): unknown {
    return name === 'Value' ? this.value : name === 'Key' ? this.key : NO_FIELD;
  }
  protected override methods(): Record<string, GoMethod> {
    return {
      String: () => this.value,
      Metadata: () => (this.parent ? new NomadVarMeta(this.parent.stored) : undefined),
      Parent: () => this.parent,
    };
  }
  override goString(): string {
    return this.value;
  }
  override goJSON(): unknown {
    return this.value;
  }
}

/** `struct{ K, V string }` of NomadVarItems.Tuples. */
class KV extends GoStruct {
  readonly goType = 'struct { K string; V string }';
  constructor(
    readonly k: string,
    readonly v: string,
  ) {
    super();
  }
  protected fields() {
    return { K: this.k, V: this.v };
  }
}

/** dependency.NomadVarItems: map[string]NomadVarItem with helper methods. */
export class NomadVarItems extends GoObject {
  readonly goType = 'dependency.NomadVarItems';
  readonly goKind = 'map' as const;
  readonly #items: Map<string, NomadVarItem>;
  readonly #keys: string[];

  constructor(readonly parent: NomadVariable | undefined) {
    super();
    const raw = parent?.stored.items ?? {};
    this.#keys = Object.keys(raw).sort(compareStrings);
    this.#items = new Map(this.#keys.map((k) => [k, new NomadVarItem(k, raw[k], parent)]));
  }
  override goMethod(name: string): GoMethod | undefined {
    switch (name) {
      case 'Keys':
        return () => [...this.#keys];
      case 'Values':
        return () => this.#keys.map((k) => this.#items.get(k)!.value);
      case 'Tuples':
        return () => this.#keys.map((k) => new KV(k, this.#items.get(k)!.value));
      case 'Metadata':
        return () => (this.parent && this.#keys.length ? new NomadVarMeta(this.parent.stored) : undefined);
      case 'Parent':
        return () => (this.#keys.length ? this.parent : undefined);
      case 'ItemsMap':
        return () => (this.#keys.length ? Object.fromEntries(this.#keys.map((k) => [k, this.#items.get(k)!.value])) : undefined);
    }
    return undefined;
  }
  override goEntries(): Array<[unknown, unknown]> {
    return this.#keys.map((k) => [k, this.#items.get(k)]);
  }
  override goGet(key: string): unknown {
    return this.#items.get(key) ?? NO_FIELD;
  }
  override goZero(): unknown {
    return new NomadVarItem('', '', undefined);
  }
  goJSON(): unknown {
    return Object.fromEntries(this.#keys.map((k) => [k, this.#items.get(k)!.value]));
  }
}

/** dependency.NomadService (nomadService). */
export class NomadService extends GoStruct {
  readonly goType = '*dependency.NomadService';
  constructor(readonly reg: NomadServiceRegistration) {
    super();
  }
  protected fields() {
    const r = this.reg;
    return {
      ID: r.id,
      Name: r.name,
      Node: r.nodeId ?? '',
      Address: r.address,
      Port: r.port,
      Datacenter: r.datacenter ?? '',
      Tags: [...r.tags],
      JobID: r.jobId ?? '',
      AllocID: r.allocId ?? '',
    };
  }
}

/** dependency.NomadServicesSnippet (nomadServices). */
export class NomadServicesSnippet extends GoStruct {
  readonly goType = '*dependency.NomadServicesSnippet';
  constructor(
    readonly name: string,
    readonly tags: string[],
  ) {
    super();
  }
  protected fields() {
    return { Name: this.name, Tags: [...this.tags] };
  }
}
