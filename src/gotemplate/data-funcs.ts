/**
 * Functions that read the outside world through the RenderContext: env,
 * file, the Nomad variable store, the service catalog, the clock, plugins,
 * executeTemplate; and the names one node cannot serve (Consul, Vault),
 * refused at parse time with the reason.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { RenderContext } from './gotemplate.js';
import type { TemplateFunc } from './exec.js';
import { str } from './helpers.js';
import { NomadService, NomadServicesSnippet, NomadVarItems, NomadVarMeta, NomadVariable } from './nomad-types.js';
import { RFC3339, formatGoTime } from './timefmt.js';
import { errnoCode } from '../errors.js';

/** Per-render state that functions read and record into. */
export interface RenderState {
  ctx: RenderContext;
  env: Set<string>;
  files: Set<string>;
  vars: Set<string>;
  varLists: Set<string>;
  services: Set<string>;
  missing: Set<string>;
}

export interface StateRuntime {
  state: RenderState;
  executeTemplate(name: string, dot: unknown): string;
}

type Call = (args: unknown[], rt: StateRuntime) => unknown;
const fn = (arity: number, call: Call, variadic = false): TemplateFunc => ({ arity, variadic, call: call as TemplateFunc['call'] });

const CONSUL = "it reads Consul, and tend runs without Consul; use nomadVar and tend's variable store instead";
const VAULT = "it reads Vault, and tend runs without Vault; keep secrets in tend's variable store and read them with nomadVar";

/** Functions consul-template has that tend refuses, with the reason. */
const UNSUPPORTED: Record<string, string> = {
  key: CONSUL,
  keyExists: CONSUL,
  keyOrDefault: CONSUL,
  ls: CONSUL,
  safeLs: CONSUL,
  tree: CONSUL,
  safeTree: CONSUL,
  service: CONSUL,
  services: CONSUL,
  connect: CONSUL,
  caLeaf: CONSUL,
  caRoots: CONSUL,
  datacenters: CONSUL,
  node: CONSUL,
  nodes: CONSUL,
  partitions: CONSUL,
  peerings: CONSUL,
  exportedServices: CONSUL,
  byKey: CONSUL,
  byTag: CONSUL,
  byMeta: CONSUL,
  explode: CONSUL,
  secret: VAULT,
  secrets: VAULT,
  pkiCert: VAULT,
  pkiSign: VAULT,
  writeToFile: 'it writes host files outside the template destination',
  scratch: 'tend does not implement the scratchpad',
  explodeMap: 'tend does not implement it',
  mergeMap: 'tend does not implement it',
  mergeMapWithOverride: 'tend does not implement it',
  spew_dump: 'tend does not implement the debugging functions',
  spew_sdump: 'tend does not implement the debugging functions',
  spew_printf: 'tend does not implement the debugging functions',
};

/** Why a consul-template function is refused, or undefined when tend serves it (or it does not exist). */
export function unsupportedReason(name: string): string | undefined {
  if (Object.hasOwn(UNSUPPORTED, name)) return `function "${name}" is not supported: ${UNSUPPORTED[name]}`;
  if (name.startsWith('sprig_')) return `function "${name}" is not supported: tend does not implement the Sprig functions`;
  return undefined;
}

/** `path[@namespace[.region]]` as consul-template's Nomad functions accept it; tend has one namespace. */
function varPath(name: string, s: string): string {
  const t = s.trim().replace(/^\/+|\/+$/g, '');
  const at = t.indexOf('@');
  if (at < 0) return t;
  const ns = t.slice(at + 1).split('.')[0];
  if (ns !== 'default' && ns !== '') throw new Error(`${name}: namespace "${ns}" is not supported: tend has only the "default" namespace`);
  return t.slice(0, at);
}

function store(name: string, rt: StateRuntime) {
  const vars = rt.state.ctx.vars;
  if (!vars) throw new Error(`${name}: no Nomad variable store is available to this template`);
  return vars;
}

function listVars(name: string, args: unknown[], rt: StateRuntime, safe: boolean): NomadVarMeta[] {
  if (args.length > 1) throw new Error(`${name} takes either a single "prefix" parameter or none for all available variables; got: [${args.join(' ')}]`);
  const prefix = args.length ? varPath(name, str(args[0])) : '';
  rt.state.varLists.add(prefix);
  const metas = store(name, rt).list(prefix);
  if (safe && metas.length === 0) rt.state.missing.add(`nomadVarListSafe:${prefix}`);
  return metas.map((m) => new NomadVarMeta(m));
}

function catalog(name: string, rt: StateRuntime) {
  const services = rt.state.ctx.services;
  if (!services) throw new Error(`${name}: no service catalog is available on this node yet (tend has no local service registrations)`);
  return services;
}

/** nomadService's `count key name` form: a stable choice of `count` instances by key (rendezvous hashing). */
function choose<T extends { id: string }>(items: T[], count: number, key: string): T[] {
  const score = (id: string) => createHash('sha256').update(`${key}\0${id}`).digest('hex');
  return [...items].sort((a, b) => (score(a.id) < score(b.id) ? -1 : 1)).slice(0, count);
}

function serviceQuery(q: string): { name: string; tag?: string } {
  const base = q.split('@')[0];
  const dot = base.indexOf('.');
  return dot < 0 ? { name: base } : { tag: base.slice(0, dot), name: base.slice(dot + 1) };
}

export function dataFunctions(): Array<[string, TemplateFunc]> {
  const env = (rt: StateRuntime, k: string): string | undefined => {
    rt.state.env.add(k);
    return rt.state.ctx.env?.[k];
  };
  return [
    ['env', fn(1, ([k], rt) => env(rt, str(k)) ?? '')],
    [
      'mustEnv',
      fn(1, ([k], rt) => {
        const v = env(rt, str(k));
        if (!v) throw new Error(`required environment variable ${str(k)} is empty`);
        return v;
      }),
    ],
    ['envOrDefault', fn(2, ([k, d], rt) => env(rt, str(k)) ?? str(d))],
    [
      'file',
      fn(1, ([p], rt) => {
        const path = str(p);
        if (path === '') return '';
        const read = rt.state.ctx.fileReader;
        if (!read) throw new Error(`reading host files is not enabled for templates on this agent`);
        rt.state.files.add(path);
        try {
          return read(path);
        } catch (err) {
          // As in consul-template, a file that does not exist yet is waited for.
          if (errnoCode(err) === 'ENOENT') {
            rt.state.missing.add(`file:${path}`);
            return '';
          }
          throw err;
        }
      }),
    ],
    [
      'nomadVar',
      fn(1, ([p], rt) => {
        const path = varPath('nomadVar', str(p));
        if (path === '') return new NomadVarItems(undefined);
        rt.state.vars.add(path);
        const v = store('nomadVar', rt).get(path);
        if (!v) {
          rt.state.missing.add(`nomadVar:${path}`);
          return new NomadVarItems(undefined);
        }
        return new NomadVariable(v).items;
      }),
    ],
    [
      'nomadVarExists',
      fn(1, ([p], rt) => {
        const path = varPath('nomadVarExists', str(p));
        if (path === '') return false;
        rt.state.vars.add(path);
        return store('nomadVarExists', rt).get(path) !== undefined;
      }),
    ],
    ['nomadVarList', fn(0, (args, rt) => listVars('nomadVarList', args, rt, false), true)],
    ['nomadVarListSafe', fn(0, (args, rt) => listVars('nomadVarListSafe', args, rt, true), true)],
    [
      'nomadService',
      fn(
        1,
        (args, rt) => {
          if (args.length !== 1 && args.length !== 3) throw new Error('expected arguments <service> or <count> <key> <service>');
          const services = catalog('nomadService', rt);
          const q = serviceQuery(str(args[args.length - 1]));
          rt.state.services.add(q.name);
          let regs = services.service(q.name, q.tag);
          if (args.length === 3) {
            if (typeof args[0] !== 'number') throw new Error('expected integer for <count> argument');
            regs = choose(regs, args[0], str(args[1]));
          }
          return regs.map((r) => new NomadService(r));
        },
        true,
      ),
    ],
    [
      'nomadServices',
      fn(
        0,
        (_args, rt) => {
          rt.state.services.add('*');
          return catalog('nomadServices', rt)
            .services()
            .map((s) => new NomadServicesSnippet(s.name, s.tags));
        },
        true,
      ),
    ],
    [
      'timestamp',
      fn(
        0,
        (args, rt) => {
          if (args.length > 1) throw new Error(`timestamp: wrong number of arguments, expected 0 or 1, but got ${args.length}`);
          const now = rt.state.ctx.now?.() ?? new Date();
          if (args.length === 0) return formatGoTime(now, RFC3339);
          if (str(args[0]) === 'unix') return String(Math.floor(now.getTime() / 1000));
          return formatGoTime(now, str(args[0]));
        },
        true,
      ),
    ],
    [
      'executeTemplate',
      fn(
        1,
        (args, rt) => {
          if (args.length > 2) throw new Error(`executeTemplate: wrong number of arguments, expected 1 or 2, but got ${args.length}`);
          return rt.executeTemplate(str(args[0]), args.length === 2 ? args[1] : undefined);
        },
        true,
      ),
    ],
    [
      'plugin',
      fn(
        0,
        (args, rt) => {
          if (!rt.state.ctx.allowPlugins) throw new Error('running plugins is not allowed on this agent');
          const name = args.length ? str(args[0]) : '';
          if (name === '') return '';
          const argv = args.slice(1).map((a) => str(a).trim()).filter((a) => a !== '');
          try {
            return execFileSync(name, argv, { timeout: 30_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
          } catch (err) {
            throw new Error(`exec ${JSON.stringify(name)}: ${(err as Error).message}`);
          }
        },
        true,
      ),
    ],
  ];
}
