/** The command registry for both binaries. Each command module registers itself here. */
import type { Command } from '../command.js';

export const tendCommands: Command[] = [];
export const tendctlCommands: Command[] = [];
