/** Shared setup of the plain executor e2e tests: a short temp data dir, a real log monitor, launch specs. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, type TestContext } from 'node:test';
import type { LaunchSpec, TaskHandle } from '../../../src/executor/executor.js';
import { createLogMonitorClient } from '../../../src/executor/logs/client.js';
import type { LogMonitorClient } from '../../../src/executor/logs/logs.js';
import { createPlainExecutor } from '../../../src/executor/plain.js';
import { findMarked } from '../../../src/executor/plain-procs.js';

export interface Harness {
  dataDir: string;
  logs: LogMonitorClient;
  executor: ReturnType<typeof createPlainExecutor>;
  spec(name: string, command: string, args: string[], extra?: Partial<LaunchSpec>): LaunchSpec;
  /** Launch and register the task for teardown. */
  launch(spec: LaunchSpec): Promise<TaskHandle>;
}

let seq = 0;
/** One data dir and one log monitor per test file (starting a monitor costs about a second). */
let shared: { dataDir: string; logs: LogMonitorClient } | undefined;

// Registered at import, i.e. at the top level of the test file: runs once after all its tests.
after(async () => {
  if (!shared) return;
  await shared.logs.stop();
  rmSync(shared.dataDir, { recursive: true, force: true });
});

function sharedDir() {
  if (!shared) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tp-'));
    shared = { dataDir, logs: createLogMonitorClient({ dataDir }) };
  }
  return shared;
}

export function harness(t: TestContext): Harness {
  const { dataDir, logs } = sharedDir();
  const executor = createPlainExecutor({ dataDir, logs });
  const launched: TaskHandle[] = [];
  t.after(async () => {
    for (const h of launched) {
      await executor.shutdown(h, 'SIGKILL', 0).catch(() => undefined);
      await executor.cleanup(h.id);
    }
    // Anything still carrying one of our markers is a leak: kill it, then fail.
    const ids = new Set(launched.map((h) => h.id));
    const leaked = [...findMarked(ids).values()].flat();
    for (const pid of leaked) process.kill(pid, 'SIGKILL');
    if (leaked.length) throw new Error(`leaked task processes: ${leaked.join(', ')}`);
  });
  return {
    dataDir,
    logs,
    executor,
    spec(name, command, args, extra = {}) {
      const allocId = `a${process.pid}x${++seq}`;
      const allocDir = path.join(dataDir, 'alloc', allocId, 'alloc');
      const taskDir = path.join(dataDir, 'alloc', allocId, name);
      mkdirSync(path.join(allocDir, 'logs'), { recursive: true });
      mkdirSync(path.join(taskDir, 'local'), { recursive: true });
      return {
        id: `${allocId}-${name}`,
        identity: { job: 'j', group: 'g', index: 0, task: name, allocId },
        driver: 'raw_exec',
        command,
        args,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', NOMAD_TASK_NAME: name },
        allocDir,
        taskDir,
        cwd: taskDir,
        logDir: path.join(allocDir, 'logs'),
        logs: { maxFiles: 3, maxFileSizeBytes: 1 << 20 },
        resources: { cpuShares: 100, memoryBytes: 300 << 20, memoryMaxBytes: 300 << 20 },
        ...extra,
      };
    },
    async launch(spec) {
      const h = await executor.launch(spec);
      launched.push(h);
      return h;
    },
  };
}
