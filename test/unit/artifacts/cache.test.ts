import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ArtifactCache } from '../../../src/artifacts/cache.js';

test('cache: staging dirs left by a dead agent are swept after a day; fresh ones stay', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-cache-'));
  const c = new ArtifactCache(dir);
  await c.init();
  const old = path.join(c.tmp, `${(Date.now() - 2 * 86_400_000).toString(36)}-abc`);
  await fs.mkdir(old);
  const fresh = await c.staging();
  await new ArtifactCache(dir).init();
  assert.deepEqual(await fs.readdir(c.tmp), [path.basename(fresh)]);
  await fs.rm(dir, { recursive: true });
});
