/** `tendctl wait [-timeout D] [JOB…]`: block until the jobs have converged (src/api/converge.ts says when). */
import type { Command, CommandIO } from '../command.js';
import type { TaskEvent } from '../../api/api.js';
import type { TendClient } from '../../api/client.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';
import { convergence, mayChangeSilently, withPlan, type Convergence } from '../../api/converge.js';
import { runOnEvents } from '../on-events.js';
import { StatusLine, type Terminal } from '../format/screen.js';
import { formatElapsed, problemLines, progressBar, progressText } from '../format/progress.js';
import { formatDuration } from '../format/duration.js';
import { parseDuration } from '../../jobspec/duration.js';
import { describeError, isTendError } from '../../errors.js';

/** Exit codes of `wait` and `restart -wait` (1 and 2 are every command's: an error, a usage error). */
export const WAIT_EXIT = { converged: 0, error: 1, usage: 2, timeout: 3, failed: 4, interrupted: 130 } as const;

export const timeoutFlag: FlagSpec = { names: ['timeout'], kind: 'string', value: 'D', help: 'Give up after this long (a duration: 90s, 5m; 0: never), exit 3.', default: '5m' };
export const quietFlag: FlagSpec = { names: ['quiet', 'q'], kind: 'bool', help: 'No progress; only the outcome (and what is wrong).' };

const flags: FlagSpec[] = [timeoutFlag, quietFlag, { ...jsonFlag, help: 'Print the outcome as JSON (no progress).' }, ...connectionFlags, helpFlag];

const usage = 'tendctl wait [options] [JOB…]';
const description = `
Blocks until the named jobs (default: every job of the jobs dir) have
converged: every task in the state its job asks for. A service job's tasks
(and sidecars) running, with their services' health checks passing and its
rollout finished; a batch job's tasks complete; nothing pending, starting,
restarting or stopping; nothing left of a job whose file was removed.

It first has the agent read the jobs dir (POST /v1/resync), then waits until
the agent has applied all of it ("tendctl plan" shows no change), so
"tendctl wait" right after a sync waits for the new files, never for what ran
before them.

It follows the agent's events and looks again after each burst; progress goes
to stdout: a bar redrawn in place on a terminal, else a line such as
"12/200 running (180 pending, 8 starting)" each time it changes.

Not waited for: children of periodic and parameterized jobs (they run on a
schedule or a dispatch), and jobs whose constraints exclude this node.

Some things do not resolve without an operator; wait exits 4 at once, naming
them: a job file that does not load, a task whose driver is unavailable, a
task failed (its restart policy gave up), a rollout that failed or was
reverted (unless the jobs dir has changes for that job the agent has not
applied yet). A crash loop with restarts left, a wait for ports or for a
template's variable, or a rollout in progress are waited for, until -timeout.

Exit codes:
  0  converged
  1  an error: the agent cannot be reached, or went away while waiting
  2  a usage error
  3  timed out: what is not converged, and why, is printed (with each task's last event)
  4  a job cannot converge without an operator (see above)
  130  interrupted (Ctrl-C)`;

const examples: Example[] = [
  { command: 'tendctl wait', what: 'until every job has converged (default timeout 5m)' },
  { command: 'tendctl wait -timeout 2m web api', what: 'only jobs web and api' },
  { command: 'deploy/tend-git-sync && tendctl wait -timeout 10m || tendctl status', what: 'in a GitOps pipeline: sync, then wait for it to converge' },
];

export const waitCommand: Command = {
  name: 'wait',
  summary: 'Wait until jobs have converged (for scripts and GitOps pipelines)',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['job'], repeat: true },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    const timeoutMs = parseTimeout(f.timeout);
    const names = [...new Set(args)];
    const client = clientFromFlags(f, io);
    try {
      return await waitFor(client, names, { timeoutMs, quiet: f.quiet === true || f.json === true, json: f.json === true }, io);
    } finally {
      client.close();
    }
  },
};

/** `-timeout`: ms, 0 for never; a UsageError for anything but a duration. */
export function parseTimeout(v: unknown): number {
  const ms = parseDuration(typeof v === 'string' ? v : '');
  if (ms === undefined) throw new UsageError(`flag -timeout: expected a duration (90s, 5m, 0 for no limit), got "${v}"`);
  return ms;
}

interface WaitOptions {
  timeoutMs: number;
  quiet: boolean;
  json: boolean;
}

/** Progress on stdout: a redrawn bar on a terminal, else a line when it changes. */
export function progressWriter(io: CommandIO, quiet: boolean) {
  const line = io.stdout.isTTY && !quiet ? new StatusLine(io.stdout as unknown as Terminal) : undefined;
  let last = '';
  return {
    async show(c: Convergence, elapsedMs: number): Promise<void> {
      if (quiet) return;
      if (line) {
        const cols = (io.stdout as unknown as Terminal).columns || 80;
        line.draw(progressBar(c, Math.min(30, Math.floor(cols / 4)), elapsedMs));
        return;
      }
      const text = progressText(c);
      if (text === last) return;
      last = text;
      await writeOut(io.stdout, `${text}\n`);
    },
    close(): void {
      line?.close();
    },
  };
}

/** Each task problem's last event (the first `max` of them). */
export async function lastEvents(client: TendClient, c: Convergence, max = 10): Promise<Map<string, TaskEvent>> {
  const ids = [...new Set(c.problems.flatMap((p) => (p.task ? [p.task] : [])))].slice(0, max);
  const out = new Map<string, TaskEvent>();
  await Promise.all(
    ids.map(async (id) => {
      const t = await client.task(id).catch(() => undefined);
      const e = t?.events?.[t.events.length - 1];
      if (e) out.set(id, e);
    }),
  );
  return out;
}

/** What ends a wait early: its -timeout, or SIGINT/SIGTERM (`why` says which). `dispose()` once done. */
export function waitDeadline(timeoutMs: number): { signal: AbortSignal; readonly why: 'timeout' | 'interrupted' | undefined; dispose(): void } {
  const ac = new AbortController();
  let why: 'timeout' | 'interrupted' | undefined;
  const timer = timeoutMs > 0 ? setTimeout(() => ((why = 'timeout'), ac.abort()), timeoutMs) : undefined;
  const onSignal = () => ((why = 'interrupted'), ac.abort());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    get why() {
      return why;
    },
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function waitFor(client: TendClient, names: string[], o: WaitOptions, io: CommandIO): Promise<number> {
  const t0 = Date.now();
  const stop = waitDeadline(o.timeoutMs);
  const progress = progressWriter(io, o.quiet);
  let c: Convergence | undefined;
  let resynced = false;
  try {
    const end = await runOnEvents({
      client,
      // Every event: a file's carry no job, and a named job may come from any file.
      query: {},
      signal: stop.signal,
      async refresh() {
        // First the agent reads the jobs dir as it is now (a sync may have just written it); an
        // agent without the endpoint reads it on its own, within its watch delay.
        if (!resynced) {
          resynced = true;
          await client.resync().catch((err) => {
            if (isTendError(err) && err.code === 'E_AGENT_UNREACHABLE') throw err;
          });
        }
        const [jobs, files] = await Promise.all([client.jobs(), client.files()]);
        let now = convergence(jobs, files, names);
        // Converged or failed by the agent's views: check them against the files on disk.
        if (now.converged || now.failed) {
          const plan = await client.plan().catch(() => undefined);
          if (plan) now = withPlan(now, plan, names);
        }
        c = now;
        await progress.show(now, Date.now() - t0);
        // A stopped task's record, a file the agent has still to read, go without an event: look again soon.
        return { done: now.converged || now.failed, settle: mayChangeSilently(jobs, files) || now.problems.some((p) => p.recheck) };
      },
    });
    progress.close();
    const elapsed = formatElapsed(Date.now() - t0);
    if (end.end === 'agent-gone') {
      io.stderr.write(`tendctl wait: the agent ended the event stream${end.error ? `: ${describeError(end.error)}` : ' (did it stop?)'}\n`);
      return WAIT_EXIT.error;
    }
    if (!c) {
      io.stderr.write(`tendctl wait: ${stop.why === 'timeout' ? `timed out after ${formatDuration(o.timeoutMs)}` : 'interrupted'} before the agent answered\n`);
      return stop.why === 'timeout' ? WAIT_EXIT.timeout : WAIT_EXIT.interrupted;
    }
    const outcome = end.end === 'done' ? (c.converged ? 'converged' : 'failed') : stop.why === 'timeout' ? 'timeout' : 'interrupted';
    if (o.json) {
      await writeJson(io, { outcome, ready: c.ready, total: c.total, jobs: c.jobs, problems: c.problems, elapsedMs: Date.now() - t0 });
      return WAIT_EXIT[outcome];
    }
    if (outcome === 'converged') {
      await writeOut(io.stdout, `converged: ${c.ready}/${c.total} ${c.label} (${c.jobs.length} job${c.jobs.length === 1 ? '' : 's'}) in ${elapsed}\n`);
      return WAIT_EXIT.converged;
    }
    const events = await lastEvents(client, c);
    const head =
      outcome === 'failed' ? `cannot converge without an operator (${progressText(c)}):`
      : outcome === 'timeout' ? `timed out after ${formatDuration(o.timeoutMs)} (${progressText(c)}); not converged:`
      : `interrupted after ${elapsed} (${progressText(c)}); not converged:`;
    io.stderr.write(`tendctl wait: ${head}\n${problemLines(c.problems, events, Date.now()).join('\n')}\n`);
    return WAIT_EXIT[outcome];
  } finally {
    progress.close();
    stop.dispose();
  }
}
