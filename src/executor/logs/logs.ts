/**
 * Task log contract. Both executors deliver a task's stdout and stderr into
 * `<logDir>/<task>.stdout.N` and `<logDir>/<task>.stderr.N`, N = 0, 1, 2, …
 * (the highest N is the file being written, as in Nomad), rotated when a file
 * reaches `maxFileSizeBytes`, keeping at most `maxFiles` per stream.
 *
 * The writing is done by the log monitor (`tend logmon`), one detached process
 * per data dir that outlives the agent, so logs keep flowing while the agent
 * is down. It reads:
 * `<logDir>` is `<dataDir>/logs/<allocId>`, where no task can write; tasks
 * see it read-only at `alloc/logs`. `<task>` is the task's log key
 * (logKeyOf: its name made a safe path segment).
 *
 *  - for plain tasks, two FIFOs per task (`<logDir>/.<task>.stdout.fifo`,
 *    `.stderr.fifo`) that the task writes to (the task holds its FIFO open
 *    read-write, so it never gets SIGPIPE if the monitor restarts);
 *  - for oci tasks, conmon's k8s-file log (`<logDir>/.<task>.conmon.log`),
 *    which it demultiplexes into the two streams, rotating conmon's file by
 *    renaming it and asking conmon to reopen through the bundle's `ctl` FIFO.
 *
 * While no monitor runs, a plain task can write up to the pipe capacity
 * (64 KiB on Linux) per stream before its writes block; nothing is dropped.
 * conmon logs are resumed at a checkpointed offset (at least once).
 * Beside each file the monitor records when its bytes were read
 * (`.<task>.<stream>.N.times`, times.ts) for `tendctl logs -timestamps` and
 * `-since` (lines.ts reads a stream as timed lines, merge.ts merges instances).
 * Implementation: client.ts (createLogMonitorClient), monitor.ts, reader.ts
 * (readLogs for `tendctl logs`).
 */

import { pathUnder, segmentOf } from '../../safe-fs.js';
import type { LogmonStatus } from './protocol.js';

export type LogSource =
  | { kind: 'fifo'; stdoutFifo: string; stderrFifo: string }
  | { kind: 'k8s-file'; path: string; ctlFifo: string };

export interface LogTarget {
  /** Task instance id (LaunchSpec.id). */
  id: string;
  logDir: string;
  task: string;
  maxFiles: number;
  maxFileSizeBytes: number;
}

export interface LogMonitorClient {
  /** Start the monitor if it is not running (or reattach to the running one). */
  ensure(): Promise<void>;
  /** Start collecting a task's output. Idempotent. */
  add(source: LogSource, target: LogTarget): Promise<void>;
  /** Stop collecting once everything written so far has been flushed. Idempotent. */
  remove(id: string): Promise<void>;
  /** Level-triggered: the full set of tasks to collect; others are dropped. */
  sync(all: { source: LogSource; target: LogTarget }[]): Promise<void>;
  /**
   * ensure() then add(), for a task being launched; never throws, so that no
   * task is refused or stopped because its logs cannot be collected. On a
   * failure the entry is kept and registered by a later revive(); the
   * failure is returned for the caller to report.
   */
  collect(source: LogSource, target: LogTarget): Promise<Error | undefined>;
  /** Start the monitor if it is gone and register what collect() could not; throws what still fails. */
  revive(): Promise<void>;
  /** Ids of tasks whose collection is not registered yet (collect() failed). */
  unregistered(): string[];
  /** The monitor's drop counts (full filesystem); undefined when no monitor answers. */
  status(): Promise<LogmonStatus | undefined>;
  /** Pid of the monitor process, for accounting (status, tests, shutdown). */
  pid(): Promise<number | undefined>;
  /** Stop the monitor process (tests, `-stop-tasks-on-exit`). */
  stop(): Promise<void>;
}

/** The log file prefix of a task: its name made one safe path segment. */
export function logKeyOf(spec: { logKey?: string; identity: { task: string } }): string {
  return spec.logKey ?? segmentOf(spec.identity.task);
}

/** Paths of a task's FIFOs and conmon log inside its log dir (`task` is a log key). */
export function logPaths(logDir: string, task: string) {
  return {
    stdoutFifo: pathUnder(logDir, `.${task}.stdout.fifo`),
    stderrFifo: pathUnder(logDir, `.${task}.stderr.fifo`),
    conmonLog: pathUnder(logDir, `.${task}.conmon.log`),
  };
}
