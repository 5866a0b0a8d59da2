import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from '@cdktn/hcl2json';
import { evalDeep, needsEval, referencesOf, type EvalScope } from '../../../../src/jobspec/expr/index.js';

const HCL = `
locals {
  name    = "web-\${var.env}"
  ports   = [for p in var.ports : p + 1000]
  by_env  = { for k, v in var.sizes : k => v * 2 if v > 1 }
  banner  = <<-EOT
    hello \${upper(var.env)}
    %{ for p in var.ports ~}
    port \${p}
    %{ endfor ~}
  EOT
  joined  = join(",", [
    "a", # a comment inside the expression
    "b",
  ])
  pick    = var.env == "prod" ? "big" : "small"
  escaped = "$\${NOT_EVALUATED} and %%{ not_a_directive }"
  quoted  = "tab\\there \\"q\\""
  count   = var.count + 1
  splat   = var.users[*].name
  keyed   = { (var.env) = 1, plain = 2 }
}

job "example" {
  group "g" {
    count = var.count
    task "t" {
      driver = "raw_exec"
      config {
        command = "\${NOMAD_TASK_DIR}/run.sh"
        args    = ["--env", var.env, "--node", "\${node.unique.name}", "--dc=\${attr.kernel.name}"]
      }
      env {
        HOME_DIR = "\${env["HOME"]}"
        LABEL    = "\${var.env}-\${NOMAD_ALLOC_INDEX}"
      }
    }
  }
}
`;

const scope: EvalScope = {
  vars: { env: 'prod', ports: [80, 443], sizes: { a: 1, b: 2, c: 3 }, count: 2, users: [{ name: 'ann' }, { name: 'bob' }] },
  locals: {},
};

test('hcl2json output: expressions as @cdktn/hcl2json hands them over evaluate as HCL would', async () => {
  const json = (await parse('example.hcl', HCL)) as { locals: Record<string, unknown>[]; job: Record<string, unknown> };
  const locals = evalDeep(json.locals[0], scope);
  assert.deepEqual(locals, {
    name: 'web-prod',
    ports: [1080, 1443],
    by_env: { b: 4, c: 6 },
    // as in HCL: "~}" eats the newline, so the loop body no longer starts a line and keeps its indent
    banner: 'hello PROD\n    port 80\n    port 443\n',
    joined: 'a,b',
    pick: 'big',
    escaped: '${NOT_EVALUATED} and %{ not_a_directive }',
    quoted: 'tab\there "q"',
    count: 3,
    splat: ['ann', 'bob'],
    keyed: { prod: 1, plain: 2 },
  });

  const job = evalDeep(json.job, scope);
  const task = (job as any).example[0].group.g[0].task.t[0];
  assert.equal((job as any).example[0].group.g[0].count, 2);
  assert.deepEqual(task.config[0], {
    command: '${NOMAD_TASK_DIR}/run.sh',
    args: ['--env', 'prod', '--node', '${node.unique.name}', '--dc=${attr.kernel.name}'],
  });
  assert.deepEqual(task.env[0], { HOME_DIR: '${env["HOME"]}', LABEL: 'prod-${NOMAD_ALLOC_INDEX}' });
});

test('hcl2json output: referencesOf finds what each local needs', async () => {
  const json = (await parse('example.hcl', HCL)) as { locals: Record<string, string>[] };
  const raw = json.locals[0];
  const refs = (key: string) => referencesOf(raw[key]).map((r) => `${r.root}.${r.name}`);
  assert.deepEqual(refs('name'), ['var.env']);
  assert.deepEqual(refs('by_env'), ['var.sizes']);
  assert.deepEqual(refs('banner'), ['var.env', 'var.ports']);
  assert.deepEqual(refs('joined'), []);
  assert.equal(needsEval(raw.escaped), false);
  assert.equal(needsEval(raw.quoted), false);
});
