/**
 * The `network` blocks of a group (and the legacy task-level `resources { network { … } }`) →
 * the ports an allocation asks for, with the checks Nomad's job validation makes
 * (nomad/structs: NetworkResource.Validate, TaskGroup.validateNetworks):
 *  - mode "host" only: "bridge", "none" and "cni/*" need a network namespace per allocation and
 *    CNI plugins, which one node does not set up by default (an `unsupported` error, as a driver
 *    tend does not run);
 *  - a label is ^[a-zA-Z0-9_-]+$ and unique in the allocation (group and tasks together);
 *  - `static` is a port number (0 asks for a dynamic one, as in Nomad), `to` one or -1;
 *  - a static port is asked for once per allocation; with `count` > 1 only one instance can hold
 *    it on one node (a warning: the others wait, where Nomad would place them on other nodes);
 *  - a port variable (`${NOMAD_PORT_htp}`) naming no port of the allocation stays as written, as
 *    in Nomad: a warning, with the likely name.
 */
import type { Body } from './check.js';
import type { Reporter } from './diagnostics.js';
import type { PortSpec, SourcePos, Task } from './model.js';
import type { PathStep } from './locate.js';
import { shown } from './diagnostics.js';
import { suggest } from './expr/index.js';
import { PORT_VARS, runtimeRefsIn } from './runtime-refs.js';
import { portEnv } from '../ports/env.js';

/** Nomad 1.x accepts hyphens in port labels (`port "dns-tcp"`, hashicorp/nomad#12347). */
const PORT_LABEL = /^[a-zA-Z0-9_-]+$/;
const MAX_PORT = 65535;

type PosOf = (steps: PathStep[], attr?: string) => SourcePos;

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** The ports of `owner`'s `network` block (a group, or a task's `resources`); undefined when it asks for none. */
export function buildPorts(r: Reporter, owner: Body | undefined, posOf: PosOf): PortSpec[] | undefined {
  const out: PortSpec[] = [];
  for (const net of owner?.blocks.network ?? []) {
    const mode = typeof net.attrs.mode === 'string' ? net.attrs.mode : 'host';
    if (mode !== 'host') {
      r.error(
        'unsupported',
        net.steps,
        'mode',
        `network mode ${shown(mode)} is not supported by tend: expected "host" (tasks share the node's network; bridge, none and CNI modes need a network namespace per allocation and CNI plugins)`,
      );
    }
    for (const cni of net.blocks.cni ?? []) {
      r.error('unsupported', cni.steps, undefined, 'cni is not supported by tend: tasks share the node\'s network (host mode); CNI needs a network namespace per allocation');
    }
    const seen = new Map<string, string>();
    for (const p of net.blocks.port ?? []) {
      const label = p.labels[0] ?? '';
      if (!PORT_LABEL.test(label)) r.error('schema', p.steps, undefined, `port label ${shown(label)} does not match ^[a-zA-Z0-9_-]+$`);
      const prev = seen.get(label.toLowerCase());
      if (prev !== undefined) r.error('schema', p.steps, undefined, `found a port label collision: "${label}" and "${prev}"`);
      seen.set(label.toLowerCase(), label);
      const stat = num(p.attrs.static);
      const to = num(p.attrs.to);
      if (stat !== undefined && (stat < 0 || stat > MAX_PORT)) r.error('schema', p.steps, 'static', `expected a port number from 1 to ${MAX_PORT} (or 0 for a dynamic port), got ${stat}`);
      if (to !== undefined && (to < -1 || to > MAX_PORT)) r.error('schema', p.steps, 'to', `expected a port number from 0 to ${MAX_PORT} or -1, got ${to}`);
      out.push({
        label,
        ...(stat ? { static: stat } : {}),
        ...(to !== undefined && to !== 0 ? { to } : {}),
        hostNetwork: typeof p.attrs.host_network === 'string' && p.attrs.host_network !== '' ? p.attrs.host_network : 'default',
        ...(p.attrs.ignore_collision === true ? { ignoreCollision: true } : {}),
        pos: posOf(p.steps),
      });
    }
  }
  return out.length ? out : undefined;
}

/**
 * Checks across the allocation: labels unique over the group's and the tasks' networks, each
 * static port asked for once, and static ports with `count` > 1.
 */
export function checkAllocPorts(r: Reporter, group: Body | undefined, groupPorts: PortSpec[] | undefined, tasks: { name: string; body: Body; ports?: PortSpec[] }[], count: number): void {
  const labels = new Map<string, string>();
  const statics = new Map<number, string>();
  const owners: { where: string; body: Body | undefined; ports: PortSpec[] }[] = [
    { where: 'the group network', body: group, ports: groupPorts ?? [] },
    ...tasks.map((t) => ({ where: `task ${shown(t.name)}`, body: t.body.blocks.resources?.[0], ports: t.ports ?? [] })),
  ];
  for (const o of owners) {
    const portBodies = o.body?.blocks.network?.[0]?.blocks.port ?? [];
    for (const p of o.ports) {
      const body = portBodies.find((b) => b.labels[0] === p.label);
      const steps = body?.steps ?? o.body?.steps ?? [];
      const other = labels.get(p.label);
      if (other !== undefined && other !== o.where) r.error('schema', steps, undefined, `port label ${shown(p.label)} is already used by ${other}: a label names one port of the allocation`);
      labels.set(p.label, o.where);
      if (p.static === undefined || p.ignoreCollision) continue;
      const holder = statics.get(p.static);
      if (holder !== undefined) r.error('schema', steps, 'static', `static port ${p.static} is already asked for by ${holder}`);
      else statics.set(p.static, `port ${shown(p.label)}${o.where === 'the group network' ? '' : ` of ${o.where}`}`);
      if (count > 1) {
        r.warn(
          'unsupported',
          steps,
          'static',
          `static port ${p.static} with count = ${count}: one node has one port ${p.static}, so only one instance holds it and the others wait for it (Nomad places them on other nodes)`,
        );
      }
    }
  }
}

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

/** Port variables in a task's fields that name no port of its allocation (they would stay as written). */
export function checkPortRefs(r: Reporter, groupPorts: PortSpec[] | undefined, tasks: { task: Task; body: Body }[]): void {
  const all: { p: PortSpec; task?: string }[] = [...(groupPorts ?? []).map((p) => ({ p })), ...tasks.flatMap(({ task }) => (task.ports ?? []).map((p) => ({ p, task: task.name })))];
  for (const { task, body } of tasks) {
    const fields: [string, unknown][] = [
      ['config', task.config.raw],
      ['env', task.env],
      ['meta', task.meta],
      ['user', task.user],
      ['artifact', task.artifacts.map((a) => [a.source, a.destination, a.options, a.headers])],
    ];
    let known: Set<string> | undefined;
    for (const [field, value] of fields) {
      for (const ref of strings(value).flatMap(runtimeRefsIn)) {
        if (!PORT_VARS.test(ref)) continue;
        known ??= new Set(Object.keys(portEnv(all.map(({ p, task: owner }) => ({ label: p.label, value: 1, to: 0, hostIp: '', hostNetwork: '', ...(owner !== undefined ? { task: owner } : {}) })), task.name)));
        if (known.has(ref)) continue;
        const near = suggest(ref, known);
        r.warn('schema', body.steps, body.blocks[field]?.length || body.attrs[field] !== undefined ? field : undefined, `\${${ref}} names no port of this allocation; it stays as written`, near ? `did you mean "\${${near}}"?` : undefined);
      }
    }
  }
}
