/**
 * Wait for a condition with a deadline instead of sleeping a fixed time.
 *
 *   await waitFor(() => pidsOf(id).length === 0, { what: 'cgroup to empty' });
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Poll this often (default 10 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
}

export async function waitFor(fn: () => boolean | Promise<boolean>, { timeoutMs = 5000, intervalMs = 10, what }: WaitOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
