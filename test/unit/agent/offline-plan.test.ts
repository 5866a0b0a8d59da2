import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { offlinePlan } from '../../../src/agent/offline-plan.js';

const job = (name: string, block: string) => `job "${name}" {
  type = "batch"
${block}
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`;

test('offline plan: periodic and parameterized jobs start nothing at load; a plain job starts', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-plan-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'plain.hcl'), job('plain', ''));
  await writeFile(path.join(dir, 'cron.hcl'), job('cron', '  periodic {\n    cron = "@daily"\n  }'));
  await writeFile(path.join(dir, 'render.hcl'), job('render', '  parameterized {\n    meta_optional = ["run"]\n  }'));
  const plan = await offlinePlan(dir);
  assert.deepEqual(plan.files.map((f) => [path.basename(f.path), f.ok]).sort(), [['cron.hcl', true], ['plain.hcl', true], ['render.hcl', true]]);
  assert.deepEqual(plan.actions.map((a) => [a.kind, a.task]), [['start', 'plain/g[0]/t']]);
});
