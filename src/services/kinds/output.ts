/** What the check kinds share: outputs cut to Consul's 4 KiB, durations as the job file writes them. */
import { formatDuration } from '../../jobspec/duration.js';
import { OUTPUT_MAX } from '../services.js';

/** `text` cut to OUTPUT_MAX bytes (on a character boundary). */
export function outputOf(text: string): string {
  if (text.length <= OUTPUT_MAX / 4 || Buffer.byteLength(text) <= OUTPUT_MAX) return text;
  return Buffer.from(text).subarray(0, OUTPUT_MAX).toString('utf8').replace(/\uFFFD$/, '');
}

/** "2s", "1m30s". */
export function fmtTimeout(ms: number): string {
  return formatDuration(ms);
}
