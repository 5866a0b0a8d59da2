/**
 * Shared dispatcher for `tend` and `tendctl`: `<prog> <command> [flags] [args]`,
 * `<prog> -help`, `<prog> <command> -help`, `<prog> -version`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { UsageError } from './flags.js';
import { defaultIO, type Command, type CommandIO } from './command.js';
import { describeError, isTendError } from '../errors.js';

/** A command known by name and summary; its module is imported only to run it or show its help. */
export interface LazyCommand {
  name: string;
  summary: string;
  load(): Promise<Command>;
  /** Internal (`__complete`): runs, but is not listed, suggested, completed or in the man page. */
  hidden?: boolean;
}

export function version(): string {
  try {
    return JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export async function runCli(prog: string, intro: string, commands: LazyCommand[], argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  const overview = () =>
    [
      `Usage: ${prog} <command> [options] [args]`,
      '',
      intro,
      '',
      'Commands:',
      ...commands.filter((c) => !c.hidden).map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
      '',
      `Run "${prog} <command> -help" for a command's options.`,
      '',
    ].join('\n');
  const [first, ...rest] = argv;
  if (!first || ['-h', '-help', '--help', 'help'].includes(first)) {
    if (first === 'help' && rest[0]) return runCli(prog, intro, commands, [rest[0], '-help'], io);
    io.stdout.write(overview());
    return first ? 0 : 1;
  }
  if (['-v', '-version', '--version', 'version'].includes(first)) {
    io.stdout.write(`${prog} ${version()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    const near = commands.find((c) => !c.hidden && c.name.startsWith(first.slice(0, 3)));
    io.stderr.write(`${prog}: unknown command "${first}"${near ? ` (did you mean "${near.name}"?)` : ''}\n\n${overview()}`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.some((a) => ['-h', '-help', '--help'].includes(a)) && !rest.includes('--')) {
    io.stdout.write(cmd.help() + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${prog} ${cmd.name}: ${err.message}\nRun "${prog} ${cmd.name} -help" for usage.\n`);
      return cmd.errorExitCode ?? 2;
    }
    const code = isTendError(err) ? ` [${err.code}]` : '';
    // The code ends the first line: a message that lists things below (the instances of an ambiguous task) keeps its list clean.
    const [first, ...rest] = describeError(err).split('\n');
    io.stderr.write(`${prog} ${cmd.name}: ${first}${code}\n${rest.map((l) => `${l}\n`).join('')}`);
    if (io.env.TEND_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
    return cmd.errorExitCode ?? 1;
  }
}
