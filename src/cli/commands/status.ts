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
import { renderJob, renderStatus, renderTask } from '../format/status.js';
import { TendError } from '../../errors.js';

const flags: FlagSpec[] = [
  jsonFlag,
  noColorFlag,
  { names: ['no-stats'], kind: 'bool', help: 'Skip CPU and memory figures (faster on big nodes).' },
  { names: ['verbose', 'v'], kind: 'bool', help: "With a task: also the full error of its last failure, as the runtime reported it." },
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
came from, and its recent events.`;

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
];

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
      const p = paletteFor(io, f['no-color']);
      const wantStats = !f['no-stats'];
      if (args.length === 0) {
        const [jobs, files, stats, node] = await Promise.all([
          client.jobs(),
          client.files(),
          wantStats ? client.stats().catch(() => undefined) : undefined,
          client.node().catch(() => undefined),
        ]);
        const disk = node?.disk;
        if (f.json) {
          const withStats = stats ? jobs.map((j) => ({ ...j, tasks: j.tasks.map((t) => ({ ...t, stats: stats[t.id] ?? t.stats })) })) : jobs;
          await writeJson(io, { jobs: withStats, files, ...(disk ? { disk } : {}), ...(node ? { jobsRevision: node.jobsRevision ?? null } : {}) });
        } else {
          await writeOut(io.stdout, renderStatus({ jobs, files, stats, disk, revision: node?.jobsRevision }, { now: Date.now(), palette: p }));
        }
        return 0;
      }
      const jobs = await client.jobs();
      const target = await resolveStatusTarget(client, args[0], jobs);
      if (target.kind === 'task') {
        const task = await client.task(target.id, { stats: wantStats });
        if (f.json) await writeJson(io, task);
        else await writeOut(io.stdout, renderTask(task, { now: Date.now(), palette: p, verbose: f.verbose === true }));
        return 0;
      }
      const [files, stats, events] = await Promise.all([
        client.files(),
        wantStats ? client.stats().catch(() => undefined) : undefined,
        client.events({ job: target.job.id, limit: RECENT_EVENTS }),
      ]);
      if (f.json) await writeJson(io, target.job);
      else await writeOut(io.stdout, renderJob(target.job, files, stats, { now: Date.now(), palette: p, events }));
      return 0;
    } finally {
      client.close();
    }
  },
};
