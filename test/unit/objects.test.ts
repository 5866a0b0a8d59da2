import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'objects-shape.mts');

test('objects: merged and copied objects, and the store\'s events, share one hidden class (spread syntax gave one per object on this V8)', (t) => {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const counts = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  // What the helpers are for: on Node 20, `{ ...o, x }` made a class per object (51 = the count's cap).
  t.diagnostic(`spread then add: ${counts.spread} classes among 2,000 objects on node ${process.version}`);
  assert.equal(counts.merged, 1);
  assert.equal(counts.copied, 1);
  assert.equal(counts.events, 1, 'the store\'s events: one class for 2,000');
});
