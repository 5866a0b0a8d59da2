import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';

const job = (periodic: string, type = 'batch') => `job "p" {
  type = "${type}"
  periodic {
${periodic}
  }
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

const errors = async (src: string) => (await loadText('p.hcl', src)).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);

test('jobspec periodic: cron, crons, prohibit_overlap, time_zone and enabled reach the model; no warning', async () => {
  const r = await loadText('p.hcl', job('    cron = "*/5 * * * *"\n    crons = ["@daily"]\n    prohibit_overlap = true\n    time_zone = "Europe/Berlin"\n    enabled = false'));
  assert.deepEqual(r.diagnostics, []);
  const p = r.jobs[0].periodic!;
  assert.deepEqual({ ...p, pos: undefined }, { crons: ['*/5 * * * *', '@daily'], prohibitOverlap: true, timeZone: 'Europe/Berlin', enabled: false, pos: undefined });
  const d = (await loadText('p.hcl', job('    crons = ["0 3 * * *"]'))).jobs[0].periodic!;
  assert.equal(d.timeZone, 'UTC');
  assert.equal(d.enabled, true);
  assert.equal(d.prohibitOverlap, false);
});

test('jobspec periodic: a bad cron, an unknown time zone, no cron, a service job are errors at their line', async () => {
  assert.deepEqual(await errors(job('    cron = "61 * * * *"')), ['4: expected a cron expression of 5 fields (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly, got "61 * * * *" (Invalid value for minute: 61)']);
  const sixFields = await errors(job('    crons = ["*/2 * * * * *"]'));
  assert.equal(sixFields.length, 1);
  assert.match(sixFields[0], /^4: expected a cron expression of 5 fields/);
  assert.deepEqual(await errors(job('    cron = "@daily"\n    time_zone = "Mars/Olympus"')), ['5: expected an IANA time zone (e.g. "UTC", "Europe/Berlin"), got "Mars/Olympus"']);
  assert.deepEqual(await errors(job('    prohibit_overlap = true')), ['3: expected cron or crons in periodic, got neither']);
  assert.deepEqual(await errors(job('    cron = "@daily"', 'service')), ['3: periodic: expected a batch job (Nomad runs periodic jobs as batch or sysbatch only), got type "service"']);
});
