/**
 * Loading and validating 1,000 realistic job files (variables, locals,
 * several groups and tasks, env, templates, constraints), next to the bare
 * `@cdktn/hcl2json` parse of the same files in the same run (the floor) and
 * the same parse through tend's parser worker (what the worker adds). Then
 * a small job (examples/hello.hcl) parsed 1,000 times in this thread and
 * through the worker, interleaved so that load from other processes falls on
 * both alike: the worker's fixed cost per file.
 *
 *   node --import tsx bench/jobspec-load.ts [N]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from '@cdktn/hcl2json';
import { loadFile } from '../src/jobspec/load.js';
import { hclParser } from '../src/jobspec/hcl-parser.js';

const N = Number(process.argv[2] ?? 1000);

function jobFile(i: number): string {
  const groups = 1 + (i % 3);
  const tasks = 1 + (i % 2);
  let body = `variable "replicas" {
  type    = number
  default = ${1 + (i % 4)}
}

variable "region" {
  type    = string
  default = "eu-${i % 5}"
}

locals {
  name   = "svc-${i}"
  labels = join(",", ["a", "b", var.region])
}

job "job-${i}" {
  type        = "${i % 4 === 0 ? 'batch' : 'service'}"
  datacenters = ["dc1"]

  meta {
    owner = "team-${i % 7}"
  }

  constraint {
    attribute = "\${attr.kernel.name}"
    value     = "linux"
  }
`;
  for (let g = 0; g < groups; g++) {
    body += `
  group "g${g}" {
    count = var.replicas

    restart {
      attempts = 3
      delay    = "10s"
      mode     = "delay"
    }
`;
    for (let t = 0; t < tasks; t++) {
      body += `
    task "t${t}" {
      driver = "${t % 2 ? 'exec' : 'raw_exec'}"
      user   = "nobody"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo \${local.name} \${NOMAD_ALLOC_INDEX}; sleep 3600"]
      }

      env {
        REGION = var.region
        LABELS = local.labels
        TASK   = "\${NOMAD_TASK_NAME}-\${NOMAD_ALLOC_ID}"
      }

      template {
        data        = <<EOT
name={{ env "NOMAD_TASK_NAME" }}
region=\${var.region}
EOT
        destination = "local/app.env"
        env         = true
      }

      resources {
        cpu    = ${100 + (i % 10) * 50}
        memory = ${64 + (i % 8) * 32}
      }

      kill_timeout = "${5 + (i % 10)}s"
    }
`;
    }
    body += `  }
`;
  }
  return body + '}\n';
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const rssMB = () => process.memoryUsage().rss / 1048576;

const dir = await mkdtemp(path.join(tmpdir(), 'tend-bench-jobspec-'));
try {
  const files: string[] = [];
  for (let i = 0; i < N; i++) {
    const f = path.join(dir, `job-${String(i).padStart(4, '0')}.hcl`);
    await writeFile(f, jobFile(i));
    files.push(f);
  }
  // Warm up both paths (WASM start-up, JIT) on a few files.
  for (const f of files.slice(0, 20)) {
    await parse(f, await readFile(f, 'utf8'));
    await hclParser().parse(f, await readFile(f, 'utf8'));
    await loadFile(f);
  }

  let peak = rssMB();
  const sample = setInterval(() => (peak = Math.max(peak, rssMB())), 5);

  const bare: number[] = [];
  let t0 = performance.now();
  for (const f of files) {
    const s = performance.now();
    await parse(f, await readFile(f, 'utf8'));
    bare.push(performance.now() - s);
  }
  const bareTotal = performance.now() - t0;
  const barePeak = peak;

  const worker: number[] = [];
  t0 = performance.now();
  for (const f of files) {
    const s = performance.now();
    await hclParser().parse(f, await readFile(f, 'utf8'));
    worker.push(performance.now() - s);
  }
  const workerTotal = performance.now() - t0;

  const full: number[] = [];
  let invalid = 0;
  t0 = performance.now();
  for (const f of files) {
    const s = performance.now();
    const r = await loadFile(f);
    full.push(performance.now() - s);
    if (!r.ok) invalid++;
  }
  const fullTotal = performance.now() - t0;
  clearInterval(sample);
  peak = Math.max(peak, rssMB());
  if (invalid) throw new Error(`expected every generated file to be valid, got ${invalid} invalid`);

  bare.sort((a, b) => a - b);
  worker.sort((a, b) => a - b);
  full.sort((a, b) => a - b);
  const line = (name: string, total: number, xs: number[]) =>
    `| ${name} | ${Math.round((N / total) * 1000)} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 99).toFixed(2)} |`;
  console.log(`${N} files, ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
  console.log('| | files/s | p50 ms/file | p99 ms/file |');
  console.log('|---|---|---|---|');
  console.log(line('bare hcl2json parse (floor)', bareTotal, bare));
  console.log(line('hcl2json parse in the parser worker', workerTotal, worker));
  console.log(line('tend loadFile (parse + check + model)', fullTotal, full));
  console.log(`peak RSS: ${barePeak.toFixed(0)} MB after the bare parse pass, ${peak.toFixed(0)} MB after the load pass`);
  console.log(`worker / floor: ${(workerTotal / bareTotal).toFixed(2)}×, tend / floor: ${(fullTotal / bareTotal).toFixed(2)}×`);

  const small = await readFile(new URL('../examples/hello.hcl', import.meta.url), 'utf8');
  const inThread: number[] = [];
  const inWorker: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const order = i % 2 ? [inThread, inWorker] : [inWorker, inThread];
    for (const xs of order) {
      const s = performance.now();
      await (xs === inThread ? parse('small.hcl', small) : hclParser().parse('small.hcl', small));
      xs.push(performance.now() - s);
    }
  }
  inThread.sort((a, b) => a - b);
  inWorker.sort((a, b) => a - b);
  const row = (name: string, xs: number[]) => `| ${name} | ${pct(xs, 50).toFixed(3)} | ${pct(xs, 90).toFixed(3)} | ${pct(xs, 99).toFixed(3)} |`;
  console.log(`\nsmall job (${small.split('\n').length} lines), 1,000 parses each, interleaved`);
  console.log('| | p50 ms | p90 ms | p99 ms |');
  console.log('|---|---|---|---|');
  console.log(row('hcl2json in this thread', inThread));
  console.log(row('hcl2json in the parser worker', inWorker));
} finally {
  await rm(dir, { recursive: true, force: true });
}
