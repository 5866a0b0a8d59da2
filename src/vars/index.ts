/**
 * What the template functions use. The agent (src/agent/run.ts) opens one
 * store per data dir and hands it to whoever renders templates; a renderer
 * gets a task's view with `store.forTask(identity, config.client.variables.policies)`
 * (read the policies at render time: SIGHUP reloads them) and maps:
 *
 *   nomadVar "PATH"        → reader.get(PATH): the Variable, or undefined when
 *                            there is none (consul-template then waits/blocks as
 *                            the template engine decides); `.items` are the
 *                            values, the rest is Nomad's metadata
 *   nomadVarList ["PREFIX"] → reader.list(PREFIX): metadata only, sorted by path,
 *                            filtered to what the task may list (never an error)
 *   nomadVarExists "PATH"  → reader.exists(PATH)
 *
 * Errors are TendErrors: E_PERMISSION_DENIED ("Permission denied reading
 * variable PATH for task J/G/T") for a path the task may not read,
 * E_VAR_INVALID for a malformed path (`a/../b`, `x@ns` is the template's to
 * split first: tend has no namespaces, only "default").
 *
 * Re-rendering: `reader.watch({ path })` for nomadVar/nomadVarExists and
 * `reader.watch({ prefix })` for nomadVarList call back once per committed
 * change (`{ path, modifyIndex }`, no values; `modifyIndex` undefined when
 * the variable is gone). A prefix watch only reports paths the task may list.
 * Debounce with the template's `wait`; unsubscribe when the task stops.
 *
 * For a periodic or dispatched child, pass the parent job's id as
 * `identity.job` (Nomad's workload identity does the same).
 */
export type {
  Variable,
  VariableMetadata,
  VariableItems,
  VariableChange,
  VariableReader,
  VariableStore,
  VariablePolicy,
  VariableCapability,
  WatchTarget,
  WorkloadIdentity,
  CasOptions,
} from './vars.js';
export { createVariableStore, LocalVariableStore, type VariableStoreOptions } from './variable-store.js';
export { TaskAcl, permissionDenied } from './acl.js';
export { MAX_ITEMS_BYTES, MAX_PATH_BYTES, pathProblem, assertPath } from './path.js';
