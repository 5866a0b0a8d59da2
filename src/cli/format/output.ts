/**
 * Writing a command's output: colour only for a terminal, JSON for scripts,
 * and writes that respect backpressure (a follow piped into a slow reader
 * must not buffer without bound).
 */
import type { CommandIO } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { palette, shouldColor, type Palette } from './color.js';

export const jsonFlag: FlagSpec = { names: ['json'], kind: 'bool', help: 'Print JSON instead of text.' };
export const noColorFlag: FlagSpec = { names: ['no-color'], kind: 'bool', help: 'Never colour the output (also: NO_COLOR, or stdout not a terminal).' };

export function paletteFor(io: Pick<CommandIO, 'stdout' | 'env'>, noColor?: unknown): Palette {
  return palette(shouldColor({ isTTY: io.stdout.isTTY, env: io.env, noColor: noColor === true }));
}

/** Writes and waits for the stream to take more when its buffer is full. */
export function writeOut(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

export function writeJson(io: Pick<CommandIO, 'stdout'>, value: unknown): Promise<void> {
  return writeOut(io.stdout, JSON.stringify(value, null, 2) + '\n');
}
