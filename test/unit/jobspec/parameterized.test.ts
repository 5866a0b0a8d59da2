import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { payloadFileSegments } from '../../../src/jobspec/dispatch-payload.js';

const job = (parameterized: string, o: { type?: string; payload?: string; periodic?: string } = {}) => `job "p" {
  type = "${o.type ?? 'batch'}"
  parameterized {
${parameterized}
  }
${o.periodic ?? ''}
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
${o.payload ?? ''}
    }
  }
}
`;

const errors = async (src: string) => (await loadText('p.hcl', src)).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);

test('jobspec parameterized: payload, meta_required, meta_optional and dispatch_payload reach the model; no warning', async () => {
  const r = await loadText('p.hcl', job('    payload       = "required"\n    meta_required = ["run"]\n    meta_optional = ["mode", "level"]', { payload: '      dispatch_payload {\n        file = "in/config.json"\n      }' }));
  assert.deepEqual(r.diagnostics, []);
  const p = r.jobs[0].parameterized!;
  assert.deepEqual({ ...p, pos: undefined }, { payload: 'required', metaRequired: ['run'], metaOptional: ['mode', 'level'], pos: undefined });
  assert.equal(p.pos.line, 3);
  assert.deepEqual(r.jobs[0].groups[0].tasks[0].dispatchPayload, { file: 'in/config.json' });
  const d = (await loadText('p.hcl', job(''))).jobs[0].parameterized!;
  assert.equal(d.payload, 'optional', 'Nomad\'s default');
  assert.deepEqual([d.metaRequired, d.metaOptional], [[], []]);
});

test('jobspec parameterized: a bad payload mode, keys in both lists, a service job are errors at their line', async () => {
  const bad = await errors(job('    payload = "sometimes"'));
  assert.equal(bad.length, 1);
  assert.match(bad[0], /^4: expected one of "optional", "required", "forbidden", got "sometimes"$/);
  assert.deepEqual(await errors(job('    meta_required = ["a", "b"]\n    meta_optional = ["b", "c", "a"]')), ['5: expected meta_required and meta_optional to be disjoint, got "a", "b" in both']);
  assert.deepEqual(await errors(job('', { type: 'service' })), ['3: parameterized: expected a batch job (Nomad runs parameterized jobs as batch or sysbatch only), got type "service"']);
  assert.deepEqual(await errors(job('    meta_required = ["a\\u0000b"]')), ['4: expected a meta key without NUL bytes, got "a\\u{0000}b"']);
});

test('jobspec parameterized: also periodic is accepted, as Nomad (each dispatched child runs on the schedule)', async () => {
  const r = await loadText('p.hcl', job('    meta_required = ["run"]', { periodic: '  periodic {\n    cron = "@daily"\n  }' }));
  assert.deepEqual(r.diagnostics, []);
  assert.ok(r.jobs[0].periodic && r.jobs[0].parameterized);
});

test('jobspec dispatch_payload: the file stays inside local/ (attacker: "../../x", absolute, a dir), at its line', async () => {
  const at = (file: string) => errors(job('', { payload: `      dispatch_payload {\n        file = ${JSON.stringify(file)}\n      }` }));
  for (const [file, why] of [
    ['../../x', '".." leaves local/'],
    ['a/../../x', '".." leaves local/'],
    ['/etc/passwd', 'an absolute path'],
    ['out/', 'names a dir, not a file'],
    ['.', 'names a dir, not a file'],
  ]) {
    const e = await at(file);
    assert.equal(e.length, 1, `${file}: ${e.join('; ')}`);
    assert.ok(e[0].startsWith(`14: expected a relative file path inside the task's local/ dir (no "..", not absolute), got ${JSON.stringify(file)} (${why}`), e[0]);
  }
  assert.deepEqual(await at('./a/./b.json'), []);
  assert.deepEqual(payloadFileSegments('./a/./b.json'), { segments: ['a', 'b.json'] });
  assert.deepEqual(payloadFileSegments('x'.repeat(255)), { segments: ['x'.repeat(255)] });
  assert.match((payloadFileSegments(`a/${'x'.repeat(256)}`) as { problem: string }).problem, /longer than 255 bytes/);
  // `file = ""`: Nomad writes nothing, neither does tend; not an error.
  const empty = await loadText('p.hcl', job('', { payload: '      dispatch_payload {\n        file = ""\n      }' }));
  assert.deepEqual(empty.diagnostics, []);
  assert.equal(empty.jobs[0].groups[0].tasks[0].dispatchPayload, undefined);
});
