/**
 * Checked bodies → the typed model, with Nomad's defaults and the checks
 * that span fields (driver, cpu vs cores, port labels, volume mounts, …).
 */
import { merged } from '../objects.js';
import { constants } from 'node:os';
import { suggest } from './expr/index.js';
import { checkArtifact } from './artifact-check.js';
import type { Body } from './check.js';
import { EXEC_DRIVERS } from './check.js';
import type { Reporter } from './diagnostics.js';
import type { PathStep, SourceLocator } from './locate.js';
import { envKeyProblem, execStringProblem, nameProblem, type NameKind } from './names.js';
import { checkLifecycle } from './lifecycle-check.js';
import { buildPorts, checkAllocPorts, checkPortRefs } from './network.js';
import { buildAllocServices } from './services.js';
import { cronProblem, timeZoneProblem } from './cron.js';
import { checkTemplateText } from './template-check.js';
import { payloadFileProblem } from './dispatch-payload.js';
import { buildUpdate } from './update.js';
import type {
  Artifact, Constraint, ConstraintOperator, DriverConfig, Group, GroupVolume, Job, JobType, LogsConfig, Parameterized, PayloadMode,
  Periodic, Resources, RestartPolicy, SourcePos, Task, Template, VolumeMount,
} from './model.js';

export const OPERATORS: ConstraintOperator[] = [
  '=', '==', 'is', '!=', 'not', '<', '<=', '>', '>=', 'regexp', 'version', 'semver', 'set_contains', 'set_contains_all',
  'set_contains_any', 'is_set', 'is_not_set', 'distinct_hosts', 'distinct_property',
];
const SHORTHANDS = ['version', 'semver', 'regexp', 'set_contains', 'set_contains_any', 'set_contains_all'] as const;

export const DEFAULT_RESTART: Record<JobType, RestartPolicy> = {
  service: { attempts: 2, intervalMs: 30 * 60_000, delayMs: 15_000, mode: 'fail' },
  batch: { attempts: 3, intervalMs: 24 * 3_600_000, delayMs: 15_000, mode: 'fail' },
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const strs = (v: unknown): string[] | undefined => (Array.isArray(v) ? (v as string[]) : undefined);
const stringMap = (b: Body | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(b?.attrs ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)]));
const first = (b: Body, type: string): Body | undefined => b.blocks[type]?.[0];
const all = (b: Body, type: string): Body[] => b.blocks[type] ?? [];

export class Builder {
  readonly #r: Reporter;
  readonly #file: string;
  readonly #loc: SourceLocator | undefined;
  readonly #updateProblems = new Set<string>();

  constructor(file: string, reporter: Reporter, locator?: SourceLocator) {
    this.#file = file;
    this.#r = reporter;
    this.#loc = locator;
  }

  #pos(steps: PathStep[], attr?: string): SourcePos {
    const p = this.#loc?.locate(steps, attr);
    return { file: this.#file, line: p?.line ?? 0, column: p?.column ?? 0 };
  }

  job(b: Body): Job {
    const label = b.labels[0];
    this.#checkLabel('job id', b);
    this.#checkNameAttr('job id', b, 'id');
    this.#checkNameAttr('job name', b, 'name');
    this.#checkNameAttr('namespace', b, 'namespace');
    this.#checkExecMap(first(b, 'meta'), 'meta');
    const id = str(b.attrs.id) ?? label;
    let type: JobType = 'service';
    const t = str(b.attrs.type);
    if (t === 'batch' || t === 'service') type = t;
    else if (t === 'system' || t === 'sysbatch') {
      type = t === 'system' ? 'service' : 'batch';
      this.#r.warn('unsupported', b.steps, 'type', `job type "${t}" runs on every node in Nomad; tend runs it here as a "${type}" job`);
    } else if (t !== undefined) {
      const near = suggest(t, ['service', 'batch', 'system', 'sysbatch']);
      this.#r.error('schema', b.steps, 'type', `expected "service" or "batch", got "${t}"`, near ? `did you mean "${near}"?` : undefined);
    }
    const groups: Group[] = [];
    const jobUpdate = first(b, 'update');
    for (const g of all(b, 'group')) groups.push(this.#withUpdate(this.group(g, type, g.labels[0], g), type, jobUpdate, first(g, 'update')));
    for (const tk of all(b, 'task')) groups.push(this.#withUpdate(this.group(tk, type, tk.labels[0], undefined, tk), type, jobUpdate, undefined)); // implicit group
    const seen = new Set<string>();
    for (const g of groups) {
      if (seen.has(g.name)) this.#r.error('schema', b.steps, undefined, `duplicate group "${g.name}"`);
      seen.add(g.name);
    }
    if (groups.length === 0) this.#r.warn('unsupported', b.steps, undefined, 'job has no tasks; nothing runs');
    const priority = num(b.attrs.priority) ?? 50;
    const pb = first(b, 'periodic');
    const periodic = pb ? this.periodic(pb, t ?? 'service') : undefined;
    const qb = first(b, 'parameterized');
    const parameterized = qb ? this.parameterized(qb, t ?? 'service') : undefined;
    return {
      id,
      name: str(b.attrs.name) ?? id,
      type,
      ...(str(b.attrs.namespace) !== undefined ? { namespace: str(b.attrs.namespace) } : {}),
      datacenters: strs(b.attrs.datacenters) ?? ['*'],
      priority,
      meta: stringMap(first(b, 'meta')),
      constraints: all(b, 'constraint').map((c) => this.constraint(c)),
      groups,
      ...(periodic ? { periodic } : {}),
      ...(parameterized ? { parameterized } : {}),
      file: this.#file,
      pos: this.#pos(b.steps),
    };
  }

  /** `periodic { cron | crons, prohibit_overlap, time_zone, enabled }`, as Nomad checks it. */
  periodic(b: Body, jobType: string): Periodic {
    const crons = [...(str(b.attrs.cron) !== undefined ? [str(b.attrs.cron)!] : []), ...(strs(b.attrs.crons) ?? [])];
    if (crons.length === 0) this.#r.error('schema', b.steps, undefined, 'expected cron or crons in periodic, got neither');
    for (const c of crons) {
      const why = cronProblem(c);
      if (why) this.#r.error('schema', b.steps, b.attrs.crons !== undefined && str(b.attrs.cron) !== c ? 'crons' : 'cron', why);
    }
    const timeZone = str(b.attrs.time_zone) ?? 'UTC';
    const tzWhy = timeZoneProblem(timeZone);
    if (tzWhy) this.#r.error('schema', b.steps, 'time_zone', tzWhy);
    if (jobType !== 'batch' && jobType !== 'sysbatch') {
      this.#r.error('schema', b.steps, undefined, `periodic: expected a batch job (Nomad runs periodic jobs as batch or sysbatch only), got type "${jobType}"`);
    }
    return { crons, prohibitOverlap: bool(b.attrs.prohibit_overlap) ?? false, timeZone, enabled: bool(b.attrs.enabled) ?? true, pos: this.#pos(b.steps) };
  }

  /**
   * `parameterized { payload, meta_required, meta_optional }`, as Nomad checks it: a known payload
   * mode (the schema), disjoint key lists, a batch job. With `periodic` too it is accepted, as Nomad
   * does: the job itself never launches, each dispatched child runs on the schedule.
   */
  parameterized(b: Body, jobType: string): Parameterized {
    const metaRequired = strs(b.attrs.meta_required) ?? [];
    const metaOptional = strs(b.attrs.meta_optional) ?? [];
    for (const [attr, keys] of [['meta_required', metaRequired], ['meta_optional', metaOptional]] as const) {
      for (const k of keys) {
        const problem = execStringProblem('a meta key', k);
        if (problem) this.#r.error('schema', b.steps, attr, problem);
      }
    }
    const both = [...new Set(metaRequired.filter((k) => metaOptional.includes(k)))];
    if (both.length) {
      this.#r.error('schema', b.steps, 'meta_optional', `expected meta_required and meta_optional to be disjoint, got ${both.map((k) => `"${k}"`).join(', ')} in both`);
    }
    if (jobType !== 'batch' && jobType !== 'sysbatch') {
      this.#r.error('schema', b.steps, undefined, `parameterized: expected a batch job (Nomad runs parameterized jobs as batch or sysbatch only), got type "${jobType}"`);
    }
    return { payload: (str(b.attrs.payload) as PayloadMode | undefined) ?? 'optional', metaRequired, metaOptional, pos: this.#pos(b.steps) };
  }

  /** A group, or the implicit group around a task written directly under the job. */
  group(b: Body, type: JobType, name: string, g: Body | undefined, lone?: Body): Group {
    if (g) {
      this.#checkLabel('group name', g);
      this.#checkExecMap(first(g, 'meta'), 'meta');
      for (const v of all(g, 'volume')) this.#checkLabel('volume name', v);
    }
    const restart = this.restart(g && first(g, 'restart'), DEFAULT_RESTART[type]);
    const count = g ? num(g.attrs.count) ?? 1 : 1;
    if (g && (!Number.isInteger(count) || count < 0)) this.#r.error('schema', g.steps, 'count', `expected a whole number >= 0, got ${count}`);
    const volumes: GroupVolume[] = [];
    for (const v of g ? all(g, 'volume') : []) {
      const vt = str(v.attrs.type) ?? 'host';
      if (vt !== 'host') {
        this.#r.warn('unsupported', v.steps, 'type', `volume type "${vt}" is not supported (only "host"); ignored`);
        continue;
      }
      volumes.push({ name: v.labels[0], type: 'host', source: str(v.attrs.source) ?? v.labels[0], readOnly: bool(v.attrs.read_only) ?? false });
    }
    const ports = buildPorts(this.#r, g, (steps, attr) => this.#pos(steps, attr));
    const taskBodies = lone ? [lone] : all(b, 'task');
    const tasks = taskBodies.map((t) => this.task(t, restart, volumes, g ? all(g, 'volume').map((v) => v.labels[0]) : []));
    checkLifecycle(this.#r, b, taskBodies, tasks);
    checkAllocPorts(this.#r, g, ports, tasks.map((t, i) => ({ name: t.name, body: taskBodies[i], ports: t.ports })), count);
    checkPortRefs(this.#r, ports, tasks.map((task, i) => ({ task, body: taskBodies[i] })));
    const services = buildAllocServices(this.#r, { body: g, ports }, tasks.map((t, i) => ({ name: t.name, body: taskBodies[i], ports: t.ports })), (steps, attr) => this.#pos(steps, attr));
    tasks.forEach((t, i) => {
      const own = services.tasks[i];
      if (own) t.services = own;
    });
    const seen = new Set<string>();
    for (const t of tasks) {
      if (seen.has(t.name)) this.#r.error('schema', b.steps, undefined, `duplicate task "${t.name}"`);
      seen.add(t.name);
    }
    return {
      name,
      count,
      restart,
      meta: stringMap(g && first(g, 'meta')),
      constraints: g ? all(g, 'constraint').map((c) => this.constraint(c)) : [],
      volumes,
      ...(ports ? { ports } : {}),
      ...(services.group ? { services: services.group } : {}),
      tasks,
      pos: this.#pos(b.steps),
    };
  }

  task(b: Body, groupRestart: RestartPolicy, volumes: GroupVolume[], volumeNames: string[]): Task {
    this.#checkLabel('task name', b);
    this.#checkExecMap(first(b, 'env'), 'env');
    this.#checkExecMap(first(b, 'meta'), 'meta');
    const driver = str(b.attrs.driver) ?? '';
    if (!driver) this.#r.error('unsupported', b.steps, undefined, 'task has no driver: expected "exec" or "raw_exec"');
    else if (!EXEC_DRIVERS.includes(driver)) {
      const near = suggest(driver, EXEC_DRIVERS);
      this.#r.error('unsupported', b.steps, 'driver', `driver "${driver}" is not supported by tend: expected "exec" or "raw_exec"`, near ? `did you mean "${near}"?` : undefined);
    }
    const cfg = first(b, 'config');
    const config = this.config(cfg, EXEC_DRIVERS.includes(driver), b.steps);
    const ports = buildPorts(this.#r, first(b, 'resources'), (steps, attr) => this.#pos(steps, attr));
    const killSignal = str(b.attrs.kill_signal) || 'SIGINT';
    if (!(killSignal.toUpperCase() in constants.signals) && !(`SIG${killSignal.toUpperCase()}` in constants.signals)) {
      this.#r.error('schema', b.steps, 'kill_signal', `expected a signal name like "SIGTERM", got "${killSignal}"`);
    }
    const mounts: VolumeMount[] = all(b, 'volume_mount').map((m) => {
      const volume = str(m.attrs.volume) ?? '';
      if (!volumeNames.includes(volume)) {
        const near = suggest(volume, volumeNames);
        this.#r.error('schema', m.steps, 'volume', `volume_mount refers to volume "${volume}", which the group does not declare`, near ? `did you mean "${near}"?` : undefined);
      }
      return { volume, destination: str(m.attrs.destination) ?? '', readOnly: bool(m.attrs.read_only) ?? volumes.find((v) => v.name === volume)?.readOnly ?? false };
    });
    const lc = first(b, 'lifecycle');
    const dp = first(b, 'dispatch_payload');
    const payloadFile = dp ? str(dp.attrs.file) ?? '' : '';
    if (dp && payloadFile) {
      const problem = payloadFileProblem(payloadFile);
      if (problem) this.#r.error('schema', dp.steps, 'file', problem);
    }
    const user = str(b.attrs.user);
    if (user !== undefined) this.#checkExecString(b.steps, 'user', 'a user', user);
    if (cfg && EXEC_DRIVERS.includes(driver)) {
      this.#checkExecString(cfg.steps, 'command', 'a command', config.command);
      const bad = config.args.find((x) => x.includes('\0'));
      if (bad !== undefined) this.#checkExecString(cfg.steps, 'args', 'args', bad);
    }
    return {
      name: b.labels[0],
      driver,
      config,
      env: stringMap(first(b, 'env')),
      ...(user ? { user } : {}),
      meta: stringMap(first(b, 'meta')),
      resources: this.resources(first(b, 'resources')),
      restart: this.restart(first(b, 'restart'), groupRestart),
      killSignal,
      killTimeoutMs: num(b.attrs.kill_timeout) ?? 5000,
      logs: this.logs(first(b, 'logs')),
      artifacts: all(b, 'artifact').map((a) => this.artifact(a)),
      templates: all(b, 'template').map((t) => this.template(t)),
      constraints: all(b, 'constraint').map((c) => this.constraint(c)),
      volumeMounts: mounts,
      leader: bool(b.attrs.leader) ?? false,
      ...(ports ? { ports } : {}),
      ...(lc ? { lifecycle: { hook: (str(lc.attrs.hook) ?? 'prestart') as 'prestart' | 'poststart' | 'poststop', sidecar: bool(lc.attrs.sidecar) ?? false } } : {}),
      // `file = ""` (or none): Nomad writes nothing; neither does tend.
      ...(payloadFile ? { dispatchPayload: { file: payloadFile } } : {}),
      pos: this.#pos(b.steps),
    };
  }

  config(b: Body | undefined, checked: boolean, taskSteps: PathStep[]): DriverConfig {
    const a = b?.attrs ?? {};
    if (checked && !b?.written.has('command')) this.#r.error('schema', b ? b.steps : taskSteps, b ? 'command' : 'config', 'missing required field "command" in config');
    const pidMode = str(a.pid_mode) as DriverConfig['pidMode'];
    const ipcMode = str(a.ipc_mode) as DriverConfig['ipcMode'];
    const pidsLimit = num(a.pids_limit);
    return {
      command: str(a.command) ?? '',
      args: strs(a.args) ?? [],
      ...(pidMode ? { pidMode } : {}),
      ...(ipcMode ? { ipcMode } : {}),
      capAdd: strs(a.cap_add) ?? [],
      capDrop: strs(a.cap_drop) ?? [],
      ...(pidsLimit !== undefined ? { pidsLimit } : {}),
      raw: { ...a },
    };
  }

  restart(b: Body | undefined, base: RestartPolicy): RestartPolicy {
    if (!b) return { ...base };
    const out: RestartPolicy = {
      attempts: num(b.attrs.attempts) ?? base.attempts,
      intervalMs: num(b.attrs.interval) ?? base.intervalMs,
      delayMs: num(b.attrs.delay) ?? base.delayMs,
      mode: (str(b.attrs.mode) as RestartPolicy['mode']) ?? base.mode,
    };
    const rt = bool(b.attrs.render_templates) ?? base.renderTemplates;
    if (rt !== undefined) out.renderTemplates = rt;
    if (out.attempts < 0 || !Number.isInteger(out.attempts)) this.#r.error('schema', b.steps, 'attempts', `expected a whole number >= 0, got ${out.attempts}`);
    return out;
  }

  resources(b: Body | undefined): Resources {
    const a = b?.attrs ?? {};
    const cores = num(a.cores);
    const cpu = num(a.cpu);
    const memory = num(a.memory) ?? 300;
    const memoryMax = num(a.memory_max);
    if (b && cores !== undefined && cpu !== undefined) this.#r.error('schema', b.steps, 'cores', 'expected either "cpu" or "cores", got both');
    if (b && cores !== undefined && (!Number.isInteger(cores) || cores < 1)) this.#r.error('schema', b.steps, 'cores', `expected a whole number >= 1, got ${cores}`);
    if (b && (cpu ?? 1) < 1) this.#r.error('schema', b.steps, 'cpu', `expected a number >= 1, got ${cpu}`);
    if (b && memory < 1) this.#r.error('schema', b.steps, 'memory', `expected a number >= 1, got ${memory}`);
    if (b && memoryMax !== undefined && memoryMax !== -1 && memoryMax < memory) {
      this.#r.error('schema', b.steps, 'memory_max', `expected memory_max >= memory (${memory}) or -1, got ${memoryMax}`);
    }
    return {
      cpu: cores !== undefined ? 0 : cpu ?? 100,
      memoryMB: memory,
      ...(memoryMax !== undefined ? { memoryMaxMB: memoryMax } : {}),
      ...(cores !== undefined ? { cores } : {}),
    };
  }

  logs(b: Body | undefined): LogsConfig {
    const a = b?.attrs ?? {};
    const enabled = bool(a.enabled);
    return { maxFiles: num(a.max_files) ?? 10, maxFileSizeMB: num(a.max_file_size) ?? 10, disabled: bool(a.disabled) ?? (enabled === undefined ? false : !enabled) };
  }

  artifact(b: Body): Artifact {
    const source = str(b.attrs.source) ?? '';
    if (!source) this.#r.error('schema', b.steps, 'source', 'missing required field "source" in artifact');
    const out: Artifact = {
      source,
      destination: str(b.attrs.destination) || 'local/',
      mode: (str(b.attrs.mode) as Artifact['mode']) ?? 'any',
      options: stringMap(first(b, 'options')),
      headers: stringMap(first(b, 'headers')),
      ...(bool(b.attrs.chown) ? { chown: true } : {}),
    };
    checkArtifact(this.#r, b, out);
    return out;
  }

  template(b: Body): Template {
    const a = b.attrs;
    const wait = first(b, 'wait');
    const script = first(b, 'change_script');
    const data = str(a.data);
    const dataPos = data !== undefined ? this.#pos(b.steps, 'data') : undefined;
    const out: Template = {
      ...(data !== undefined ? { data } : {}),
      // A heredoc's text starts on the line after `data = <<EOH`.
      ...(dataPos ? { dataLine: dataPos.line + (data!.includes('\n') ? 1 : 0) } : {}),
      ...(str(a.source) !== undefined ? { source: str(a.source) } : {}),
      destination: str(a.destination) ?? '',
      changeMode: (str(a.change_mode) as Template['changeMode']) ?? 'restart',
      ...(str(a.change_signal) !== undefined ? { changeSignal: str(a.change_signal) } : {}),
      ...(script
        ? {
            changeScript: {
              command: str(script.attrs.command) ?? '',
              args: Array.isArray(script.attrs.args) ? (script.attrs.args as unknown[]).map(String) : [],
              timeoutMs: num(script.attrs.timeout) ?? 5000,
              failOnError: bool(script.attrs.fail_on_error) ?? false,
            },
          }
        : {}),
      splayMs: num(a.splay) ?? 5000,
      perms: str(a.perms) ?? '644',
      ...(num(a.uid) !== undefined ? { uid: num(a.uid) } : {}),
      ...(num(a.gid) !== undefined ? { gid: num(a.gid) } : {}),
      env: bool(a.env) ?? false,
      once: bool(a.once) ?? false,
      leftDelimiter: str(a.left_delimiter) ?? '{{',
      rightDelimiter: str(a.right_delimiter) ?? '}}',
      errorOnMissingKey: bool(a.error_on_missing_key) ?? false,
      pos: this.#pos(b.steps),
    };
    if (wait) out.wait = { ...(num(wait.attrs.min) !== undefined ? { minMs: num(wait.attrs.min) } : {}), ...(num(wait.attrs.max) !== undefined ? { maxMs: num(wait.attrs.max) } : {}) };
    if (out.changeMode === 'signal' && !out.changeSignal) this.#r.error('schema', b.steps, 'change_signal', 'expected change_signal with change_mode = "signal"');
    if (out.changeMode === 'script' && !out.changeScript?.command) this.#r.error('schema', b.steps, 'change_script', 'expected a change_script block with a command with change_mode = "script"');
    // Nomad's parser accepts these; its job validation (and tend's start) refuses them.
    if (!out.destination) this.#r.warn('schema', b.steps, 'destination', 'missing field "destination" in template: the task cannot start (Nomad refuses the job at submit)');
    if (!out.data && !out.source) this.#r.warn('schema', b.steps, 'data', 'expected "data" or "source" in template: the task cannot start (Nomad refuses the job at submit)');
    if (!/^0?[0-7]{3,4}$/.test(out.perms)) this.#r.error('schema', b.steps, 'perms', `expected an octal mode such as "644", got "${out.perms}"`);
    checkTemplateText(this.#r, b.steps, out);
    return out;
  }

  constraint(b: Body): Constraint {
    const a = b.attrs;
    let attribute = str(a.attribute) ?? '';
    let operator = str(a.operator) ?? '=';
    let value = str(a.value) ?? '';
    for (const s of SHORTHANDS) {
      if (str(a[s]) !== undefined) {
        operator = s;
        value = str(a[s])!;
      }
    }
    if (a.distinct_hosts !== undefined) {
      operator = 'distinct_hosts';
      value = String(a.distinct_hosts);
    }
    if (str(a.distinct_property) !== undefined) {
      operator = 'distinct_property';
      attribute = str(a.distinct_property)!;
    }
    if (!OPERATORS.includes(operator as ConstraintOperator)) {
      const near = suggest(operator, OPERATORS);
      this.#r.error('schema', b.steps, 'operator', `unknown constraint operator "${operator}"`, near ? `did you mean "${near}"?` : undefined);
    } else if (operator === 'distinct_hosts' || operator === 'distinct_property') {
      this.#r.warn('unsupported', b.steps, undefined, `constraint "${operator}" has no meaning on a single node; ignored`);
    } else if (!attribute && !b.written.has('attribute') && !b.written.has('distinct_property')) {
      this.#r.error('schema', b.steps, 'attribute', `missing required field "attribute" in constraint with operator "${operator}"`);
    }
    return { attribute, operator: operator as ConstraintOperator, value, pos: this.#pos(b.steps) };
  }

  /** The group with its rollout strategy (update.ts): the job's `update` block merged under the group's. */
  #withUpdate(g: Group, type: JobType, job: Body | undefined, group: Body | undefined): Group {
    // A problem of the job's block is found once per group: reported once.
    const problem = (b: Body, attr: string | undefined, message: string) => {
      const key = `${JSON.stringify(b.steps)}\0${attr}\0${message}`;
      if (this.#updateProblems.has(key)) return;
      this.#updateProblems.add(key);
      this.#r.error('schema', b.steps, attr, message);
    };
    const update = buildUpdate(problem, type, job, group);
    return update ? merged(g, { update }) : g;
  }

  /** The block's label as a name (names.ts), reported on the label itself. */
  #checkLabel(kind: NameKind, b: Body): void {
    const problem = nameProblem(kind, b.labels[0] ?? '');
    if (problem) this.#r.labelError(b.steps, problem);
  }

  #checkNameAttr(kind: NameKind, b: Body, attr: string): void {
    const v = str(b.attrs[attr]);
    const problem = v === undefined ? undefined : nameProblem(kind, v);
    if (problem) this.#r.error('schema', b.steps, attr, problem);
  }

  #checkExecString(steps: PathStep[], attr: string, what: string, value: string): void {
    const problem = execStringProblem(what, value);
    if (problem) this.#r.error('schema', steps, attr, problem);
  }

  /** `env` / `meta` keys and values become the task's environment (meta as NOMAD_META_<key>). */
  #checkExecMap(b: Body | undefined, what: 'env' | 'meta'): void {
    for (const [k, v] of Object.entries(b ? stringMap(b) : {})) {
      const problem = what === 'env' ? envKeyProblem(k) : execStringProblem('a meta key', k);
      if (problem) this.#r.error('schema', b!.steps, k, problem);
      else this.#checkExecString(b!.steps, k, `${what === 'env' ? 'an env' : 'a meta'} value`, v);
    }
  }
}
