import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadText } from '../../../src/jobspec/load.js';

const job = (artifact: string) => `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      artifact {
${artifact}
      }
    }
  }
}
`;

test('validate: an S3/GCS/hg source is an unsupported error naming the type, at the source line', async () => {
  for (const [src, type] of [['s3::https://s3.amazonaws.com/b/k', 's3'], ['https://b.s3.amazonaws.com/k', 's3'], ['gcs::https://www.googleapis.com/storage/v1/b/o', 'gcs'], ['hg::https://h/r', 'hg']]) {
    const r = await loadText('j.hcl', job(`        source = "${src}"`));
    assert.equal(r.ok, false, src);
    const d = r.diagnostics.find((x) => x.severity === 'error')!;
    assert.equal(d.kind, 'unsupported');
    assert.match(d.message, new RegExp(`"${type}"`));
    assert.equal(d.line, 7);
  }
});

test('validate: a malformed checksum is an error at the option; a bad destination at the destination', async () => {
  const r = await loadText('j.hcl', job('        source = "https://h/a.tgz"\n        options {\n          checksum = "sha256:abc"\n        }'));
  const d = r.diagnostics.find((x) => x.severity === 'error')!;
  assert.equal(d.kind, 'schema');
  assert.match(d.message, /expected 64 hex digits/);
  assert.equal(d.line, 9);
  for (const dest of ['../../etc', '/etc/cron.d', 'local/../../x', '../web/local']) {
    const r2 = await loadText('j.hcl', job(`        source = "https://h/a.tgz"\n        destination = "${dest}"`));
    const e = r2.diagnostics.find((x) => x.severity === 'error')!;
    assert.ok(e, dest);
    assert.match(e.message, /destination/);
    assert.equal(e.line, 8);
  }
});

test('validate: good artifacts load, runtime references are left for fetch time, chown is kept', async () => {
  const r = await loadText('j.hcl', job('        source = "https://h/${NOMAD_META_v}/a.tgz"\n        destination = "${NOMAD_TASK_DIR}/bin"\n        chown = true\n        options {\n          checksum = "${NOMAD_META_sum}"\n        }'));
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const a = r.jobs[0].groups[0].tasks[0].artifacts[0];
  assert.equal(a.chown, true);
  assert.equal(a.destination, '${NOMAD_TASK_DIR}/bin');
  const r2 = await loadText('j.hcl', job('        source = "s3::https://${NOMAD_META_bucket}/k"'));
  assert.equal(r2.diagnostics[0]?.kind, 'unsupported', 'the getter type is still known');
  const r3 = await loadText('j.hcl', job('        source = "git::https://h/r.git"\n        options {\n          ref = "v1"\n          depth = 1\n        }'));
  assert.ok(r3.ok, JSON.stringify(r3.diagnostics));
  assert.equal('chown' in r3.jobs[0].groups[0].tasks[0].artifacts[0], false, 'chown absent unless true (spec hashes unchanged)');
});
