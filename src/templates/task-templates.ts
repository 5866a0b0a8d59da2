/**
 * The templates of one running task (Nomad's template hook, consul-template's runner, on one
 * node): each `template` block is parsed once, rendered with the task's environment, Nomad
 * variables (through the task's ACL'd view), allowed files and the clock, and written into the
 * task's dirs (write.ts: link-safe, atomic, only when the text changed).
 *
 *  - First render (`renderAll`, from the prestart hook): every template must render with all of
 *    its inputs present; a missing variable throws `TemplateNotReady` (the task waits, not
 *    fails, and is woken when the input appears); an error throws a TendError (the restart
 *    policy decides). `env = true` templates give the task environment variables.
 *  - Then every input a render read is watched (variable paths and prefixes, files, the service
 *    names `nomadService` asked for, every name for `nomadServices`). A change
 *    marks the templates that read it; each re-renders after its `wait` (quiescence `min`,
 *    at most `max` after the first change), and a template whose output changed is rewritten and
 *    its `change_mode` applied after a random `splay`: one restart for all templates that ask for
 *    it, else each distinct signal once, and the scripts. `once` templates are never re-rendered.
 *  - `update(templates)` (an edit of the job file that changed only templates) re-renders at once.
 *
 * Every render and every action is a task event. Variable values are never logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type pino from 'pino';
import { parseTemplate, render, type CompiledTemplate } from '../gotemplate/template.js';
import { TemplateError, type RenderDeps, type RenderResult, type ServiceCatalog as TemplateServices, type VariableStore as TemplateVars } from '../gotemplate/gotemplate.js';
import type { Template } from '../jobspec/model.js';
import type { ArtifactDirs } from '../artifacts/artifacts.js';
import type { VariableReader } from '../vars/index.js';
import { TendError, describeError } from '../errors.js';
import type { Owner } from '../safe-fs.js';
import { TASK_EVENT, type TaskEventType } from '../store/store.js';
import { parsePerms, writeRendered } from './write.js';
import { locateFile, readLocated, type FileRoot } from './read.js';

/** dotenv, required by the first `env = true` template (~1 MiB of the agent's RSS otherwise held by every agent). */
let dotenvLib: typeof import('dotenv') | undefined;
const parseEnvFile = (text: string) => (dotenvLib ??= createRequire(import.meta.url)('dotenv') as typeof import('dotenv')).parse(text);

/** Nomad's client default `template { wait { min = "5s", max = "4m" } }`. */
export const DEFAULT_WAIT = { minMs: 5000, maxMs: 240_000 };

/** A template's inputs are not all there yet (a variable that does not exist): the task waits. */
export class TemplateNotReady extends TendError {
  constructor(readonly missing: string[]) {
    super('E_NOT_READY', `Missing: ${missing.join(', ')}`, { details: { event: TASK_EVENT.Template, missing } });
  }
}

/** What the templates may do to their task once it runs. */
export interface TemplateControl {
  restart(reason: string): void;
  signal(signal: string): Promise<void>;
  /** Run a command inside the task (change_script). */
  exec(command: string[], timeoutMs: number): Promise<{ code: number; output: string }>;
  /** Stop the task for good (change_script with fail_on_error). */
  kill(reason: string): void;
  /** Look at the task again (a waiting template's input appeared). */
  wake(): void;
}

export interface TaskTemplatesOptions {
  /** Where the templates come from, for messages: the job file. */
  file: string;
  /** The task's templates, interpolated (destinations, sources). */
  templates: Template[];
  dirs: ArtifactDirs;
  /** How the task sees its dirs (exec: inside its root), for absolute destinations. */
  view?: ArtifactDirs;
  /** The task's user: owner of the rendered files unless a template sets uid/gid. */
  owner?: Owner;
  /** The task's environment, for `env`. */
  env: Record<string, string>;
  /** The task's view of the variables (undefined: nomadVar* are errors). */
  vars?: VariableReader;
  /** The local service catalog as the task's namespace sees it (undefined: nomadService* are errors), and its change feed. */
  services?: ServiceSource;
  /** Host dirs `file` may read besides the task's dirs. */
  fileDirs: string[];
  /** `file` reads host paths anywhere (Nomad's disable_file_sandbox). */
  noFileSandbox?: boolean;
  /** Functions the agent config denies (Nomad's function_denylist). */
  denied?: ReadonlySet<string>;
  emit(type: TaskEventType, message: string, details?: Record<string, unknown>): void;
  control: TemplateControl;
  logger: pino.Logger;
  random(): number;
  defaultWait?: { minMs: number; maxMs: number };
}

/** What templates read of the service catalog: its answers, and a call when one may have changed ("*": any name). */
export interface ServiceSource {
  catalog: TemplateServices;
  watch(name: string, cb: () => void): () => void;
}

interface Entry {
  t: Template;
  index: number;
  compiled?: CompiledTemplate;
  mode: number;
  owner?: Owner;
  deps?: RenderDeps;
  last?: string;
}

const label = (e: Entry) => `template[${e.index}] ${e.t.destination}`;

export class TaskTemplates {
  readonly #o: TaskTemplatesOptions;
  #entries: Entry[] = [];
  #unwatch: (() => void)[] = [];
  #ready = false;
  #closed = false;
  #pending: { restart: boolean; signals: Set<string>; scripts: Entry[]; splay: number } | undefined;
  #batch: { first: number; dirty: Set<Entry>; minMs: number; maxMs: number; timer?: NodeJS.Timeout } | undefined;

  constructor(o: TaskTemplatesOptions) {
    this.#o = o;
    this.#entries = this.#build(o.templates);
  }

  /** The task's dirs (host paths). */
  get dirs(): ArtifactDirs {
    return this.#o.dirs;
  }

  #build(templates: Template[]): Entry[] {
    return templates.map((t, index) => ({
      t,
      index,
      mode: parsePerms(t.perms),
      owner: t.uid !== undefined || t.gid !== undefined ? { uid: t.uid ?? this.#o.owner?.uid ?? 0, gid: t.gid ?? this.#o.owner?.gid ?? 0 } : this.#o.owner,
    }));
  }

  /**
   * Render and write every template; returns the environment of `env = true` templates. Throws
   * TemplateNotReady while an input is missing (its inputs are then watched: `control.wake()`
   * when one changes), or a TendError (E_SPEC_INVALID for a template that can never render).
   */
  async renderAll(): Promise<Record<string, string>> {
    this.#ready = false;
    this.#stopWatching();
    const results: { e: Entry; r: RenderResult }[] = [];
    const missing: string[] = [];
    for (const e of this.#entries) {
      const r = this.#render(e);
      e.deps = r.deps;
      if (r.missing.length) missing.push(...r.missing.map((m) => `${describeMissing(m)} (${label(e)})`));
      results.push({ e, r });
    }
    this.#watchInputs();
    if (missing.length) throw new TemplateNotReady(missing);
    const env: Record<string, string> = {};
    for (const { e, r } of results) {
      await this.#write(e, r.text);
      if (e.t.env) Object.assign(env, parseEnvFile(r.text));
    }
    this.#ready = true;
    this.#o.emit(TASK_EVENT.Template, `Rendered ${results.length} ${results.length === 1 ? 'template' : 'templates'}`);
    return env;
  }

  /** The job file changed only its templates: swap them and re-render now (change_mode applies). */
  async update(templates: Template[]): Promise<void> {
    const old = new Map(this.#entries.map((e) => [e.t.destination, e.last]));
    this.#clearTimers();
    this.#entries = this.#build(templates);
    for (const e of this.#entries) e.last = old.get(e.t.destination);
    if (!this.#ready) return this.#o.control.wake();
    this.#stopWatching();
    const changed: Entry[] = [];
    for (const e of this.#entries) {
      try {
        const r = this.#render(e);
        e.deps = r.deps;
        if (r.missing.length) continue;
        if (await this.#write(e, r.text)) changed.push(e);
      } catch (err) {
        this.#o.emit(TASK_EVENT.Template, `${label(e)}: ${describeError(err)}`);
      }
    }
    this.#watchInputs();
    this.#changed(changed);
  }

  close(): void {
    this.#closed = true;
    this.#clearTimers();
    this.#stopWatching();
  }

  // ---- rendering ----

  #render(e: Entry): RenderResult {
    const { t } = e;
    try {
      e.compiled ??= parseTemplate(this.#text(e), { name: t.data !== undefined ? this.#o.file : (t.source ?? 'template'), baseLine: t.data !== undefined ? (t.dataLine ?? t.pos.line) : 1, leftDelim: t.leftDelimiter, rightDelim: t.rightDelimiter, denied: this.#o.denied });
      return render(e.compiled, {
        env: this.#o.env,
        vars: this.#o.vars ? templateVars(this.#o.vars) : undefined,
        services: this.#o.services?.catalog,
        fileReader: (p) => readLocated(this.#locate(p), p),
        errorOnMissingKey: t.errorOnMissingKey,
      });
    } catch (err) {
      if (err instanceof TemplateError) {
        throw new TendError(err.kind === 'exec' ? 'E_TEMPLATE' : 'E_SPEC_INVALID', `${label(e)}: ${err.message}`, { cause: err });
      }
      if (err instanceof TendError) throw new TendError(err.code, `${label(e)}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** The template text: `data`, or the `source` file read from the task's dirs (no link followed). */
  #text(e: Entry): string {
    if (e.t.data !== undefined) return e.t.data;
    if (!e.t.source) throw new TendError('E_SPEC_INVALID', 'expected "data" or "source"');
    return readLocated(this.#locate(e.t.source), e.t.source);
  }

  /** A path as a template names it (relative: to the task dir; absolute: as the task sees it, or an allowed host dir). */
  #locate(p: string): { host: string; segs: string[] } {
    const { dirs, view } = this.#o;
    const roots: FileRoot[] = [
      ...this.#o.fileDirs.map((d) => ({ prefix: d, host: d })),
      { prefix: dirs.taskDir, host: dirs.taskDir },
      { prefix: dirs.allocDir, host: dirs.allocDir },
      // Without the sandbox an absolute path is a host path; with it, as the task sees it.
      ...(this.#o.noFileSandbox ? [{ prefix: '/', host: '/' }] : view ? [{ prefix: view.taskDir, host: dirs.taskDir }, { prefix: view.allocDir, host: dirs.allocDir }] : []),
    ];
    return locateFile(p, roots, dirs.taskDir);
  }

  async #write(e: Entry, text: string): Promise<boolean> {
    if (!e.t.destination) throw new TendError('E_SPEC_INVALID', `${label(e)}: missing field "destination"`);
    const r = await writeRendered(e.t.destination, text, this.#o.dirs, this.#o.view, { mode: e.mode, owner: e.owner });
    const changed = e.last !== undefined ? e.last !== text : r.changed;
    e.last = text;
    return changed;
  }

  // ---- watching ----

  #watchInputs(): void {
    const { vars } = this.#o;
    const onChange = (matches: (d: RenderDeps) => boolean) => () => this.#inputChanged(matches);
    const paths = new Set<string>();
    const prefixes = new Set<string>();
    const files = new Set<string>();
    const services = new Set<string>();
    for (const e of this.#entries) {
      if (e.t.once && this.#ready) continue;
      for (const p of e.deps?.vars ?? []) paths.add(p);
      for (const p of e.deps?.varLists ?? []) prefixes.add(p);
      for (const f of e.deps?.files ?? []) files.add(f);
      for (const n of e.deps?.services ?? []) services.add(n);
    }
    if (this.#o.services) {
      for (const n of services) this.#unwatch.push(this.#o.services.watch(n, onChange((d) => d.services.includes(n))));
    }
    if (vars) {
      for (const p of paths) this.#unwatch.push(vars.watch({ path: p }, onChange((d) => d.vars.includes(p))));
      for (const p of prefixes) this.#unwatch.push(vars.watch({ prefix: p }, onChange((d) => d.varLists.includes(p))));
    }
    for (const f of files) {
      try {
        const at = this.#locate(f);
        const host = path.join(at.host, ...at.segs);
        const w = fs.watch(path.dirname(host), { persistent: false }, (_ev, name) => {
          if (name === path.basename(host)) this.#inputChanged((d) => d.files.includes(f));
        });
        w.on('error', () => undefined);
        this.#unwatch.push(() => w.close());
      } catch {
        // the dir does not exist (yet): nothing to watch; a restart renders again
      }
    }
  }

  #stopWatching(): void {
    for (const u of this.#unwatch.splice(0)) u();
  }

  #clearTimers(): void {
    if (this.#batch?.timer) clearTimeout(this.#batch.timer);
    this.#batch = undefined;
  }

  /**
   * Inputs changed: the templates that read them are marked, and all marked templates re-render
   * together once the inputs have been quiet for the smallest `wait.min` among them, and at the
   * latest `wait.max` after the first change; their change modes are then combined.
   */
  #inputChanged(matches: (d: RenderDeps) => boolean): void {
    if (this.#closed) return;
    // Not rendered yet (an input was missing): the task looks again, which renders everything.
    if (!this.#ready) return this.#o.control.wake();
    const now = Date.now();
    const hit = this.#entries.filter((e) => !e.t.once && e.deps && matches(e.deps));
    if (!hit.length) return;
    const b = (this.#batch ??= { first: now, dirty: new Set(), minMs: Infinity, maxMs: Infinity });
    for (const e of hit) {
      const wait = { ...(this.#o.defaultWait ?? DEFAULT_WAIT), ...e.t.wait };
      b.dirty.add(e);
      b.minMs = Math.min(b.minMs, wait.minMs ?? 0);
      b.maxMs = Math.min(b.maxMs, Math.max(wait.maxMs ?? 0, wait.minMs ?? 0));
    }
    if (b.timer) clearTimeout(b.timer);
    const due = Math.min(now + b.minMs, b.first + b.maxMs);
    b.timer = setTimeout(() => void this.#rerender(), Math.max(0, due - now));
    b.timer.unref?.();
  }

  async #rerender(): Promise<void> {
    const b = this.#batch;
    this.#batch = undefined;
    if (!b || this.#closed) return;
    const changed: Entry[] = [];
    for (const e of this.#entries) {
      if (!b.dirty.has(e)) continue;
      try {
        const r = this.#render(e);
        e.deps = r.deps;
        if (r.missing.length) {
          this.#o.emit(TASK_EVENT.Template, `Missing: ${r.missing.map(describeMissing).join(', ')} (${label(e)}): the file keeps its last text`);
          continue;
        }
        if (await this.#write(e, r.text)) changed.push(e);
      } catch (err) {
        this.#o.emit(TASK_EVENT.Template, `${label(e)}: ${describeError(err)}; the file keeps its last text`);
        this.#o.logger.warn({ template: label(e), err: describeError(err) }, 'template re-render failed');
      }
    }
    // The inputs read may differ now (a new variable path): watch what these renders read.
    this.#stopWatching();
    this.#watchInputs();
    this.#changed(changed);
  }

  /** Templates whose output changed: their change modes, combined, after a splay. */
  #changed(entries: Entry[]): void {
    if (!entries.length || this.#closed) return;
    const p = (this.#pending ??= { restart: false, signals: new Set(), scripts: [], splay: 0 });
    for (const e of entries) {
      this.#o.emit(TASK_EVENT.Template, `${label(e)} re-rendered`);
      if (e.t.changeMode === 'restart') p.restart = true;
      else if (e.t.changeMode === 'signal' && e.t.changeSignal) p.signals.add(e.t.changeSignal);
      else if (e.t.changeMode === 'script') p.scripts.push(e);
      p.splay = Math.max(p.splay, e.t.splayMs);
    }
    if (!p.restart && !p.signals.size && !p.scripts.length) {
      this.#pending = undefined;
      return;
    }
    const delay = Math.floor(this.#o.random() * p.splay);
    const timer = setTimeout(() => void this.#act(), delay);
    timer.unref?.();
  }

  async #act(): Promise<void> {
    const p = this.#pending;
    this.#pending = undefined;
    if (!p || this.#closed) return;
    const { control, emit } = this.#o;
    if (p.restart) {
      emit(TASK_EVENT.Template, 'Template with change_mode restart re-rendered');
      control.restart('template with change_mode restart re-rendered');
      return;
    }
    for (const sig of p.signals) {
      await control.signal(sig).then(
        () => emit(TASK_EVENT.Template, `Template re-rendered: sent ${sig}`),
        (err) => emit(TASK_EVENT.Template, `Template re-rendered: failed to send ${sig}: ${describeError(err)}`),
      );
    }
    for (const e of p.scripts) {
      const s = e.t.changeScript!;
      const r = await control.exec([s.command, ...s.args], s.timeoutMs).catch((err: unknown) => ({ code: -1, output: describeError(err) }));
      if (r.code === 0) {
        emit(TASK_EVENT.Template, `Template ran script ${s.command} with arguments [${s.args.join(' ')}] on change`);
        continue;
      }
      const why = `Template failed to run script ${s.command} with arguments [${s.args.join(' ')}] on change: exit code ${r.code}${r.output ? `: ${r.output.trim().slice(0, 200)}` : ''}`;
      emit(TASK_EVENT.Template, why);
      if (s.failOnError) control.kill(why);
    }
  }
}

/** Nomad's wording for a missing input: `nomad.var.block(PATH)`, `nomad.var.list(PREFIX)`, `file(PATH)`. */
function describeMissing(m: string): string {
  const i = m.indexOf(':');
  const kind = m.slice(0, i);
  const what = m.slice(i + 1);
  if (kind === 'nomadVar') return `nomad.var.block(${what})`;
  if (kind === 'nomadVarListSafe') return `nomad.var.list(${what})`;
  if (kind === 'file') return `file(${what})`;
  return m;
}

/** The engine's view of a task's variables: times in Unix nanoseconds, as Nomad stores them. */
function templateVars(v: VariableReader): TemplateVars {
  const ns = (ms: number) => ms * 1e6;
  const meta = (m: { path: string; createIndex: number; modifyIndex: number; createTime: number; modifyTime: number }) => ({
    path: m.path,
    createIndex: m.createIndex,
    modifyIndex: m.modifyIndex,
    createTime: ns(m.createTime),
    modifyTime: ns(m.modifyTime),
  });
  return {
    get(p) {
      const x = v.get(p);
      return x ? { ...meta(x), items: x.items } : undefined;
    },
    list: (prefix) => v.list(prefix).map(meta),
  };
}
