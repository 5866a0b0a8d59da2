import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { DEFAULT_UPDATE } from '../../../src/jobspec/update.js';

const job = (jobUpdate: string, groupUpdate: string, type = 'service') => `job "w" {
  type = "${type}"
${jobUpdate ? `  update {\n${jobUpdate}\n  }` : ''}
  group "a" {
${groupUpdate ? `    update {\n${groupUpdate}\n    }` : ''}
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
  group "b" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`;

const errors = async (src: string) => (await loadText('w.hcl', src)).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);

test('jobspec update: a service job without a block gets Nomad\'s default strategy in every group; a batch job none', async () => {
  const r = await loadText('w.hcl', job('', ''));
  assert.deepEqual(r.diagnostics, []);
  for (const g of r.jobs[0].groups) assert.deepEqual(g.update, DEFAULT_UPDATE);
  assert.deepEqual(DEFAULT_UPDATE, {
    maxParallel: 1, healthCheck: 'checks', minHealthyTimeMs: 10_000, healthyDeadlineMs: 300_000, progressDeadlineMs: 600_000, autoRevert: false, staggerMs: 30_000, canary: 0, autoPromote: false,
  });
  const batch = await loadText('w.hcl', job('    max_parallel = 2', '', 'batch'));
  assert.ok(batch.ok);
  assert.equal(batch.jobs[0].groups[0].update, undefined);
});

test('jobspec update: the job\'s block applies to every group, the group\'s fields win over it', async () => {
  const r = await loadText('w.hcl', job('    max_parallel = 2\n    min_healthy_time = "1s"\n    auto_revert = true', '    max_parallel = 1\n    health_check = "task_states"\n    healthy_deadline = "30s"'));
  assert.deepEqual(r.diagnostics, []);
  const [a, b] = r.jobs[0].groups;
  assert.deepEqual(a.update, { ...DEFAULT_UPDATE, maxParallel: 1, minHealthyTimeMs: 1000, autoRevert: true, healthCheck: 'task_states', healthyDeadlineMs: 30_000 });
  assert.deepEqual(b.update, { ...DEFAULT_UPDATE, maxParallel: 2, minHealthyTimeMs: 1000, autoRevert: true });
});

test('jobspec update: Nomad\'s checks are errors at the field, reported once for a block of the job', async () => {
  assert.deepEqual(await errors(job('    max_parallel = -1', '')), ['4: expected max_parallel >= 0, got -1']);
  assert.deepEqual(await errors(job('', '      min_healthy_time = "10m"')), ['6: expected min_healthy_time (10m) to be less than healthy_deadline (5m)']);
  assert.deepEqual(await errors(job('    healthy_deadline = "20m"', '')), ['4: expected healthy_deadline (20m) to be less than progress_deadline (10m), or progress_deadline = 0']);
  assert.deepEqual(await errors(job('    healthy_deadline = "20m"\n    progress_deadline = "0s"', '')), []);
  assert.deepEqual(await errors(job('', '      health_check = "tasks"')), ['6: expected one of "checks", "task_states", "manual", got "tasks"']);
  assert.deepEqual(await errors(job('    min_healthy_time = "soon"', '')), ['4: expected a duration like "30s", got "soon"']);
});
