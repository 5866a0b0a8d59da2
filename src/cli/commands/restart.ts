/** `tendctl restart [-wait [-timeout D]] TASK`: restart a task without changing its desired state. */
import type { Command, CommandIO } from '../command.js';
import type { TaskView } from '../../api/api.js';
import type { TendClient } from '../../api/client.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';
import { taskReadiness, type Readiness } from '../../api/converge.js';
import { runOnEvents } from '../on-events.js';
import { parseTimeout, quietFlag, timeoutFlag, waitDeadline, WAIT_EXIT } from './wait.js';
import { formatDuration, formatRelative, parseTime } from '../format/duration.js';
import { StatusLine, type Terminal } from '../format/screen.js';
import { formatElapsed } from '../format/progress.js';
import { describeError } from '../../errors.js';

const flags: FlagSpec[] = [
  { names: ['wait'], kind: 'bool', help: 'Wait until the new instance runs (new pid and start time; healthy, if it has checks), or fails.' },
  timeoutFlag,
  quietFlag,
  jsonFlag,
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl restart [options] TASK';
const description = `
Stops a task (its kill_signal, then kill_timeout) and starts it again with the
same spec. The job file is not touched. Also revives a task that failed after
exhausting its restart policy.

With -wait, tendctl follows the task's events until the restarted instance is
running (a new pid and start time, and its health checks passing if it has
any; a batch task may also have completed), and exits:
  0  it runs again
  1  an error (the agent cannot be reached, or went away)
  3  timed out (-timeout, default 5m): the task's state and last event are printed
  4  it failed: exited again and waits to restart, or failed for good
  130  interrupted (Ctrl-C)`;

/** What happens now, in the operator's terms: a running task is stopped first (how, and for how long at most). */
export function restartNote(r: { task: string; state?: string; killSignal?: string; killTimeout?: string }, waiting = false): string {
  if (r.state === 'running' || r.state === 'starting') {
    const stop = r.killSignal ? `${r.killSignal} now${r.killTimeout ? `, SIGKILL after ${r.killTimeout} if it is still running` : ''}` : 'it is stopped';
    return `Restarting ${r.task}: ${stop}, then it starts again.\n${waiting ? '' : `Follow it: tendctl events -f -task '${r.task}'\n`}`;
  }
  return r.state ? `Restarting ${r.task} (it was ${r.state}): it starts again now.\n` : `Restarting ${r.task}\n`;
}

const examples: Example[] = [
  { command: "tendctl restart web", what: "stop and start job web's only task" },
  { command: "tendctl restart 'web/server[1]/app'", what: "one instance of a group with count > 1" },
  { command: "tendctl restart -wait -timeout 1m 'web/server[1]/app'", what: 'restart it and wait until it runs again (exit 0), fails (4) or a minute passes (3)' },
];

/** Whether the task's run is a new one since `before` (another pid or start time). */
export function isNewRun(before: Pick<TaskView, 'pid' | 'startedAt'>, now: Pick<TaskView, 'pid' | 'startedAt'>): boolean {
  return now.startedAt !== undefined && (now.startedAt !== before.startedAt || now.pid !== before.pid);
}

/**
 * Where a restart stands: `done` when the new instance is ready; `failed` when, once started again
 * (its restart count went up), it is waiting to restart or failed for good; else on its way.
 */
export function restartOutcome(before: TaskView, now: TaskView, jobType: string): { kind: 'done' | 'failed' | 'waiting'; why: string } {
  const startedAgain = now.restarts > before.restarts;
  if (startedAgain && now.state === 'failed') return { kind: 'failed', why: `failed${now.error ? `: ${now.error}` : ''}` };
  if (startedAgain && now.state === 'restarting') {
    const e = now.lastExit;
    // A launch that failed has the error; a run that ended, its exit.
    const exit = now.error ?? (!e ? 'it did not start' : e.oomKilled ? 'OOM killed' : e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`);
    return { kind: 'failed', why: `ended again (${exit}) and waits to restart` };
  }
  if (!isNewRun(before, now)) return { kind: 'waiting', why: now.state };
  const r: Readiness = taskReadiness(now, jobType);
  if (r.kind === 'ready') return { kind: 'done', why: now.state === 'running' ? `running (pid ${now.pid ?? '?'})` : now.state };
  return { kind: 'waiting', why: r.why };
}

export const restartCommand: Command = {
  name: 'restart',
  summary: 'Restart a task (desired state unchanged)',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['task'] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length !== 1) throw new UsageError(`expected one TASK, got ${args.length} arguments`);
    const timeoutMs = parseTimeout(f.timeout);
    const client = clientFromFlags(f, io);
    try {
      if (f.wait) return await restartAndWait(client, args[0], { timeoutMs, quiet: f.quiet === true || f.json === true, json: f.json === true }, io);
      const r = await client.restart(args[0]);
      if (f.json) await writeJson(io, r);
      else await writeOut(io.stdout, restartNote(r));
      return 0;
    } finally {
      client.close();
    }
  },
};

async function restartAndWait(client: TendClient, arg: string, o: { timeoutMs: number; quiet: boolean; json: boolean }, io: CommandIO): Promise<number> {
  const id = await client.resolveOne(arg);
  const before = await client.task(id);
  const jobType = (await client.jobs()).find((j) => j.id === before.job)?.type ?? 'service';
  const t0 = Date.now();
  const stop = waitDeadline(o.timeoutMs);
  const line = io.stdout.isTTY && !o.quiet ? new StatusLine(io.stdout as unknown as Terminal) : undefined;
  let askedAt = 0;
  let last: TaskView = before;
  let outcome: ReturnType<typeof restartOutcome> = { kind: 'waiting', why: before.state };
  let shown = '';
  try {
    const end = await runOnEvents({
      client,
      query: { task: id },
      signal: stop.signal,
      async refresh() {
        // The first look, once the events are followed: restart now, so no event of it is missed.
        if (!askedAt) {
          askedAt = Date.now();
          const r = await client.restart(id);
          if (!o.quiet) await writeOut(io.stdout, restartNote(r, true));
        }
        last = await client.task(id);
        outcome = restartOutcome(before, last, jobType);
        const text = `${id}: ${outcome.why}`;
        if (line) line.draw(`${text} ${formatDuration(Date.now() - t0)}`);
        else if (!o.quiet && text !== shown) await writeOut(io.stdout, `${text}\n`);
        shown = text;
        return { done: outcome.kind !== 'waiting', settle: last.state === 'stopping' };
      },
    });
    line?.close();
    if (end.end === 'agent-gone') {
      io.stderr.write(`tendctl restart: the agent ended the event stream${end.error ? `: ${describeError(end.error)}` : ' (did it stop?)'}\n`);
      return WAIT_EXIT.error;
    }
    const result = end.end === 'done' ? (outcome.kind === 'done' ? 'converged' : 'failed') : stop.why === 'timeout' ? 'timeout' : 'interrupted';
    if (o.json) {
      await writeJson(io, { task: id, outcome: result === 'converged' ? 'running' : result, state: last.state, pid: last.pid, startedAt: last.startedAt, why: outcome.why, elapsedMs: Date.now() - t0 });
      return WAIT_EXIT[result];
    }
    if (result === 'converged') {
      await writeOut(io.stdout, `${id} runs again: ${outcome.why}, ${formatElapsed(Date.now() - t0)} after the restart was asked\n`);
      return WAIT_EXIT.converged;
    }
    const ev = last.events?.[last.events.length - 1];
    const at = parseTime(ev?.time);
    const lastEvent = ev ? `; last event${at === undefined ? '' : ` ${formatRelative(at, Date.now())}`}: ${ev.type}: ${ev.message}` : '';
    const head = result === 'failed' ? 'the restarted task' : result === 'timeout' ? `timed out after ${formatDuration(o.timeoutMs)}:` : 'interrupted:';
    io.stderr.write(`tendctl restart: ${head} ${id} ${outcome.why}${lastEvent}\n`);
    return WAIT_EXIT[result];
  } finally {
    line?.close();
    stop.dispose();
  }
}
