/**
 * `tendctl completion bash|zsh`: print a shell completion script, generated
 * from the command definitions (src/cli/completion.ts); and the hidden
 * `tendctl __complete KIND` that the scripts run for live names.
 */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { writeOut } from '../format/output.js';
import { completionScript, NAME_KINDS, SHELLS, type NameKind, type Shell } from '../completion.js';
import { tendctlCommands } from './index.js';

const flags: FlagSpec[] = [helpFlag];

const usage = 'tendctl completion bash|zsh';
const description = `
Prints a completion script for bash or zsh: commands, each command's flags,
subcommands, and live task, job and service names from the agent (asked when
you press TAB, with the -address and -token typed on the line, else
TEND_ADDR; nothing is offered when no agent answers). bash needs 4.0 or later.`;

const examples: Example[] = [
  { command: 'source <(tendctl completion bash)', what: 'in ~/.bashrc' },
  { command: 'tendctl completion bash > /etc/bash_completion.d/tendctl', what: 'for every user' },
  { command: 'tendctl completion zsh > "${fpath[1]}/_tendctl"', what: 'zsh: a file on $fpath (then compinit)' },
];

/** Every visible tendctl command, loaded (the script lists their flags). */
export async function visibleCommands(): Promise<Command[]> {
  return Promise.all(tendctlCommands.filter((c) => !c.hidden).map((c) => c.load()));
}

export const completionCommand: Command = {
  name: 'completion',
  summary: 'Print a shell completion script (bash, zsh)',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: [{ words: SHELLS }] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { args } = parseFlags(argv, flags);
    const shell = args[0] as Shell | undefined;
    if (args.length !== 1 || !SHELLS.includes(shell!)) throw new UsageError(`expected one shell, bash or zsh, got ${args.length ? `"${args.join(' ')}"` : 'none'}`);
    await writeOut(io.stdout, completionScript(shell!, 'tendctl', await visibleCommands()));
    return 0;
  },
};

const completeFlags: FlagSpec[] = [...connectionFlags, helpFlag];
/** How long the agent gets to answer before a TAB gives up (the shell waits meanwhile). */
const COMPLETE_TIMEOUT_MS = 2000;

/** The names of one kind, sorted: task instance ids, job ids, both, or service names. */
export async function namesOf(kind: NameKind, client: Pick<ReturnType<typeof clientFromFlags>, 'jobs' | 'services'>): Promise<string[]> {
  const out = new Set<string>();
  if (kind === 'service') for (const s of await client.services()) out.add(s.name);
  else {
    for (const j of await client.jobs()) {
      if (kind !== 'task') out.add(j.id);
      if (kind !== 'job') for (const t of j.tasks) out.add(t.id);
    }
  }
  return [...out].sort();
}

export const completeCommand: Command = {
  name: '__complete',
  summary: 'Internal: names for shell completion',
  help: () => formatHelp('tendctl __complete task|job|job-or-task|service [-address ADDR] [-token TOKEN]', 'Prints live names, one a line, for the completion scripts. Silent when no agent answers (exit 1).', completeFlags),
  flags: completeFlags,
  async run(argv: string[], io: CommandIO): Promise<number> {
    let parsed;
    try {
      parsed = parseFlags(argv, completeFlags);
    } catch {
      return 1;
    }
    const kind = parsed.args[0] as NameKind;
    if (parsed.args.length !== 1 || !NAME_KINDS.includes(kind)) return 1;
    let client;
    try {
      client = clientFromFlags(parsed.flags, io);
    } catch {
      return 1;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const names = await Promise.race([
        namesOf(kind, client),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), COMPLETE_TIMEOUT_MS);
          timer.unref();
        }),
      ]);
      await writeOut(io.stdout, names.map((n) => `${n}\n`).join(''));
      return 0;
    } catch {
      return 1;
    } finally {
      clearTimeout(timer);
      client.close();
    }
  },
};
