import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { execConfig, job as jobSchema, type BlockSchema } from '../../../src/jobspec/schema.js';
import { ACTED_ON, NOT_ACTED_ON } from '../../../src/jobspec/unsupported.js';

/**
 * Every `<block>.<field>` the schema accepts without a warning of its own,
 * outside blocks the table warns as a whole. `config` is the exec/raw_exec
 * config (other drivers' config is an error: the driver).
 */
function audited(type: string, s: BlockSchema, out = new Set<string>()): Set<string> {
  for (const a of Object.keys(s.attrs ?? {})) out.add(`${type}.${a}`);
  for (const [name, schema] of Object.entries(s.blocks ?? {})) {
    const sub = name === 'config' ? execConfig : schema;
    if (sub.warn) continue; // the schema warns: no meaning on one node
    out.add(`${type}.${name}`);
    const whole = NOT_ACTED_ON[`${type}.${name}`] && !ACTED_ON.includes(`${type}.${name}`); // warned as a whole
    if (sub.open || whole || out.has(`seen:${name}`)) continue;
    out.add(`seen:${name}`);
    audited(name, sub, out);
  }
  return out;
}

test('unsupported: every field the schema accepts is either acted on or in the table of what happens instead', () => {
  const fields = [...audited('job', jobSchema)].filter((f) => !f.startsWith('seen:'));
  const undecided = fields.filter((f) => !ACTED_ON.includes(f) && !(f in NOT_ACTED_ON));
  assert.deepEqual(undecided, [], 'add each to ACTED_ON or NOT_ACTED_ON in src/jobspec/unsupported.ts');
  const stale = ACTED_ON.filter((f) => !fields.includes(f));
  assert.deepEqual(stale, [], 'ACTED_ON names fields the schema does not have');
});

const job = (task: string, group = '') => `job "w" {
  group "g" {
${group}
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
${task}
    }
  }
}
`;

async function warnings(src: string): Promise<string[]> {
  const r = await loadText('w.hcl', src);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  return r.diagnostics.filter((d) => d.kind === 'unsupported' && d.severity === 'warning').map((d) => d.message);
}

test('unsupported: service, check and check_restart are acted on (only the Consul provider is warned); template, artifact and lifecycle do not warn', async () => {
  const got = await warnings(
    job(
      `      template {
        data        = "x"
        destination = "local/app.conf"
        env         = true
      }
      artifact {
        source      = "https://example.com/a.tgz"
        destination = "local/a"
      }
      lifecycle {
        hook    = "poststart"
        sidecar = true
      }
    }
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }`,
      `    network {
      port "http" {}
    }
    service {
      name = "web"
      port = "http"
      task = "main"
      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
        check_restart {
          limit = 3
        }
      }
    }
    service {
      name     = "api"
      provider = "nomad"
      port     = "http"
      connect {
        native = true
      }
      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
        expose   = true
      }
    }`,
    ),
  );
  assert.deepEqual(got.sort(), [
    'check.expose: needs Consul Connect; the check asks the service\'s port directly',
    'connect: Consul Connect is not supported by tend; the service is registered without a sidecar or upstreams',
    'service "web": provider "consul" (Nomad\'s default): tend has no Consul; it is registered in tend\'s local catalog as with provider = "nomad" (templates read it with nomadService, not service)',
  ]);
});

test('unsupported: update in a batch job says what tend does instead; periodic and network ports are followed, no warning', async () => {
  const src = job('', `    update {
      max_parallel = 1
    }
    network {
      port "http" {
        static = 8080
      }
    }`).replace('job "w" {', 'job "w" {\n  type = "batch"\n  periodic {\n    crons = ["@daily"]\n  }');
  const got = await warnings(src);
  assert.ok(got.includes('update: not followed: Nomad refuses an update block in a batch job; an edit replaces every instance at once'), got.join('\n'));
  assert.ok(!got.some((w) => w.startsWith('periodic')), got.join('\n'));
  assert.ok(!got.some((w) => w.startsWith('network') || w.includes('port')), got.join('\n'));
});

test("unsupported: a service job's update is followed; canary, auto_promote and a system job's stagger say what happens instead", async () => {
  const block = (body: string) => job('', `    update {\n${body}\n    }`);
  assert.deepEqual(await warnings(block('      max_parallel = 2\n      health_check = "task_states"\n      auto_revert = true\n      canary = 0\n      stagger = "10s"')), []);
  assert.deepEqual(await warnings(block('      canary = 1\n      auto_promote = true')), [
    'update.canary: not followed; tend has no canaries: it replaces max_parallel instances at a time, each once healthy',
    'update.auto_promote: has no effect; tend has no canaries to promote',
  ]);
  const system = block('      stagger = "10s"').replace('job "w" {', 'job "w" {\n  type = "system"');
  assert.ok((await warnings(system)).includes('update.stagger: not followed; tend runs a system job as a service job, whose rollouts wait for health (min_healthy_time), not for stagger'));
});

test('unsupported: a value or driver for which the field is acted on gives no warning', async () => {
  assert.deepEqual(await warnings(job('      leader = false\n      logs {\n        disabled = false\n      }')), []);
  assert.deepEqual(await warnings(job('      leader = true')), [], 'the agent stops a leader\'s siblings');
  const caps = job('').replace('command = "/bin/true"', 'command = "/bin/true"\n        cap_add = ["net_raw"]');
  assert.deepEqual(await warnings(caps), ["config.cap_add: not applied to raw_exec tasks; they run with the agent's capabilities"]);
  assert.deepEqual(await warnings(caps.replace('"raw_exec"', '"exec"')), []);
});
