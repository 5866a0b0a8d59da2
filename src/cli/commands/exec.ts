/** `tendctl exec [-i] [-t] TASK -- CMD [ARG…]`: run a command inside a task; its exit code is tendctl's. */
import { spawnSync } from 'node:child_process';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { writeOut } from '../format/output.js';

const flags: FlagSpec[] = [
  { names: ['i', 'interactive'], kind: 'bool', help: "Pass tendctl's stdin to the command (its end closes the command's stdin)." },
  { names: ['t', 'tty'], kind: 'bool', help: 'Run the command on a terminal of its own, of this terminal\'s size and following its resizes (for shells and full-screen programs; with -i, keys go through raw: ^C reaches the command).' },
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl exec [options] TASK -- CMD [ARG…]';
const description = `
Runs CMD inside a running task: in its namespaces, root and cgroup for exec
tasks, in its dir and environment for raw_exec tasks. The command's stdout and
stderr are printed as they come; tendctl exits with the command's exit code
(128+N when a signal N ended it).

  tendctl exec -i -t web -- /bin/sh     an interactive shell inside the task

With -t the command gets a terminal of its own: under the oci executor the
runtime's (runc's, through conmon), inside the task, so job control and \`tty\`
work as on a login; under the plain executor one on the host (util-linux
script). It starts at this terminal's size (24×80 when there is none) and
follows its resizes; TERM is this terminal's. With -i -t keys go through raw:
^C, ^Z and ^D reach the command. Under the oci executor a terminal needs perl
(Debian's perl-base) on the host, to talk to conmon's attach socket.`;

const examples: Example[] = [
  { command: "tendctl exec web -- ps aux", what: "the processes the task sees" },
  { command: "tendctl exec -i web -- sh -c 'cat >local/seed.sql' <seed.sql", what: "copy a file into the task" },
];

export const execCommand: Command = {
  name: 'exec',
  summary: 'Run a command inside a task',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['task'] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args, rest } = parseFlags(argv, flags);
    if (args.length === 0) throw new UsageError('expected TASK -- CMD [ARG…]');
    const command = rest.length ? rest : args.slice(1);
    if (rest.length && args.length > 1) throw new UsageError(`expected one TASK before --, got ${args.join(' ')}`);
    if (command.length === 0 || !command[0]) throw new UsageError('missing command: expected TASK -- CMD [ARG…]');
    const client = clientFromFlags(f, io);
    const interactive = f.i === true;
    const stdin = io.stdin as NodeJS.ReadStream;
    const out = io.stdout as NodeJS.WriteStream;
    const err = io.stderr as NodeJS.WriteStream;
    // The terminal whose size the remote one takes, and follows (SIGWINCH: 'resize').
    const local = out.isTTY ? out : err.isTTY ? err : undefined;
    const size = () => ({ rows: local?.rows || 24, cols: local?.columns || 80 });
    const tty = f.t === true ? size() : undefined;
    const term = io.env.TERM;
    // Keys go to the remote terminal as typed: its line discipline echoes and turns ^C into SIGINT.
    const raw = Boolean(tty && interactive && stdin.isTTY && typeof stdin.setRawMode === 'function');
    if (raw) {
      stdin.setRawMode(true);
      // Node's raw mode keeps output processing (ONLCR): the remote terminal's bytes must show as they are
      // (a full-screen program moves down with a bare \n). setRawMode(false) restores the saved settings.
      if (stdin === process.stdin) spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
    }
    let onResize: (() => void) | undefined;
    try {
      const session = await client.exec(args[0], command, { ...(interactive ? { stdin: io.stdin } : {}), ...(tty ? { tty, ...(term ? { term } : {}) } : {}) });
      if (tty && local) {
        onResize = () => session.resize(size());
        local.on('resize', onResize);
      }
      const copy = async (from: NodeJS.ReadableStream, to: NodeJS.WritableStream) => {
        for await (const chunk of from) await writeOut(to, chunk as Buffer);
      };
      const [code] = await Promise.all([session.exit, copy(session.stdout, io.stdout), copy(session.stderr, io.stderr)]);
      return code;
    } finally {
      if (onResize) local?.off('resize', onResize);
      if (raw) stdin.setRawMode(false);
      if (interactive) {
        // Let go of a terminal or pipe still open, so tendctl can exit.
        io.stdin.unpipe();
        io.stdin.pause();
        (io.stdin as { unref?: () => void }).unref?.();
      }
      client.close();
    }
  },
};
