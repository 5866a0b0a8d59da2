/**
 * `tendctl status [JOB | JOB/GROUP[INDEX]/TASK]`: every task instance grouped
 * by job (and the jobs that do not run as written, with why); one job's
 * tasks; or one task's details, resolved spec and recent events.
 */
import type { Command, CommandIO } from '../command.js';
import type { JobView } from '../../api/api.js';
import type { TendClient } from '../../api/client.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, noColorFlag, paletteFor, writeJson, writeOut } from '../format/output.js';
import { renderJob, renderStatus, renderTask, showsStderr } from '../format/status.js';
import { describeError, isTendError, TendError } from '../../errors.js';
import { mayChangeSilently } from '../../api/converge.js';
import { runOnEvents } from '../on-events.js';
import { FullScreen, type Terminal } from '../format/screen.js';

const flags: FlagSpec[] = [
  jsonFlag,
  noColorFlag,
  { names: ['no-stats'], kind: 'bool', help: 'Skip CPU and memory figures (faster on big nodes).' },
  { names: ['verbose', 'v'], kind: 'bool', help: "With a task: also the full error of its last failure, as the runtime reported it." },
  { names: ['watch', 'w'], kind: 'bool', help: 'Keep the view up to date as events happen: redrawn in place on a terminal (Ctrl-C to quit), a snapshot under a "# TIME" line each time it changes when piped (with -json, one JSON document a line).' },
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl status [options] [JOB | JOB/GROUP[INDEX]/TASK]';
const description = `
Shows what runs on this node. Without an argument: one line per task instance,
grouped by job, then the jobs that do not run as their file says (invalid file,
constraints exclude this node, driver unavailable) and why.

With a job id: that job's tasks. With a task (an instance id or an unambiguous
prefix of one, e.g. web/server): its details, the resolved spec with the file it
came from, and its recent events; for a task that failed or waits to restart,
also the last lines of its stderr.

With -w the view follows the agent's event stream: it is fetched again after
each burst of events (at most 5 times a second), not on a timer. tendctl exits
1 when the agent goes away.`;

/** Lines of stderr `status TASK` shows for a task that failed. */
const STDERR_LINES = 5;

/** Events shown under a job's details. */
const RECENT_EVENTS = 10;

type Target = { kind: 'job'; job: JobView } | { kind: 'task'; id: string };

/** What the argument names: an exact job id, else one task instance, else a unique job prefix. */
export async function resolveStatusTarget(client: TendClient, arg: string, jobs: JobView[]): Promise<Target> {
  const exact = jobs.find((j) => j.id === arg);
  if (exact) return { kind: 'job', job: exact };
  const matches = await client.resolve(arg);
  if (matches.includes(arg) || matches.length === 1) return { kind: 'task', id: matches.includes(arg) ? arg : matches[0] };
  const jobMatches = arg.includes('/') ? [] : jobs.filter((j) => j.id.startsWith(arg));
  if (jobMatches.length === 1) return { kind: 'job', job: jobMatches[0] };
  if (matches.length === 0 && jobMatches.length === 0) {
    const suggestions = await client.suggestTasks(arg);
    throw new TendError('E_TASK_NOT_FOUND', `no job or task matches "${arg}"${suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?` : ' (tendctl status lists them)'}`, {
      details: { task: arg, suggestions },
    });
  }
  const all = [...jobMatches.map((j) => `${j.id} (job)`), ...matches];
  throw new TendError('E_TASK_AMBIGUOUS', `"${arg}" matches ${all.length} jobs and tasks; name one:\n${all.map((m) => `  ${m}`).join('\n')}`, { details: { task: arg, matches: all } });
}

const examples: Example[] = [
  { command: "tendctl status", what: "every task, grouped by job, and what does not run as written" },
  { command: "tendctl status web", what: "one job's tasks and recent events" },
  { command: "tendctl status 'web/server[0]/app'", what: "one task: details, resolved spec, events" },
  { command: "tendctl status -json | jq -r '.jobs[].id'", what: "job ids, for a script" },
  { command: 'tendctl status -w web', what: 'the same view, redrawn as events arrive (Ctrl-C to leave)' },
  { command: 'tendctl status -w -no-stats | tee status.log', what: 'piped: a snapshot under a time line each time the view changes' },
];

/** One look at what the argument names: the text (or JSON) `status` prints, and whether it may change without an event. */
interface Snapshot {
  text?: string;
  json?: unknown;
  settle: boolean;
}

interface ViewOptions {
  json: boolean;
  stats: boolean;
  verbose: boolean;
  palette: ReturnType<typeof paletteFor>;
}

async function snapshot(client: TendClient, target: Target | undefined, o: ViewOptions): Promise<Snapshot> {
  const p = o.palette;
  if (!target) {
    const [jobs, files, stats, node] = await Promise.all([
      client.jobs(),
      client.files(),
      o.stats ? client.stats().catch(() => undefined) : undefined,
      client.node().catch(() => undefined),
    ]);
    const disk = node?.disk;
    const settle = mayChangeSilently(jobs, files);
    if (o.json) {
      const withStats = stats ? jobs.map((j) => ({ ...j, tasks: j.tasks.map((t) => ({ ...t, stats: stats[t.id] ?? t.stats })) })) : jobs;
      return { json: { jobs: withStats, files, ...(disk ? { disk } : {}), ...(node ? { jobsRevision: node.jobsRevision ?? null } : {}) }, settle };
    }
    return { text: renderStatus({ jobs, files, stats, disk, revision: node?.jobsRevision }, { now: Date.now(), palette: p }), settle };
  }
  if (target.kind === 'task') {
    const task = await client.task(target.id, { stats: o.stats });
    const settle = task.state === 'stopping' || task.state === 'dead';
    if (o.json) return { json: task, settle };
    const stderr = showsStderr(task) ? await recentStderr(client, task.id) : undefined;
    return { text: renderTask(task, { now: Date.now(), palette: p, verbose: o.verbose, stderr }), settle };
  }
  const [jobs, files, stats, events] = await Promise.all([
    client.jobs(),
    client.files(),
    o.stats ? client.stats().catch(() => undefined) : undefined,
    client.events({ job: target.job.id, limit: RECENT_EVENTS }),
  ]);
  const job = jobs.find((j) => j.id === target.job.id);
  if (!job) return { text: `Job ${target.job.id}: no longer known to the agent (its file left the jobs dir and its tasks are gone).\n`, json: { job: target.job.id, gone: true }, settle: false };
  const settle = mayChangeSilently([job], files);
  if (o.json) return { json: job, settle };
  return { text: renderJob(job, files, stats, { now: Date.now(), palette: p, events }), settle };
}

/** The last lines of a task's stderr, for `status TASK` of a task that failed; undefined when they cannot be read. */
async function recentStderr(client: TendClient, id: string): Promise<string | undefined> {
  try {
    const parts: Buffer[] = [];
    for await (const chunk of client.logs(id, { stream: 'stderr', n: STDERR_LINES })) parts.push(chunk);
    return Buffer.concat(parts).toString('utf8');
  } catch {
    return undefined;
  }
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'Show tasks and jobs, or one job or task in detail',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['job-or-task'] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length > 1) throw new UsageError(`expected at most one JOB or TASK, got ${args.length} arguments`);
    const client = clientFromFlags(f, io);
    try {
      const o: ViewOptions = { json: f.json === true, stats: !f['no-stats'], verbose: f.verbose === true, palette: paletteFor(io, f['no-color']) };
      const target = args.length ? await resolveStatusTarget(client, args[0], await client.jobs()) : undefined;
      if (f.watch) return await watchStatus(client, target, args[0], o, io);
      const snap = await snapshot(client, target, o);
      if (o.json) await writeJson(io, snap.json);
      else await writeOut(io.stdout, snap.text ?? '');
      return 0;
    } finally {
      client.close();
    }
  },
};

/** `status -w`: the view again after each burst of events; in place on a terminal, snapshots when piped. */
async function watchStatus(client: TendClient, target: Target | undefined, arg: string | undefined, o: ViewOptions, io: CommandIO): Promise<number> {
  const tty = io.stdout.isTTY === true && !o.json;
  const screen = tty ? new FullScreen(io.stdout as unknown as Terminal) : undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const onPipeClosed = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  io.stdout.once('error', onPipeClosed);
  const title = `tendctl status -w${arg ? ` ${arg}` : ''}`;
  let lastText: string | undefined;
  let lastFrame = '';
  try {
    const end = await runOnEvents({
      client,
      query: target?.kind === 'task' ? { task: target.id } : {},
      // A job's view also shows its file's errors: file events carry no job.
      relevant: target?.kind === 'job' ? (e) => (e.job ?? e.task?.split('/')[0]) === target.job.id || (e.file !== undefined && !e.job && !e.task) : undefined,
      signal: stop.signal,
      refresh: async () => {
        let snap: Snapshot;
        try {
          snap = await snapshot(client, target, o);
        } catch (err) {
          if (isTendError(err) && err.code === 'E_AGENT_UNREACHABLE') throw err;
          // The task went away, say: show why, and keep watching (it may come back).
          snap = { text: `${describeError(err)}\n`, json: { error: describeError(err) }, settle: false };
        }
        const now = new Date();
        if (screen) {
          lastFrame = snap.text ?? '';
          screen.draw(`${o.palette.dim(`${title} · ${now.toTimeString().slice(0, 8)} · Ctrl-C to quit`)}\n\n${lastFrame}`);
        } else if (o.json) {
          await writeOut(io.stdout, JSON.stringify(snap.json) + '\n');
        } else if (snap.text !== lastText) {
          await writeOut(io.stdout, `${lastText === undefined ? '' : '\n'}# ${now.toISOString()}\n${snap.text}`);
        }
        lastText = snap.text;
        return { settle: snap.settle };
      },
    });
    screen?.close();
    // The last view stays on the normal screen.
    if (screen && lastFrame) await writeOut(io.stdout, lastFrame);
    if (end.end === 'agent-gone') {
      const why = end.error ? `: ${describeError(end.error)}` : ' (did it stop?)';
      io.stderr.write(`tendctl status: the agent ended the event stream${why}\n`);
      return 1;
    }
    return 0;
  } finally {
    screen?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    io.stdout.off('error', onPipeClosed);
  }
}
