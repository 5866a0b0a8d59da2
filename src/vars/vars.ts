/**
 * The Nomad-variables contract: the local variable store tend owns in place
 * of Nomad's servers, for `template` blocks (`nomadVar`, `nomadVarList`,
 * `nomadVarExists`) and for `tendctl var put|get|list|purge`.
 *
 * Two sources, one view:
 *  - variables written through the API (`tendctl var put`) live in one JSON
 *    document, `<data_dir>/variables.json`, mode 0600, written atomically
 *    (a temp file created 0600, fsync, rename, fsync of the dir) before a put
 *    resolves; a restart finds them again;
 *  - variables loaded from files in the agent's variables dir (`client {
 *    variables { dir } }`, GitOps: a dir written by sops/age or a secret
 *    sync) are read-only: a put or purge of a path a file owns is refused
 *    (E_VAR_READ_ONLY) and the file's variable shadows a stored one of the
 *    same path.
 *
 * Paths follow Nomad (`^[a-zA-Z0-9-_~/]{1,128}$`, and under `nomad/` only
 * `nomad/jobs…` and `nomad/job-templates/<name>`); a path never names a file
 * on disk. Items: at least one; keys and values together at most 64 KiB.
 * Indexes come from one node-wide counter (Nomad's raft index, locally):
 * every change of a variable's effective value gets a new `modifyIndex`.
 *
 * Tasks read through `forTask(identity, policies)`: Nomad's implicit
 * workload-identity policy (exactly `nomad/jobs`, `nomad/jobs/<job>`,
 * `nomad/jobs/<job>/<group>`, `nomad/jobs/<job>/<group>/<task>`, nothing
 * below them) plus the policies of the agent config (acl.ts).
 *
 * Values are secrets: no log line, error message, event or status view of
 * tend carries an item value (only paths, keys counts and indexes).
 */

/** Items of a variable: key → value, both strings (Nomad's `VariableItems`). */
export type VariableItems = Record<string, string>;

/** What is known of a variable without its items (Nomad's `VariableMetadata`, minus the namespace). */
export interface VariableMetadata {
  path: string;
  /** Index of the change that created it. */
  createIndex: number;
  /** Index of the change that last changed it: the check-index of a check-and-set. */
  modifyIndex: number;
  /** Epoch milliseconds (Nomad's JSON has nanoseconds; `tendctl var get -out json` prints those). */
  createTime: number;
  modifyTime: number;
  /** Set when the variable comes from a file of the variables dir (absolute path): it is read-only. */
  file?: string;
}

/** A variable with its items (Nomad's `VariableDecrypted`). */
export interface Variable extends VariableMetadata {
  items: VariableItems;
}

/** What a watcher watches: one path, or every path starting with a prefix (a plain string prefix, as Nomad's list). */
export type WatchTarget = { path: string } | { prefix: string };

/** One committed change of a variable's effective value. Never carries items. */
export interface VariableChange {
  path: string;
  /** The new modify index; undefined when the variable is gone. */
  modifyIndex: number | undefined;
}

/** Check-and-set (Nomad's `-check-index`): 0 = only if it does not exist; N = only if its modifyIndex is N. */
export interface CasOptions {
  cas?: number;
}

/**
 * The read side templates use (`nomadVar` → get, `nomadVarList` → list,
 * `nomadVarExists` → exists) and their change feed. Through `forTask`, a
 * denied path throws E_PERMISSION_DENIED and a list is filtered to what the
 * task may list, as Nomad does.
 */
export interface VariableReader {
  /** A copy of the variable, or undefined. An invalid path throws E_VAR_INVALID. */
  get(path: string): Variable | undefined;
  /** Metadata of every variable whose path starts with `prefix` (default ""), sorted by path. */
  list(prefix?: string): VariableMetadata[];
  exists(path: string): boolean;
  /**
   * Called once per changed path after the change is committed (on disk for a
   * put or purge, loaded for a dir file). Returns the unsubscribe function.
   */
  watch(target: WatchTarget, listener: (change: VariableChange) => void): () => void;
}

/** Who reads: Nomad's workload-identity claims of a task. */
export interface WorkloadIdentity {
  /** The job id. For a periodic or dispatched child (`web/periodic-1700000000`), the parent's id, as Nomad's identity carries. */
  job: string;
  group: string;
  task: string;
}

/** A capability a task can have on a variable path (Nomad's `read` includes `list`). */
export type VariableCapability = 'read' | 'list' | 'deny';

/**
 * `client { variables { policy "NAME" { job, group, task, path "GLOB" { capabilities } } } }`:
 * a Nomad ACL policy attached to workloads (`nomad acl policy apply -job -group -task`).
 */
export interface VariablePolicy {
  name: string;
  /** Undefined: every job (tend only; Nomad attaches a policy to one job). */
  job?: string;
  /** Undefined: every group of the job. */
  group?: string;
  /** Undefined: every task of the group. */
  task?: string;
  /** `path "GLOB" { capabilities = […] }` blocks; `*` matches any run of characters, `/` included. */
  paths: { pattern: string; capabilities: VariableCapability[] }[];
}

/** The store: the read side, writes for the operator (the API), and the ACL'd view for a task. */
export interface VariableStore extends VariableReader {
  /**
   * Create or replace a variable's items (a put replaces them all, as Nomad).
   * Resolves with the variable as written once it is on disk. E_VAR_INVALID,
   * E_VAR_CONFLICT (cas), E_VAR_READ_ONLY (a dir file owns the path), E_STORE.
   */
  put(path: string, items: VariableItems, opts?: CasOptions): Promise<Variable>;
  /** Delete a variable. A missing one is no error unless `cas` > 0. E_VAR_CONFLICT, E_VAR_READ_ONLY, E_STORE. */
  purge(path: string, opts?: CasOptions): Promise<void>;
  /** The reader a task's templates get: what Nomad's implicit policy and `policies` allow `identity`. */
  forTask(identity: WorkloadIdentity, policies?: readonly VariablePolicy[]): VariableReader;
  /** Stop watching the dir; pending writes finish. */
  close(): Promise<void>;
}
