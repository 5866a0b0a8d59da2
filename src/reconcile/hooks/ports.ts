/**
 * Teardown: an allocation's ports go back to the port book with the last of its tasks (unless the
 * allocation is still desired: a task renamed in a group that stays), so an allocation waiting for
 * them gets them at the next pass rather than the next resync.
 */
import type { TeardownHook } from '../hooks.js';

export function portsHook(book: { release(allocId: string): void }): TeardownHook {
  return {
    name: 'ports',
    async teardown({ record, lastOfAlloc }) {
      if (lastOfAlloc) book.release(record.allocId);
    },
  };
}
