/** `tend`: the agent binary. */
import { runCli } from './main.js';
import { tendCommands } from './commands/index.js';

const intro = 'tend keeps the tasks running on this machine equal to a directory of Nomad-style job files.';
process.exitCode = await runCli('tend', intro, tendCommands, process.argv.slice(2));
