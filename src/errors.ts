/**
 * TendError: every error tend raises on purpose carries a stable code, so that
 * callers (the API, tendctl, tests) can tell errors apart without parsing
 * messages. Messages read "failed to <verb> <thing>: <cause>"; validation
 * messages say what was expected and what was found.
 */
export type ErrorCode =
  | 'E_SPEC_INVALID' // a job file failed to load or validate
  | 'E_CONFIG_INVALID' // the agent config file is wrong
  | 'E_TASK_NOT_FOUND'
  | 'E_JOB_NOT_FOUND' // no (periodic) job of that id in force
  | 'E_TASK_AMBIGUOUS'
  | 'E_TASK_NOT_RUNNING' // the task exists but has no process for what was asked (exec, signal, logs before its first start)
  | 'E_DRIVER_UNAVAILABLE' // driver disabled or not fingerprinted on this node
  | 'E_CAPABILITY_DENIED' // cap_add beyond allow_caps
  | 'E_USER_DENIED' // user in denied_host_uids / denied_host_gids, or unknown user
  | 'E_LAUNCH_FAILED'
  | 'E_EXECUTOR'
  | 'E_CGROUP'
  | 'E_STORE'
  | 'E_DATA_DIR_LOCKED' // another agent holds the data dir's lock (details.pid names it)
  | 'E_AGENT_UNREACHABLE'
  | 'E_UNAUTHORIZED'
  | 'E_BAD_REQUEST'
  | 'E_ARTIFACT' // an artifact could not be fetched, checked or unpacked (details.recoverable)
  | 'E_TEMPLATE' // a template could not be rendered or written (a function's error, a file it reads)
  | 'E_NOT_READY' // a task's inputs are not all there yet (a template waits for a variable): it waits, not fails
  | 'E_VAR_NOT_FOUND' // no Nomad variable at that path
  | 'E_VAR_INVALID' // a variable path or its items break Nomad's rules
  | 'E_VAR_CONFLICT' // check-and-set: the variable's modify index is not the one given (details.modifyIndex)
  | 'E_VAR_READ_ONLY' // the path belongs to a file of the variables dir (details.file)
  | 'E_PERMISSION_DENIED' // a task's workload identity may not read that variable
  | 'E_SERVICE_NOT_FOUND' // no instance of that service in the local catalog
  | 'E_INTERNAL';

export class TendError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (file, line, task id, …). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TendError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isTendError(err: unknown, code?: ErrorCode): err is TendError {
  return err instanceof TendError && (code === undefined || err.code === code);
}

/** Node's system errors (ENOENT, ESRCH, …) are told apart by their `code`. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/** A one-line description of any thrown value, with the cause chain. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let msg = err.message;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && cause instanceof Error && !msg.includes(cause.message)) msg += `: ${describeError(cause)}`;
  return msg;
}
