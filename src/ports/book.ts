/**
 * The port book: which allocation holds which port (the contract is ports.ts). The agent calls
 * `sync` whenever the desired set changes and at every reconcile pass; the task worker asks
 * `forStart` before a start; the teardown hook calls `release`. All synchronous: an assignment is
 * decided and in the store before any task of the allocation can start.
 *
 * Order: allocations whose assignment still fits keep it, whatever the files say; then new (or
 * edited) allocations are served in the desired set's order (first file by path, then job,
 * group, index) — static ports of all of them first, then dynamic ones, so a dynamic pick never
 * takes a static port a later file asks for. An allocation that cannot get every port gets none
 * and keeps its old assignment, if any (its running tasks keep their ports); it is tried again at
 * the next sync. A reason that changes is one "Port Conflict" event naming the job and file.
 */
import type pino from 'pino';
import type { Group, Job } from '../jobspec/model.js';
import { TASK_EVENT, type NewEvent } from '../store/store.js';
import { inRanges, type AllocatedPort, type Listener, type ListenerOwner, type PortAssignment, type PortConfig, type PortProbe, type PortRequest, type PortsForStart } from './ports.js';
import { portRequests, portSpec } from './requests.js';

/** The part of the store the book uses (it is the only writer of assignments). */
export interface PortStore {
  portsAll(): PortAssignment[];
  getPorts(allocId: string): PortAssignment | undefined;
  putPorts(a: PortAssignment): void;
  deletePorts(allocId: string): void;
  addEvent(e: NewEvent): unknown;
}

/** One allocation as the desired set gives it (a desired instance fits). */
export interface AllocRef {
  allocId: string;
  job: Job;
  group: Group;
  index: number;
}

export interface PortBookOptions {
  store: PortStore;
  config: PortConfig;
  probe: PortProbe;
  logger: pino.Logger;
  /** Epoch ms (default Date.now). */
  now?: () => number;
  /** In [0, 1): where the search for a dynamic port starts (default Math.random). */
  random?: () => number;
  /** Ports were released: an allocation waiting for them may get them now. */
  onRelease?(): void;
}

interface Blocked {
  spec: string;
  reason: string;
}

/** Where a port of an allocation stands while assigning: the requests and what they got. */
interface Draft {
  ref: AllocRef;
  spec: string;
  requests: PortRequest[];
  got: AllocatedPort[];
}

/** The line of the group's port asking for static `port`, else of its first port block (or the group's), named in conflicts. */
function portLine(g: Group, port?: number): number {
  const all = [...(g.ports ?? []), ...g.tasks.flatMap((t) => t.ports ?? [])];
  const exact = port === undefined ? undefined : all.find((p) => p.static === port);
  const lines = all.map((p) => p.pos.line).filter((l) => l > 0);
  return exact?.pos.line || (lines.length ? Math.min(...lines) : g.pos.line);
}

/** An assignment of `ref` without ports yet: who holds what, for messages. */
function holding(ref: AllocRef, spec: string): PortAssignment {
  return { allocId: ref.allocId, job: ref.job.id, group: ref.group.name, index: ref.index, file: ref.job.file, line: portLine(ref.group), spec, ports: [], at: '' };
}

export class PortBook {
  readonly #o: PortBookOptions;
  readonly #log: pino.Logger;
  /** Desired allocations that ask for ports, by alloc id, from the last sync. */
  #claims = new Map<string, AllocRef>();
  /** Allocations whose current request could not be served, and why. */
  readonly #blocked = new Map<string, Blocked>();
  /** Who holds a bound socket, by inode (a socket keeps its owner; looked up once, not at every retry). */
  #owners = new Map<number, ListenerOwner | null>();

  constructor(o: PortBookOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'ports' });
  }

  get config(): PortConfig {
    return this.#o.config;
  }

  /**
   * Bring the book in line with the desired instances (in the set's order) and `live`, the
   * allocations with a task process that may still use its ports: assignments of allocations
   * neither desired with ports nor live go; desired allocations get (or keep) their ports.
   */
  sync(instances: Iterable<AllocRef>, live: ReadonlySet<string>): void {
    const claims = new Map<string, AllocRef>();
    for (const d of instances) if (!claims.has(d.allocId) && portSpec(d.group)) claims.set(d.allocId, d);
    this.#claims = claims;
    let released = 0;
    for (const a of this.#o.store.portsAll()) {
      if (claims.has(a.allocId) || live.has(a.allocId)) continue;
      this.#o.store.deletePorts(a.allocId);
      this.#log.info({ allocId: a.allocId, job: a.job, ports: a.ports.map((p) => `${p.label}=${p.value}`) }, 'ports released');
      released++;
    }
    for (const id of this.#blocked.keys()) if (!claims.has(id)) this.#blocked.delete(id);
    const pending: AllocRef[] = [];
    for (const c of claims.values()) {
      const a = this.#o.store.getPorts(c.allocId);
      if (!a || a.spec !== portSpec(c.group)) {
        pending.push(c);
        continue;
      }
      this.#blocked.delete(c.allocId);
      // The file may have moved or its lines shifted (conflicts name where the job is now), the
      // node's address changed since the agent last ran (tasks get the new one when they next start).
      const line = portLine(c.group);
      const ip = (p: AllocatedPort) => this.#o.config.networks.get(p.hostNetwork)?.address ?? p.hostIp;
      if (a.file !== c.job.file || a.line !== line || a.ports.some((p) => ip(p) !== p.hostIp)) {
        this.#o.store.putPorts({ ...a, file: c.job.file, line, ports: a.ports.map((p) => ({ ...p, hostIp: ip(p) })) });
      }
    }
    if (pending.length) this.#assign(pending);
    if (released) this.#o.onRelease?.();
  }

  /** The ports for a start of a task of `ref`'s allocation (assigned now if the book has not seen its request yet). */
  forStart(ref: AllocRef): PortsForStart {
    const spec = portSpec(ref.group);
    if (!spec) return { ok: true, ports: [] };
    let a = this.#o.store.getPorts(ref.allocId);
    if (!a || a.spec !== spec) {
      this.#assign([ref]);
      a = this.#o.store.getPorts(ref.allocId);
    }
    if (a && a.spec === spec) return { ok: true, ports: a.ports };
    return { ok: false, reason: this.#blocked.get(ref.allocId)?.reason ?? 'ports not allocated yet' };
  }

  /** Why the allocation's current request has no ports (undefined: it has them, asks for none, or was not tried yet). */
  blocked(ref: AllocRef): string | undefined {
    const spec = portSpec(ref.group);
    if (!spec) return undefined;
    const a = this.#o.store.getPorts(ref.allocId);
    if (a && a.spec === spec) return undefined;
    const b = this.#blocked.get(ref.allocId);
    return b && b.spec === spec ? b.reason : undefined;
  }

  /** Every allocation waiting for ports, with the reason. */
  blockedAll(): { allocId: string; job: string; reason: string }[] {
    return [...this.#blocked].map(([allocId, b]) => ({ allocId, job: this.#claims.get(allocId)?.job.id ?? '', reason: b.reason }));
  }

  /** The ports an allocation holds now (its current assignment), if any. */
  portsOf(allocId: string): AllocatedPort[] | undefined {
    return this.#o.store.getPorts(allocId)?.ports;
  }

  /** The allocation's last task is gone: its ports go too, unless it is still desired. */
  release(allocId: string): void {
    if (this.#claims.has(allocId)) return;
    const a = this.#o.store.getPorts(allocId);
    if (!a) return;
    this.#o.store.deletePorts(allocId);
    this.#log.info({ allocId, job: a.job, ports: a.ports.map((p) => `${p.label}=${p.value}`) }, 'ports released');
    this.#o.onRelease?.();
  }

  /**
   * Recovery found a task of this allocation running with these ports while the store had lost
   * them: they are the allocation's again (an assignment made meanwhile gives way; what else was
   * given one of them is assigned again at the next sync).
   */
  adopt(a: { allocId: string; job: string; group: string; index: number; file: string }, spec: string, ports: readonly AllocatedPort[]): void {
    const { store } = this.#o;
    const cur = store.getPorts(a.allocId);
    const same = cur && cur.spec === spec && cur.ports.length === ports.length && cur.ports.every((p, i) => p.label === ports[i].label && p.value === ports[i].value);
    if (same) return;
    for (const other of store.portsAll()) {
      if (other.allocId !== a.allocId && other.ports.some((p) => !p.shared && ports.some((q) => q.value === p.value))) store.deletePorts(other.allocId);
    }
    store.putPorts({ allocId: a.allocId, job: a.job, group: a.group, index: a.index, file: a.file, line: cur?.line ?? 0, spec, ports: ports.map((p) => ({ ...p })), at: new Date((this.#o.now ?? Date.now)()).toISOString() });
    this.#blocked.delete(a.allocId);
    this.#log.info({ allocId: a.allocId, job: a.job, ports: ports.map((p) => `${p.label}=${p.value}`) }, 'ports taken back from a running task');
  }

  // ---- assignment ----

  #assign(refs: AllocRef[]): void {
    const { store } = this.#o;
    const mine = new Set(refs.map((r) => r.allocId));
    /** Ports held by other allocations (ignore_collision ones hold nothing). */
    const held = new Map<number, PortAssignment>();
    for (const a of store.portsAll()) {
      if (mine.has(a.allocId)) continue;
      for (const p of a.ports) if (!p.shared) held.set(p.value, a);
    }
    let bound: ReadonlyMap<number, readonly Listener[]> | undefined;
    const inUse = () => {
      if (bound) return bound;
      bound = this.#o.probe.inUse();
      // Owners of sockets that are gone are forgotten (inodes are reused).
      const live = new Set([...bound.values()].flat().map((l) => l.inode));
      for (const i of this.#owners.keys()) if (!live.has(i)) this.#owners.delete(i);
      return bound;
    };
    const drafts: Draft[] = [];
    // Statics first, for every allocation in order.
    for (const ref of refs) {
      const requests = portRequests(ref.group);
      const d: Draft = { ref, spec: portSpec(ref.group), requests, got: [] };
      const why = this.#statics(d, held, inUse);
      if (why) this.#block(d, why);
      else drafts.push(d);
    }
    for (const d of drafts) {
      const why = this.#dynamics(d, held, inUse);
      if (why) {
        this.#block(d, why);
        for (const p of d.got) if (held.get(p.value)?.allocId === d.ref.allocId) held.delete(p.value);
        continue;
      }
      // In the order they were asked for.
      const a = { ...holding(d.ref, d.spec), ports: d.requests.map((r) => d.got.find((p) => p.label === r.label)!), at: new Date((this.#o.now ?? Date.now)()).toISOString() };
      store.putPorts(a);
      if (this.#blocked.delete(a.allocId)) this.#log.info({ allocId: a.allocId, job: a.job }, 'ports no longer blocked');
      this.#log.info({ allocId: a.allocId, job: a.job, group: a.group, index: a.index, ports: a.ports.map((p) => `${p.label}=${p.value}`) }, 'ports allocated');
    }
  }

  /** The static ports of `d`, or why one cannot be had. Taken ones are added to `held`. */
  #statics(d: Draft, held: Map<number, PortAssignment>, inUse: () => ReadonlyMap<number, readonly Listener[]>): string | undefined {
    const { config } = this.#o;
    const taken: number[] = [];
    const fail = (why: string) => {
      for (const v of taken) held.delete(v);
      return why;
    };
    for (const r of d.requests) {
      const net = config.networks.get(r.hostNetwork);
      if (!net) {
        const why = config.unresolved?.get(r.hostNetwork);
        if (why) return fail(`port "${r.label}" asks for host_network "${r.hostNetwork}": ${why}`);
        return fail(`port "${r.label}" asks for host_network "${r.hostNetwork}", which the agent config does not define (client { host_network "${r.hostNetwork}" { … } }); defined: ${[...config.networks.keys()].map((n) => `"${n}"`).join(', ')}`);
      }
      if (r.static === undefined) continue;
      const port: AllocatedPort = { label: r.label, value: r.static, to: r.to === -1 ? r.static : (r.to ?? 0), hostIp: net.address, hostNetwork: net.name, static: true, ...(r.task !== undefined ? { task: r.task } : {}) };
      if (r.ignoreCollision) {
        d.got.push({ ...port, shared: true });
        continue;
      }
      const what = `static port ${r.static} (port "${r.label}")`;
      if (inRanges(r.static, config.reserved)) return fail(`${what} is reserved on this node (client { reserved { reserved_ports } })`);
      if (inRanges(r.static, net.reserved)) return fail(`${what} is reserved on host_network "${net.name}" (its reserved_ports)`);
      const holder = held.get(r.static);
      if (holder) {
        const claim = this.#claims.get(holder.allocId);
        const line = claim && claim.job.file === holder.file ? portLine(claim.group, r.static) : holder.line;
        return fail(`${what} is held by job "${holder.job}" (${holder.file}${line ? `:${line}` : ''}, group ${holder.group}[${holder.index}])`);
      }
      // A port the allocation already holds is bound by its own task, maybe: not a conflict.
      const mineAlready = this.#o.store.getPorts(d.ref.allocId)?.ports.some((p) => p.value === r.static);
      const why = mineAlready ? undefined : this.#boundBy(r.static, d.ref.allocId, inUse);
      if (why) return fail(`${what} is in use on this node by ${why}`);
      held.set(r.static, holding(d.ref, d.spec));
      taken.push(r.static);
      d.got.push(port);
    }
    return undefined;
  }

  /** Who has `port` bound, unless nobody or a task of `allocId` itself (its ports are its own). */
  #boundBy(port: number, allocId: string, inUse: () => ReadonlyMap<number, readonly Listener[]>): string | undefined {
    const ls = inUse().get(port);
    if (!ls?.length) return undefined;
    const missing = ls.map((l) => l.inode).filter((i) => !this.#owners.has(i));
    if (missing.length) {
      const found = this.#o.probe.owners(missing);
      for (const i of missing) this.#owners.set(i, found.get(i) ?? null);
    }
    const known = ls.map((l) => this.#owners.get(l.inode)).filter((o): o is ListenerOwner => Boolean(o));
    if (known.length && known.every((o) => o.allocId === allocId)) return undefined;
    const other = known.find((o) => o.allocId !== allocId);
    if (!other) return `a process tend cannot see (${ls[0].proto} ${ls[0].address}:${port})`;
    if (other.task) return `task ${other.task}${other.job ? ` of job "${other.job}"` : ''} (pid ${other.pid}, ${other.command}), which no allocation of this agent holds it for`;
    return `pid ${other.pid} (${other.command}), which is not a tend task`;
  }

  /** The dynamic ports of `d`, or why there are not enough. */
  #dynamics(d: Draft, held: Map<number, PortAssignment>, inUse: () => ReadonlyMap<number, readonly Listener[]>): string | undefined {
    const { config } = this.#o;
    const { minDynamic: lo, maxDynamic: hi } = config;
    const previous = this.#o.store.getPorts(d.ref.allocId);
    const mark: AllocatedPort[] = [];
    for (const r of d.requests) {
      if (r.static !== undefined) continue;
      const net = config.networks.get(r.hostNetwork)!;
      const allowed = (v: number) => v >= lo && v <= hi && !held.has(v) && !inRanges(v, config.reserved) && !inRanges(v, net.reserved) && !mark.some((m) => m.value === v);
      // The same label keeps its dynamic port through an edit: it is still this allocation's (and bound by its own task, maybe).
      const before = previous?.ports.find((p) => p.label === r.label && !p.static && p.hostNetwork === r.hostNetwork && p.task === r.task);
      let value: number | undefined;
      if (before && allowed(before.value)) value = before.value;
      else {
        const span = hi - lo + 1;
        const start = Math.floor((this.#o.random ?? Math.random)() * span);
        for (let i = 0; i < span && value === undefined; i++) {
          const v = lo + ((start + i) % span);
          if (allowed(v) && !inUse().has(v)) value = v;
        }
      }
      if (value === undefined) return `no free dynamic port for port "${r.label}" in ${lo}-${hi} (client { min_dynamic_port, max_dynamic_port }): all are held by allocations, reserved or in use`;
      const p: AllocatedPort = { label: r.label, value, to: r.to === -1 ? value : (r.to ?? 0), hostIp: net.address, hostNetwork: net.name, ...(r.task !== undefined ? { task: r.task } : {}) };
      mark.push(p);
    }
    d.got.push(...mark);
    for (const p of mark) held.set(p.value, holding(d.ref, d.spec));
    return undefined;
  }

  #block(d: Draft, reason: string): void {
    const prev = this.#blocked.get(d.ref.allocId);
    this.#blocked.set(d.ref.allocId, { spec: d.spec, reason });
    if (prev?.reason === reason && prev.spec === d.spec) return;
    const { job, group, index } = d.ref;
    this.#log.warn({ allocId: d.ref.allocId, job: job.id, group: group.name, index, reason }, 'ports unavailable');
    this.#o.store.addEvent({ job: job.id, file: job.file, type: TASK_EVENT.PortConflict, message: `${job.id}/${group.name}[${index}]: ${reason}`, details: { allocId: d.ref.allocId, group: group.name, index } });
  }
}
