/** Teardown: the allocation's dir goes with the last of its tasks (mount points inside are left and reported). */
import { removeAllocDir } from '../../drivers/alloc-dir.js';
import { describeError } from '../../errors.js';
import type { TeardownHook } from '../hooks.js';

export const allocDirHook: TeardownHook = {
  name: 'alloc-dir',
  async teardown({ record, dataDir, lastOfAlloc, logger }) {
    if (!lastOfAlloc) return;
    await removeAllocDir(dataDir, record.allocId).then(
      (left) => left.length && logger.warn({ left }, 'alloc dir partly left: mount points inside'),
      (err: unknown) => logger.warn({ err: describeError(err) }, 'failed to remove alloc dir'),
    );
  },
};
