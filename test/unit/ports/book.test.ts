import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadText } from '../../../src/jobspec/load.js';
import type { Job } from '../../../src/jobspec/model.js';
import { expandJobs } from '../../../src/reconcile/expand.js';
import type { DesiredInstance } from '../../../src/reconcile/reconcile.js';
import { PortBook, type PortStore } from '../../../src/ports/book.js';
import type { Listener, ListenerOwner, PortAssignment, PortConfig, PortProbe } from '../../../src/ports/ports.js';
import { resolvePort } from '../../../src/ports/ports.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import type { NewEvent } from '../../../src/store/store.js';
import { parseRanges } from '../../../src/agent/config.js';

const logger = pino({ level: 'silent' });

/** A job `name` from `file` with one group `g` (count, ports as HCL) and one raw_exec task. */
async function job(name: string, file: string, ports: string, o: { count?: number; task?: string } = {}): Promise<Job> {
  const text = `job "${name}" {
  group "g" {
    count = ${o.count ?? 1}
    network {
${ports}
    }
    task "${o.task ?? 't'}" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
      }
    }
  }
}
`;
  const r = await loadText(file, text);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  return r.jobs[0];
}

const instances = (...jobs: Job[]): DesiredInstance[] => [...expandJobs(jobs, 'node').values()];

class MemStore implements PortStore {
  readonly map = new Map<string, PortAssignment>();
  readonly events: NewEvent[] = [];
  portsAll() {
    return [...this.map.values()];
  }
  getPorts(id: string) {
    return this.map.get(id);
  }
  putPorts(a: PortAssignment) {
    this.map.set(a.allocId, a);
  }
  deletePorts(id: string) {
    this.map.delete(id);
  }
  addEvent(e: NewEvent) {
    this.events.push(e);
  }
}

/** A probe that reports `bound` ports (port → owner; undefined owner: one /proc does not show). */
function probe(bound: Map<number, ListenerOwner | undefined> = new Map()): PortProbe & { reads: number } {
  const p = {
    reads: 0,
    inUse() {
      p.reads++;
      const out = new Map<number, Listener[]>();
      for (const port of bound.keys()) out.set(port, [{ proto: 'tcp', port, address: '0.0.0.0', inode: port * 10 }]);
      return out;
    },
    owners(inodes: readonly number[]) {
      const out = new Map<number, ListenerOwner>();
      for (const i of inodes) {
        const o = bound.get(i / 10);
        if (o) out.set(i, o);
      }
      return out;
    },
  };
  return p;
}

function config(o: Partial<PortConfig> & { lan?: boolean } = {}): PortConfig {
  const networks = new Map([['default', { name: 'default', address: '192.0.2.10', reserved: [] as [number, number][] }]]);
  if (o.lan) networks.set('lan', { name: 'lan', address: '10.1.2.3', reserved: parseRanges('9000-9009')! });
  return { minDynamic: 20000, maxDynamic: 32000, reserved: [], networks, ...o };
}

function book(store: PortStore, o: { config?: PortConfig; probe?: PortProbe; random?: () => number; onRelease?: () => void } = {}): PortBook {
  return new PortBook({ store, config: o.config ?? config(), probe: o.probe ?? probe(), logger, random: o.random ?? (() => 0), now: () => Date.parse('2024-05-01T00:00:00Z'), onRelease: o.onRelease });
}

const values = (b: PortBook, d: DesiredInstance) => Object.fromEntries((b.portsOf(d.allocId) ?? []).map((p) => [p.label, p.value]));

test('port book: dynamic ports come from the range, skip reserved, held and bound ports, and differ across allocations', async () => {
  const store = new MemStore();
  const j = await job('web', '/jobs/web.hcl', '      port "http" {}\n      port "admin" {}', { count: 2 });
  const b = book(store, { config: config({ minDynamic: 20000, maxDynamic: 20009, reserved: parseRanges('20000-20002')! }), probe: probe(new Map([[20003, undefined]])) });
  const all = instances(j);
  b.sync(all, new Set());
  const a0 = values(b, all[0]);
  const a1 = values(b, all[1]);
  assert.deepEqual(a0, { admin: 20004, http: 20005 });
  assert.deepEqual(a1, { admin: 20006, http: 20007 });
  const p = b.portsOf(all[0].allocId)![0];
  assert.deepEqual(p, { label: 'admin', value: 20004, to: 0, hostIp: '192.0.2.10', hostNetwork: 'default' });
  assert.equal(store.events.length, 0);
});

test('port book: reserved_ports like "22,80,8000-8100" are refused as static ports and skipped as dynamic ones', async () => {
  const store = new MemStore();
  const reserved = parseRanges('22,80,8000-8100')!;
  const b = book(store, { config: config({ reserved, minDynamic: 8099, maxDynamic: 8102 }) });
  const inRange = await job('a', '/jobs/a.hcl', '      port "x" {\n        static = 8050\n      }');
  const eighty = await job('b', '/jobs/b.hcl', '      port "x" {\n        static = 80\n      }');
  const free = await job('c', '/jobs/c.hcl', '      port "x" {\n        static = 8101\n      }\n      port "d" {}');
  const desired = instances(inRange, eighty, free);
  b.sync(desired, new Set());
  const reason = (d: DesiredInstance) => b.blocked(d);
  assert.equal(reason(desired[0]), 'static port 8050 (port "x") is reserved on this node (client { reserved { reserved_ports } })');
  assert.equal(reason(desired[1]), 'static port 80 (port "x") is reserved on this node (client { reserved { reserved_ports } })');
  assert.equal(b.portsOf(desired[0].allocId), undefined);
  // 8099 and 8100 are reserved, 8101 is c's static: the dynamic one is 8102.
  assert.deepEqual(values(b, desired[2]), { x: 8101, d: 8102 });
  assert.deepEqual(b.forStart(desired[0]), { ok: false, reason: reason(desired[0]) });
  assert.deepEqual(store.events.map((e) => [e.job, e.type, e.file]), [['a', 'Port Conflict', '/jobs/a.hcl'], ['b', 'Port Conflict', '/jobs/b.hcl']]);
  // Once per reason: another sync adds no event.
  b.sync(desired, new Set());
  assert.equal(store.events.length, 2);
});

test('port book: an exhausted range blocks the allocation with the reason; a released port serves it at the next sync', async () => {
  const store = new MemStore();
  let released = 0;
  const b = book(store, { config: config({ minDynamic: 20000, maxDynamic: 20001 }), onRelease: () => released++ });
  const jobs = await Promise.all(['a', 'b', 'c'].map((n) => job(n, `/jobs/${n}.hcl`, '      port "http" {}')));
  b.sync(instances(...jobs), new Set());
  const [da, db, dc] = instances(...jobs);
  assert.deepEqual([values(b, da), values(b, db)], [{ http: 20000 }, { http: 20001 }]);
  assert.equal(b.blocked(dc), 'no free dynamic port for port "http" in 20000-20001 (client { min_dynamic_port, max_dynamic_port }): all are held by allocations, reserved or in use');
  assert.deepEqual(b.blockedAll(), [{ allocId: dc.allocId, job: 'c', reason: b.blocked(dc) }]);
  // Job a goes; while its task still runs (live) its port stays held.
  b.sync(instances(jobs[1], jobs[2]), new Set([da.allocId]));
  assert.ok(b.blocked(dc));
  assert.equal(released, 0);
  // Its task is gone: released, and c gets the port in the same sync.
  b.sync(instances(jobs[1], jobs[2]), new Set());
  assert.equal(released, 1);
  assert.deepEqual(values(b, dc), { http: 20000 });
  assert.equal(b.blocked(dc), undefined);
  assert.deepEqual(b.blockedAll(), []);
});

test('port book: ports are kept in the store: a new book (agent restart) gives every allocation the same ports', async (t: TestContext) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-ports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const j = await job('web', '/jobs/web.hcl', '      port "http" {}\n      port "db" {\n        static = 5432\n      }', { count: 3 });
  const s1 = createStore({ dataDir: dir });
  await s1.load();
  const b1 = book(s1, { random: Math.random });
  b1.sync(instances(j), new Set());
  const before = instances(j).map((d) => values(b1, d));
  // Three instances, one static port: the first holds it, the others wait for it.
  assert.equal(before[0].db, 5432);
  assert.equal(before[1].db, undefined);
  assert.match(b1.blocked(instances(j)[1])!, /^static port 5432 \(port "db"\) is held by job "web" \(\/jobs\/web\.hcl:6, group g\[0\]\)$/);
  await s1.close();
  const s2 = createStore({ dataDir: dir });
  await s2.load();
  const b2 = book(s2, { random: () => 0.5 });
  b2.sync(instances(j), new Set());
  assert.deepEqual(instances(j).map((d) => values(b2, d)), before);
  // A restart of a task (forStart again) gets the same ports.
  assert.deepEqual(b2.forStart(instances(j)[0]), { ok: true, ports: s2.getPorts(instances(j)[0].allocId)!.ports });
  await s2.close();
});

test('port book: a static port held by a running job stays with it; the newcomer waits, naming the holder and its file:line, even if its file sorts first', async () => {
  const store = new MemStore();
  const b = book(store);
  const first = await job('first', '/jobs/z.hcl', '      port "http" {\n        static = 8080\n      }');
  const second = await job('second', '/jobs/a.hcl', '      port "web" {\n        static = 8080\n      }');
  b.sync(instances(first), new Set());
  // Now both files are there; a.hcl sorts first in the desired set.
  b.sync(instances(second, first), new Set([instances(first)[0].allocId]));
  assert.deepEqual(values(b, instances(first)[0]), { http: 8080 });
  assert.equal(b.blocked(instances(second)[0]), 'static port 8080 (port "web") is held by job "first" (/jobs/z.hcl:5, group g[0])');
  assert.deepEqual(store.events.map((e) => e.message), ['second/g[0]: static port 8080 (port "web") is held by job "first" (/jobs/z.hcl:5, group g[0])']);
  // Two newcomers at once: the first in the set's order (file path) wins.
  const fresh = new MemStore();
  const b2 = book(fresh);
  b2.sync(instances(second, first), new Set());
  assert.deepEqual(values(b2, instances(second)[0]), { web: 8080 });
  assert.match(b2.blocked(instances(first)[0])!, /held by job "second" \(\/jobs\/a\.hcl:5/);
});

test('port book: a static port bound on the node blocks unless its own task holds it; ignore_collision is never checked', async () => {
  const j = await job('web', '/jobs/web.hcl', '      port "http" {\n        static = 8080\n      }');
  const [d] = instances(j);
  const outsider = probe(new Map([[8080, { pid: 4242, command: 'nginx' }]]));
  const b = book(new MemStore(), { probe: outsider });
  b.sync([d], new Set());
  assert.equal(b.blocked(d), 'static port 8080 (port "http") is in use on this node by pid 4242 (nginx), which is not a tend task');
  const unseen = book(new MemStore(), { probe: probe(new Map([[8080, undefined]])) });
  unseen.sync([d], new Set());
  assert.equal(unseen.blocked(d), 'static port 8080 (port "http") is in use on this node by a process tend cannot see (tcp 0.0.0.0:8080)');
  const other = book(new MemStore(), { probe: probe(new Map([[8080, { pid: 7, command: 'python3', allocId: 'x', job: 'api', task: 'api/g[0]/t' }]])) });
  other.sync([d], new Set());
  assert.equal(other.blocked(d), 'static port 8080 (port "http") is in use on this node by task api/g[0]/t of job "api" (pid 7, python3), which no allocation of this agent holds it for');
  // The allocation's own task (a store lost while it ran): the port is its own.
  const own = book(new MemStore(), { probe: probe(new Map([[8080, { pid: 9, command: 'python3', allocId: d.allocId }]])) });
  own.sync([d], new Set());
  assert.deepEqual(values(own, d), { http: 8080 });
  const shared = await job('shared', '/jobs/s.hcl', '      port "http" {\n        static = 8080\n        ignore_collision = true\n      }');
  const [s] = instances(shared);
  const sb = book(new MemStore(), { probe: outsider });
  sb.sync([d, s], new Set());
  assert.deepEqual(values(sb, s), { http: 8080 });
  assert.equal(sb.portsOf(s.allocId)![0].shared, true);
  // Bound ports are read only when something is to be assigned.
  const quiet = probe();
  const qb = book(new MemStore(), { probe: quiet });
  qb.sync([d], new Set());
  qb.sync([d], new Set());
  assert.equal(quiet.reads, 1);
});

test('port book: an edit keeps the dynamic port of a label that stays; an edit that cannot get its ports keeps the old ones', async () => {
  const store = new MemStore();
  const b = book(store, { random: () => 0.25 });
  const v1 = await job('web', '/jobs/web.hcl', '      port "http" {}');
  const [d1] = instances(v1);
  b.sync([d1], new Set());
  const http = values(b, d1).http;
  const v2 = await job('web', '/jobs/web.hcl', '      port "http" {}\n      port "metrics" {}');
  const [d2] = instances(v2);
  b.sync([d2], new Set([d2.allocId]));
  assert.equal(values(b, d2).http, http);
  assert.ok(values(b, d2).metrics);
  // Another job holds 9090; an edit of web asking for it cannot get it: web keeps what it has.
  const holder = await job('holder', '/jobs/holder.hcl', '      port "p" {\n        static = 9090\n      }');
  b.sync([d2, ...instances(holder)], new Set());
  const v3 = await job('web', '/jobs/web.hcl', '      port "http" {\n        static = 9090\n      }');
  const [d3] = instances(v3);
  b.sync([d3, ...instances(holder)], new Set([d3.allocId]));
  assert.match(b.blocked(d3)!, /^static port 9090 \(port "http"\) is held by job "holder"/);
  assert.deepEqual(values(b, d3), { http, metrics: values(b, d2).metrics });
  assert.equal(b.forStart(d3).ok, false);
  // The holder goes: the edit gets its ports.
  b.sync([d3], new Set([d3.allocId]));
  assert.deepEqual(values(b, d3), { http: 9090 });
  // The network block removed: the ports go once no task of the allocation runs.
  const v4 = await loadText('/jobs/web.hcl', 'job "web" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/sleep"\n      }\n    }\n  }\n}\n');
  const [d4] = instances(v4.jobs[0]);
  b.sync([d4], new Set([d4.allocId]));
  assert.deepEqual(values(b, d4), { http: 9090 });
  b.sync([d4], new Set());
  assert.equal(b.portsOf(d4.allocId), undefined);
  assert.deepEqual(b.forStart(d4), { ok: true, ports: [] });
});

test('port book: host_network gives its address and reserved ports; an unknown one blocks with the names defined', async () => {
  const b = book(new MemStore(), { config: config({ lan: true, minDynamic: 9005, maxDynamic: 9010 }) });
  const j = await job('web', '/jobs/web.hcl', '      port "http" {\n        host_network = "lan"\n      }\n      port "db" {\n        to = -1\n      }');
  const [d] = instances(j);
  b.sync([d], new Set());
  const ports = b.portsOf(d.allocId)!;
  assert.deepEqual(ports.map((p) => [p.label, p.value, p.hostIp, p.to]), [['db', 9005, '192.0.2.10', 9005], ['http', 9010, '10.1.2.3', 0]]);
  const bad = await job('bad', '/jobs/bad.hcl', '      port "http" {\n        host_network = "wan"\n      }');
  b.sync([d, ...instances(bad)], new Set());
  assert.equal(b.blocked(instances(bad)[0]), 'port "http" asks for host_network "wan", which the agent config does not define (client { host_network "wan" { … } }); defined: "default", "lan"');
  const unresolved = book(new MemStore(), { config: { ...config(), unresolved: new Map([['wan', 'no address of this node matches it (cidr "203.0.113.0/24")']]) } });
  unresolved.sync(instances(bad), new Set());
  assert.equal(unresolved.blocked(instances(bad)[0]), 'port "http" asks for host_network "wan": no address of this node matches it (cidr "203.0.113.0/24")');
  // resolvePort: a label gives the host address and port (its `to` with address_mode "alloc"); a number is on the node's address.
  assert.deepEqual(resolvePort(ports, 'http', { nodeAddress: '192.0.2.10' }), { address: '10.1.2.3', port: 9010, label: 'http' });
  assert.deepEqual(resolvePort(ports, 'db', { nodeAddress: '192.0.2.10', addressMode: 'alloc' }), { address: '192.0.2.10', port: 9005, label: 'db' });
  assert.deepEqual(resolvePort(ports, '8500', { nodeAddress: '192.0.2.10' }), { address: '192.0.2.10', port: 8500 });
  assert.equal(resolvePort(ports, 'nope', { nodeAddress: '192.0.2.10' }), undefined);
});

test('port book: release frees an allocation no longer desired (not one still desired); adopt takes back the ports a running task has', async () => {
  const store = new MemStore();
  let released = 0;
  const b = book(store, { onRelease: () => released++ });
  const a = await job('a', '/jobs/a.hcl', '      port "http" {}');
  const c = await job('c', '/jobs/c.hcl', '      port "http" {}');
  const [da] = instances(a);
  const [dc] = instances(c);
  b.sync([da, dc], new Set());
  b.release(da.allocId);
  assert.ok(b.portsOf(da.allocId), 'still desired: kept');
  b.sync([dc], new Set([da.allocId]));
  b.release(da.allocId);
  assert.equal(b.portsOf(da.allocId), undefined);
  assert.equal(released, 1);
  // Store lost: the book gave c a new port, then recovery finds c's task running with its old one (which a got meanwhile).
  const lost = new MemStore();
  const b2 = book(lost, { random: () => 0 });
  b2.sync([da, dc], new Set());
  assert.deepEqual([values(b2, da), values(b2, dc)], [{ http: 20000 }, { http: 20001 }]);
  const running = [{ label: 'http', value: 20000, to: 0, hostIp: '192.0.2.10', hostNetwork: 'default' }];
  b2.adopt({ allocId: dc.allocId, job: 'c', group: 'g', index: 0, file: '/jobs/c.hcl' }, store.getPorts(dc.allocId)!.spec, running);
  assert.deepEqual(values(b2, dc), { http: 20000 });
  assert.equal(b2.portsOf(da.allocId), undefined, 'a gives its port back');
  b2.sync([da, dc], new Set([dc.allocId]));
  assert.deepEqual(values(b2, da), { http: 20001 });
  assert.deepEqual(values(b2, dc), { http: 20000 });
});

test('port book: a node address that changed (agent restarted) keeps the port values and gives the new address', async () => {
  const store = new MemStore();
  const j = await job('web', '/jobs/web.hcl', '      port "http" {}');
  const [d] = instances(j);
  book(store).sync([d], new Set());
  const before = store.getPorts(d.allocId)!.ports[0];
  assert.equal(before.hostIp, '192.0.2.10');
  const moved = config();
  (moved.networks as Map<string, { name: string; address: string; reserved: [number, number][] }>).set('default', { name: 'default', address: '192.0.2.99', reserved: [] });
  book(store, { config: moved, random: () => 0.9 }).sync([d], new Set([d.allocId]));
  assert.deepEqual(store.getPorts(d.allocId)!.ports[0], { ...before, hostIp: '192.0.2.99' });
});

test('port book: an edit keeps a static port its allocation holds even when tend cannot see who binds it (its own task)', async () => {
  const store = new MemStore();
  const bound = new Map<number, ListenerOwner | undefined>();
  const b = book(store, { probe: probe(bound) });
  const [d1] = instances(await job('web', '/jobs/web.hcl', '      port "http" {\n        static = 8080\n      }'));
  b.sync([d1], new Set());
  bound.set(8080, undefined); // its task listens; /proc does not say whose the socket is
  const [d2] = instances(await job('web', '/jobs/web.hcl', '      port "http" {\n        static = 8080\n      }\n      port "admin" {}'));
  b.sync([d2], new Set([d2.allocId]));
  assert.equal(b.blocked(d2), undefined);
  assert.deepEqual(values(b, d2), { admin: 20000, http: 8080 });
});
