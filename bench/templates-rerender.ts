/**
 * Re-render latency after a variable change, through the template hook's runner
 * (src/templates/task-templates.ts) and the real variable store: N tasks, each with one template
 * reading its own variable under `nomad/jobs/bench`, rendered once; then one `put` per round of a
 * variable that every template lists (`nomadVarList "nomad/jobs/bench"`), and the time until
 * every task's file holds the new text (store commit → watch → render → link-safe atomic write).
 * Floor in the same run: writing the same files atomically (temp + rename) with nothing else.
 * `wait.min` is 0, so the figure is the work, not Nomad's 5 s quiescence.
 *
 *   node --import tsx bench/templates-rerender.ts [N] [rounds]
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createVariableStore } from '../src/vars/index.js';
import { TaskTemplates } from '../src/templates/task-templates.js';
import type { Template } from '../src/jobspec/model.js';

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 5);
const log = pino({ level: 'silent' });

function tpl(): Template {
  return {
    data: '{{ range nomadVarList "nomad/jobs/bench" }}{{ with nomadVar .Path }}{{ .v }}\n{{ end }}{{ end }}',
    destination: 'local/app.conf',
    changeMode: 'noop',
    splayMs: 0,
    perms: '644',
    env: false,
    once: false,
    leftDelimiter: '{{',
    rightDelimiter: '}}',
    errorOnMissingKey: false,
    wait: { minMs: 0, maxMs: 0 },
    pos: { file: 'bench.hcl', line: 1, column: 1 },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'tend-bench-tpl-'));
  try {
    const store = createVariableStore({ dataDir: path.join(root, 'data'), logger: log });
    mkdirSync(path.join(root, 'data'));
    await store.open();
    // Policies let every task list and read the shared prefix (as a `client { variables { policy … } } }` would).
    const policies = [{ name: 'bench', paths: [{ pattern: 'nomad/jobs/bench*', capabilities: ['read' as const] }] }];
    await store.put('nomad/jobs/bench/a', { v: 'round-0' });
    let pending = 0;
    let done: (() => void) | undefined;
    const runners: TaskTemplates[] = [];
    for (let i = 0; i < N; i++) {
      const taskDir = path.join(root, 'alloc', `t${i}`);
      const allocDir = path.join(root, 'alloc', `a${i}`);
      mkdirSync(path.join(taskDir, 'local'), { recursive: true });
      mkdirSync(allocDir, { recursive: true });
      const t = new TaskTemplates({
        file: 'bench.hcl',
        templates: [tpl()],
        dirs: { taskDir, allocDir },
        env: {},
        vars: store.forTask({ job: `job-${i}`, group: 'g', task: 't' }, policies),
        fileDirs: [],
        emit: (_type, message) => {
          if (message.endsWith('re-rendered') && --pending === 0) done?.();
        },
        control: { restart: () => {}, signal: async () => {}, exec: async () => ({ code: 0, output: '' }), kill: () => {}, wake: () => {} },
        logger: log,
        random: () => 0,
      });
      await t.renderAll();
      runners.push(t);
    }
    const rerender: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      pending = N;
      const all = new Promise<void>((resolve) => (done = resolve));
      const t0 = performance.now();
      await store.put('nomad/jobs/bench/a', { v: `round-${r}` });
      await all;
      rerender.push(performance.now() - t0);
    }
    const floor: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const f = path.join(root, 'alloc', `t${i}`, 'local', 'app.conf');
        writeFileSync(`${f}.tmp`, `round-${r}\n`, { mode: 0o644 });
        renameSync(`${f}.tmp`, f);
      }
      floor.push(performance.now() - t0);
    }
    for (const t of runners) t.close();
    await store.close();
    console.log(`${N} tasks × ${ROUNDS} rounds, node ${process.version}`);
    console.log('| what | median ms | per task µs |');
    console.log('|---|---:|---:|');
    console.log(`| var put → every task's file re-rendered and written | ${median(rerender).toFixed(1)} | ${((median(rerender) * 1000) / N).toFixed(0)} |`);
    console.log(`| floor: write the same files atomically | ${median(floor).toFixed(1)} | ${((median(floor) * 1000) / N).toFixed(0)} |`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
