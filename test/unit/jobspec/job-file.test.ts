import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { notJobFileReason } from '../../../src/jobspec/job-file.js';

const job = 'job "j" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/true"\n      }\n    }\n  }\n}\n';

test('job file: files with no job-like key at the top level are not job files', () => {
  assert.equal(notJobFileReason({ $schema: 'x', extends: ['config:recommended'] }), 'not a job file: no job block');
  assert.equal(notJobFileReason({ name: 'jobs', version: '1.0.0', scripts: {} }), 'not a job file: no job block');
  assert.equal(notJobFileReason({ data_dir: '/var/lib/tend', client: {} }), 'not a job file: no job block (it looks like an agent config)');
  assert.equal(notJobFileReason({ region: 'eu', replicas: 3 }), 'not a job file: no job block');
});

test('job file: a job, a job-like key, a near miss of one, or nothing at all is a job file', () => {
  for (const top of [{ job: {} }, { Job: {} }, { jbo: {} }, { jobs: {} }, { variable: {} }, { locals: {} }, { group: {} }, { task: {} }, { varible: {} }, {}]) {
    assert.equal(notJobFileReason(top), undefined, JSON.stringify(top));
  }
});

test('job file: the loader skips what is not a job file, with the reason and no diagnostic', async () => {
  for (const [file, text] of [
    ['renovate.json', '{"extends": ["config:recommended"]}'],
    ['pyproject.toml', '[project]\nname = "x"\n'],
    ['agent.hcl', 'data_dir = "/var/lib/tend"\nclient {\n  node_class = "edge"\n}\n'],
    ['prod.vars.hcl', 'region = "eu"\n'],
  ]) {
    const r = await loadText(file, text);
    assert.ok(r.ok, file);
    assert.deepEqual([r.jobs, r.diagnostics], [[], []], file);
    assert.match(r.skipped ?? '', /^not a job file: no job block/, file);
  }
});

test('job file: a file that tries to be a job and is broken stays an error', async () => {
  const cases: [string, string, RegExp][] = [
    ['typo.hcl', job.replace('job "j"', 'jbo "j"'), /unknown field "jbo"/],
    ['syntax.hcl', job.replace('driver =', 'driver'), /./],
    ['syntax.json', '{"extends": [}', /./],
    ['empty.hcl', '', /expected a "job" block, got none/],
    ['comments.hcl', '# job "j" is being written\n', /expected a "job" block, got none/],
    ['vars-only.hcl', 'variable "n" {\n  default = 1\n}\n', /expected a "job" block, got none/],
    ['group-only.hcl', 'group "g" {\n}\n', /unknown field "group"/],
    ['Upper.json', '{"JOB": {}}', /unknown field "JOB"/],
  ];
  for (const [file, text, message] of cases) {
    const r = await loadText(file, text);
    assert.equal(r.skipped, undefined, file);
    assert.equal(r.ok, false, file);
    assert.ok(r.diagnostics.some((d) => d.severity === 'error' && message.test(d.message)), `${file}: ${JSON.stringify(r.diagnostics)}`);
  }
});
