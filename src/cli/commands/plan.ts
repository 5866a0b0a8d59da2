/** `tendctl plan [DIR]`: what the agent would do for the files in DIR, as `nomad job plan` prints it. */
import path from 'node:path';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';
import { formatPlan } from '../format/plan.js';
import { isTendError } from '../../errors.js';
import type { Plan } from '../../api/api.js';

const flags: FlagSpec[] = [
  { names: ['verbose', 'v'], kind: 'bool', help: 'Also list tasks that stay as they are, the fields of tasks to start, and env and artifact values.' },
  jsonFlag,
  ...connectionFlags,
  helpFlag,
];

/** Exit codes, as `nomad job plan`. */
export const PLAN_NO_CHANGES = 0;
export const PLAN_CHANGES = 1;
export const PLAN_ERROR = 255;

const usage = 'tendctl plan [options] [DIR]';
const description = `
Prints what the agent would do for the job files in DIR (default: the agent's
jobs dir) against what runs now, without doing it. Per job and group, each
task with its action and why, then each changed field, old → new:

  +   start     a new task instance
  -   stop      an instance no longer in the job files
  ~   update    applied to the running process: resources (in place),
                templates (re-rendered), kill and restart policy (kept)
  +/- restart   a field that needs a new process changed (forces restart)
  !   held      a change not applied yet (its ports are taken)

  +/- Task: "server" [0] (forces restart)
      +/- args: ["3600"] → ["3601"] (forces restart)
      +/- resources.memory: 64 → 96

Env and artifact values show as (changed) unless -verbose; template data is
never shown. Without a running agent, DIR is planned against nothing
running: every task is a start.

Exit code (as nomad job plan): 0 no changes, 1 changes, 255 an error (the
agent unreachable without DIR, a file that does not load, a bad flag).`;

const examples: Example[] = [
  { command: "tendctl plan", what: "the jobs dir against what runs" },
  { command: "tendctl plan ./jobs", what: "a checkout before it is applied" },
  { command: "tendctl plan -json ./jobs | jq '.actions[] | select(.kind != \"none\")'", what: "the actions, for a script" },
];

export const planCommand: Command = {
  name: 'plan',
  summary: 'Show what the agent would do for a jobs dir',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['dir'] },
  errorExitCode: PLAN_ERROR,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length > 1) throw new UsageError(`expected at most one DIR, got ${args.length} arguments`);
    const dir = args[0] ? path.resolve(io.cwd, args[0]) : undefined;
    const detail = { verbose: f.verbose === true };
    const client = clientFromFlags(f, io);
    let plan: Plan;
    let note = '';
    try {
      plan = await client.plan(dir, detail);
    } catch (err) {
      if (!isTendError(err, 'E_AGENT_UNREACHABLE') || !dir) throw err;
      // Loaded only when needed: the job file loader and its modules (its HCL parser process starts on the first parse).
      const { offlinePlan } = await import('../../agent/offline-plan.js');
      plan = await offlinePlan(dir, detail);
      note = 'Agent not running: planned against no running tasks.\n\n';
    } finally {
      client.close();
    }
    if (f.json) await writeJson(io, plan);
    else await writeOut(io.stdout, note + formatPlan(plan, detail));
    if (plan.files.some((file) => file.diagnostics.some((d) => d.severity === 'error'))) return PLAN_ERROR;
    return plan.actions.some((a) => a.kind !== 'none') ? PLAN_CHANGES : PLAN_NO_CHANGES;
  },
};
