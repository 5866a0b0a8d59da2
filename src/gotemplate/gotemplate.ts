/**
 * The template language of Nomad's `template` block: Go's text/template with
 * consul-template's functions that one node can serve. A pure module: parse
 * once per job version (`parseTemplate`), render as often as an input changes
 * (`render`); everything outside (env, files, variables, services, clock,
 * network interfaces) comes in through `RenderContext`.
 *
 * Errors read as Go's do, with a column added to every position:
 *   template: web.hcl:14:7: function "foo" not defined
 *   template: web.hcl:15:9: executing "web.hcl" at <.port>: map has no entry for key "port"
 */

/** How a template was written: its name for messages and its delimiters. */
export interface ParseOptions {
  /** The template's name in messages: a file path, or e.g. `jobs/web.hcl`. Default `template`. */
  name?: string;
  /** Default `{{`. */
  leftDelim?: string;
  /** Default `}}`. */
  rightDelim?: string;
  /**
   * The line of the enclosing file on which the template's first line sits
   * (a heredoc's first line in a job file), so that positions point into
   * that file. Default 1.
   */
  baseLine?: number;
  /** Functions refused here (the agent's `function_denylist`): a call is a parse error of kind 'unsupported'. */
  denied?: ReadonlySet<string>;
}

/** Nomad variables, read from tend's local store. Paths have no leading or trailing slash. */
export interface VariableStore {
  /** The variable at exactly this path, or undefined. */
  get(path: string): StoredVariable | undefined;
  /** Metadata of the variables under a path prefix (all when ''), sorted by path. */
  list(prefix: string): StoredVariableMeta[];
}

export interface StoredVariableMeta {
  path: string;
  /** Default `default`. */
  namespace?: string;
  createIndex?: number;
  modifyIndex?: number;
  /** Unix nanoseconds, as Nomad stores them (a bigint keeps them exact; a number loses the last digits). */
  createTime?: number | bigint;
  modifyTime?: number | bigint;
}

export interface StoredVariable extends StoredVariableMeta {
  items: Record<string, string>;
}

/** Nomad's service registrations (`nomadService`, `nomadServices`); tend's local catalog once it exists. */
export interface ServiceCatalog {
  /** Registrations of one service (`nomadService "name"`, `"tag.name"`). */
  service(name: string, tag?: string): NomadServiceRegistration[];
  /** One entry per service name with the union of its tags. */
  services(): Array<{ name: string; tags: string[] }>;
}

export interface NomadServiceRegistration {
  id: string;
  name: string;
  namespace?: string;
  nodeId?: string;
  datacenter?: string;
  jobId?: string;
  allocId?: string;
  tags: string[];
  address: string;
  port: number;
}

/** One network interface address, as `os.networkInterfaces()` gives it, with the interface name. */
export interface InterfaceAddress {
  name: string;
  address: string;
  netmask: string;
  family: 'IPv4' | 'IPv6';
  internal: boolean;
  mac: string;
  cidr: string | null;
}

/** What sockaddr functions see of this host's network. */
export interface NetworkInfo {
  interfaces(): InterfaceAddress[];
  /** Names of the interfaces that carry a default route. */
  defaultInterfaces(): string[];
}

/** Everything a render may read. Each input read is recorded in `RenderResult.deps`. */
export interface RenderContext {
  /** The task's environment, for `env`; a key absent here renders as "" (the agent's env is never read). */
  env?: Record<string, string | undefined>;
  /**
   * Reads a host file for `file`; it owns the allowed-dirs check and throws
   * a clear error for a path outside them. Absent: `file` is an error.
   */
  fileReader?: (path: string) => string;
  /** Absent: every `nomadVar*` function is an error. */
  vars?: VariableStore;
  /** Absent: `nomadService`/`nomadServices` are an error. */
  services?: ServiceCatalog;
  /** `plugin` runs an executable; refused unless true (and then still refused: tend runs no plugins yet). */
  allowPlugins?: boolean;
  /** Nomad's `error_on_missing_key`: a missing map key is an error instead of `<no value>`. */
  errorOnMissingKey?: boolean;
  /** The clock for `timestamp`; default the system clock. */
  now?: () => Date;
  /** Network interfaces for `sockaddr`; default this host's. */
  network?: NetworkInfo;
}

/** The inputs a render used, so the caller can re-render when one changes. */
export interface RenderDeps {
  env: string[];
  files: string[];
  /** Variable paths read by `nomadVar` and `nomadVarExists`. */
  vars: string[];
  /** Prefixes listed by `nomadVarList`. */
  varLists: string[];
  services: string[];
}

export interface RenderResult {
  text: string;
  deps: RenderDeps;
  /**
   * Inputs the template waits for: variables read by `nomadVar` that do not
   * exist yet, empty `nomadVarListSafe` prefixes. As in Nomad, a template
   * with missing inputs must not be written; `text` is then only a draft.
   */
  missing: string[];
}

export type TemplateErrorKind =
  /** The text does not parse. */
  | 'parse'
  /** Execution failed (a function's error, a missing key with errorOnMissingKey, …). */
  | 'exec'
  /** A Consul or Vault function, or another function one node cannot serve. */
  | 'unsupported';

/** Thrown by parseTemplate and render. `message` is the full Go-style text. */
export class TemplateError extends Error {
  readonly kind: TemplateErrorKind;
  /** The template's name as given in ParseOptions. */
  readonly template: string;
  /** 1-based, in the enclosing file when ParseOptions.baseLine was given. */
  readonly line: number;
  readonly col: number;
  /** The message without the position prefix. */
  readonly reason: string;
  /** For 'unsupported': the function's name. */
  readonly func?: string;

  constructor(
    kind: TemplateErrorKind,
    where: { template: string; line: number; col: number },
    reason: string,
    options: { cause?: unknown; func?: string; context?: string; executing?: string } = {},
  ) {
    const exec = options.executing !== undefined ? `executing "${options.executing}" at <${options.context ?? ''}>: ` : '';
    super(`template: ${where.template}:${where.line}:${where.col}: ${exec}${reason}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TemplateError';
    this.kind = kind;
    this.template = where.template;
    this.line = where.line;
    this.col = where.col;
    this.reason = reason;
    if (options.func !== undefined) this.func = options.func;
  }
}
