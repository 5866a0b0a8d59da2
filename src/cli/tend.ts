/** `tend`: the agent binary. */
import { runCli } from './main.js';
import { tendCommands, tendIntro } from './commands/index.js';

process.exitCode = await runCli('tend', tendIntro, tendCommands, process.argv.slice(2));
