/**
 * The ports contract: what an allocation (a group instance) asks for, what it is given, and how
 * the agent's port book (`book.ts`) keeps it.
 *
 * Host mode only (tend's one network mode): tasks share the node's network, a port is a host
 * port. Ports are allocated per allocation, when the desired set changes (in the set's order:
 * the first file by path first), and kept in the state store, so an allocation keeps its ports
 * across task restarts, in-place updates, edits that keep a port's label and agent restarts; they
 * are released when the allocation is gone (no longer desired and none of its tasks runs).
 *
 *  - dynamic ports come from `client { min_dynamic_port, max_dynamic_port }` (Nomad's names and
 *    defaults, 20000–32000), never one reserved, held by another allocation or in use on the node;
 *  - a static port must not be reserved (`client { reserved { reserved_ports } }` or its
 *    host_network's), held by another allocation (the holder keeps it: the newcomer waits and
 *    says which job holds it, with its file and line) or in use by a process that is not one of
 *    the allocation's own tasks (it waits and says which process);
 *  - an allocation that cannot get every port gets none: its tasks stay pending with the reason
 *    (a running allocation whose edit cannot get its ports keeps running its last version).
 *
 * What a task sees (`env.ts`, Nomad's client/taskenv): NOMAD_PORT_<label> (`to` when set, else
 * the host port), NOMAD_HOST_PORT_<label>, NOMAD_IP_<label>, NOMAD_ADDR_<label>,
 * NOMAD_ALLOC_PORT_<label>, NOMAD_HOST_IP_<label>, NOMAD_HOST_ADDR_<label>; for legacy task-level
 * ports, Nomad's per-task names. Services resolve their `port` with `resolvePort`.
 */

/** A port an allocation asks for: the jobspec's port, and who declared it. */
export interface PortRequest {
  label: string;
  static?: number;
  /** As written (-1: the host port); absent when unset. */
  to?: number;
  hostNetwork: string;
  ignoreCollision?: boolean;
  /** The task whose `resources { network }` declared it (legacy); absent for the group's network. */
  task?: string;
}

/** One port of an allocation, as its tasks get it. */
export interface AllocatedPort {
  label: string;
  /** The host port. */
  value: number;
  /** Nomad's mapped port: `to` (the host port when `to = -1`), 0 when unset. NOMAD_PORT_<label> is it when set. */
  to: number;
  /** The address of the port's host network (NOMAD_IP_<label>). */
  hostIp: string;
  hostNetwork: string;
  /** Asked for as `static`. */
  static?: boolean;
  /** Declared by this task's `resources { network }` (legacy); absent for the group's network. */
  task?: string;
  /** `ignore_collision`: a static port others may share; it holds nothing. */
  shared?: boolean;
}

/** What the store keeps per allocation that has ports (written by the port book only). */
export interface PortAssignment {
  allocId: string;
  job: string;
  group: string;
  index: number;
  /** The job file and the line of the port block that asked first, named in conflicts. */
  file: string;
  line: number;
  /** Hash of the requests the ports were given for (labels, statics, `to`, networks; not the dynamic values). */
  spec: string;
  ports: AllocatedPort[];
  /** ISO time of the assignment. */
  at: string;
}

/** A network ports can be on: "default" (the node's address) or a `client { host_network "name" }`. */
export interface HostNetwork {
  name: string;
  /** The address tasks get as NOMAD_IP_<label>. */
  address: string;
  /** Ports never given out on it (its `reserved_ports`, inclusive ranges). */
  reserved: [number, number][];
}

/** The agent's port settings, resolved (addresses found) at start. */
export interface PortConfig {
  minDynamic: number;
  maxDynamic: number;
  /** `client { reserved { reserved_ports } }`: never given out, static or dynamic (inclusive ranges). */
  reserved: [number, number][];
  /** By name; always has "default". */
  networks: ReadonlyMap<string, HostNetwork>;
  /** Host networks of the agent config that no address of the node matches, and why. */
  unresolved?: ReadonlyMap<string, string>;
}

/** A socket bound on the node (TCP listening, UDP bound), from /proc/net. */
export interface Listener {
  proto: 'tcp' | 'udp';
  port: number;
  address: string;
  inode: number;
}

/** Who holds a socket, as far as /proc tells (a task of some tend agent: its identity). */
export interface ListenerOwner {
  pid: number;
  command: string;
  /** NOMAD_ALLOC_ID / NOMAD_JOB_ID / TEND_TASK_ID of a tend task. */
  allocId?: string;
  job?: string;
  task?: string;
}

/** What is bound on the node now. */
export interface PortProbe {
  /** Bound sockets by port, read now. */
  inUse(): ReadonlyMap<number, readonly Listener[]>;
  /** The processes holding these socket inodes (those this agent can see). */
  owners(inodes: readonly number[]): ReadonlyMap<number, ListenerOwner>;
}

/** The ports an allocation holds now, or why it has none. */
export type PortsForStart = { ok: true; ports: AllocatedPort[] } | { ok: false; reason: string };

/** An address and port a service or check reaches, resolved from an allocation's ports. */
export interface ResolvedPort {
  address: string;
  port: number;
  /** The port label, when `port` named one. */
  label?: string;
}

/** `host:port`, with brackets around an IPv6 address (Go's net.JoinHostPort). */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A service's or check's `port` against an allocation's ports, as Nomad resolves it in host
 * mode: a label gives its host address and host port (`address_mode` "auto" or "host"), or its
 * mapped port `to` with "alloc" / "driver"; a number is that port on `nodeAddress` (the default
 * host network's address). Undefined when the label names no port of the allocation.
 */
export function resolvePort(ports: readonly AllocatedPort[], port: string | number, opts: { nodeAddress: string; addressMode?: 'auto' | 'host' | 'alloc' | 'driver' }): ResolvedPort | undefined {
  const n = typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : undefined;
  if (n !== undefined) return { address: opts.nodeAddress, port: n };
  const p = ports.find((x) => x.label === port);
  if (!p) return undefined;
  const mapped = opts.addressMode === 'alloc' || opts.addressMode === 'driver';
  return { address: p.hostIp, port: mapped && p.to > 0 ? p.to : p.value, label: p.label };
}

/** Whether `port` is in one of the inclusive ranges. */
export function inRanges(port: number, ranges: readonly [number, number][]): boolean {
  return ranges.some(([lo, hi]) => port >= lo && port <= hi);
}
