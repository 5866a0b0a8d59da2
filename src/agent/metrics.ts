/**
 * What the agent reports to metrics. PromMetrics (src/api/metrics.ts)
 * implements it for /metrics; `noopMetrics` serves tests and plan-only use.
 */
export interface AgentMetrics {
  taskStarted(driver: string, latencyMs: number): void;
  taskExited(driver: string, exit: { code: number | null; signal?: string | null; oomKilled?: boolean }): void;
  /** A task is restarted (restart policy or `tendctl restart`), by its driver. */
  restart(driver: string): void;
  oomKill(driver: string): void;
  reconcilePass(ms: number): void;
  queueDepth(n: number): void;
  fileLoadError(): void;
  /** Full count of task instances by driver then state. */
  setTaskStates(counts: Record<string, Record<string, number>>): void;
}

export const noopMetrics: AgentMetrics = {
  taskStarted() {},
  taskExited() {},
  restart() {},
  oomKill() {},
  reconcilePass() {},
  queueDepth() {},
  fileLoadError() {},
  setTaskStates() {},
};
