/**
 * Templates through a real agent: a task's config comes from a template over a Nomad variable;
 * `tendctl var put` changes it and the file re-renders and the task restarts (change_mode
 * restart) or gets its signal (change_mode signal); `env = true` reaches the task; a task whose
 * variable does not exist yet waits and starts once `var put` creates it; a missing key with
 * error_on_missing_key blocks the start with a clear event; a destination that escapes the task
 * dir is refused at load with file:line, for both executors.
 *
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/e2e/agent/templates.test.ts
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { TaskRecord } from '../../../src/store/store.js';
import { requireConmon, requireRoot, requireRunc } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { createHarness, type Harness } from './harness.js';

const T = 30_000;

function rec(h: Harness, job: string, task = 'web'): TaskRecord | undefined {
  return Object.values(h.records()).find((r) => r.job === job && r.task === task);
}

async function until(h: Harness, fn: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await waitFor(fn, { timeoutMs: T, what, intervalMs: 50 }).catch((e: Error) =>
    assert.fail(`${e.message}\nrecords: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error, r.events.slice(-4).map((e) => `${e.type}: ${e.message}`)]))}\n${h.agentLog().split('\n').slice(-15).join('\n')}`),
  );
}

async function logs(h: Harness, job: string): Promise<string> {
  return (await h.tendctl(['logs', job])).stdout;
}

const webJob = (driver: string, changeMode: string, word = 'greeting') => `job "tpl" {
  group "g" {
    restart {
      attempts = 3
      delay    = "1s"
      mode     = "fail"
    }
    task "web" {
      driver = "${driver}"
      template {
        data        = <<EOH
{{ with nomadVar "nomad/jobs/tpl" }}${word}={{ .greeting }}{{ end }}
EOH
        destination = "local/app.conf"
        change_mode = "${changeMode}"
${changeMode === 'signal' ? '        change_signal = "SIGHUP"\n' : ''}        splay       = "0s"
        wait {
          min = "50ms"
          max = "500ms"
        }
      }
      template {
        data        = "APP_MODE={{ with nomadVar \\"nomad/jobs/tpl\\" }}{{ .mode }}{{ end }}\\n"
        destination = "secrets/app.env"
        env         = true
        change_mode = "noop"
        perms       = "0600"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo start mode=$APP_MODE $(cat local/app.conf); trap 'echo reloaded $(cat local/app.conf)' HUP; trap 'exit 0' TERM; while :; do sleep 1 & wait; done"]
      }
      kill_timeout = "2s"
    }
  }
}
`;

for (const executor of ['plain', 'oci'] as const) {
  test(`templates (${executor}): rendered from a Nomad variable before the start, env = true reaches the task, and a var put re-renders and restarts it`, { timeout: 90_000 }, async (t: TestContext) => {
    if (executor === 'oci' && !(requireRoot(t) && requireRunc(t) && requireConmon(t))) return;
    const h = await createHarness({ executor });
    t.after(() => h.cleanup());
    await h.start();
    // The variable does not exist yet: the task waits, it does not fail.
    await h.writeJob('tpl.hcl', webJob(executor === 'oci' ? 'exec' : 'raw_exec', 'restart'));
    await until(h, () => /Missing: nomad\.var\.block\(nomad\/jobs\/tpl\)/.test(rec(h, 'tpl')?.error ?? ''), 'the task waiting for its variable');
    assert.equal(rec(h, 'tpl')?.state, 'pending');
    assert.equal(rec(h, 'tpl')?.restarts, 0, 'waiting uses no restart');
    const put = await h.tendctl(['var', 'put', 'nomad/jobs/tpl', 'greeting=hello', 'mode=prod']);
    assert.equal(put.code, 0, put.stderr);
    await until(h, () => rec(h, 'tpl')?.state === 'running', 'running once the variable exists');
    await until(h, async () => /start mode=prod greeting=hello/.test(await logs(h, 'tpl')), 'the task printing its rendered config and env');
    const pid = rec(h, 'tpl')!.handle!.pid;
    // A change of the variable: re-rendered, restarted (change_mode = "restart").
    assert.equal((await h.tendctl(['var', 'put', 'nomad/jobs/tpl', 'greeting=bye', 'mode=prod'])).code, 0);
    await until(h, () => rec(h, 'tpl')?.state === 'running' && rec(h, 'tpl')?.handle?.pid !== pid, 'restarted after the change');
    await until(h, async () => /start mode=prod greeting=bye/.test(await logs(h, 'tpl')), 'the new config read by the new process');
    const events = rec(h, 'tpl')!.events.map((e) => `${e.type}: ${e.message}`);
    assert.ok(events.includes('Template: template[0] local/app.conf re-rendered'), events.join('\n'));
    assert.ok(events.some((e) => e.startsWith('Restart Signaled: template with change_mode restart re-rendered')), events.join('\n'));
    assert.ok(!h.agentLog().includes('hello') && !h.agentLog().includes('bye'), 'no variable value in the agent log');
  });
}

test('templates (plain): change_mode = "signal" sends the signal to the running task, which reads the new file', { timeout: 60_000 }, async (t) => {
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  assert.equal((await h.tendctl(['var', 'put', 'nomad/jobs/tpl', 'greeting=one', 'mode=dev'])).code, 0);
  await h.writeJob('tpl.hcl', webJob('raw_exec', 'signal'));
  await until(h, async () => /start mode=dev greeting=one/.test(await logs(h, 'tpl')), 'started');
  const pid = rec(h, 'tpl')!.handle!.pid;
  assert.equal((await h.tendctl(['var', 'put', 'nomad/jobs/tpl', 'greeting=two', 'mode=dev'])).code, 0);
  await until(h, async () => /reloaded greeting=two/.test(await logs(h, 'tpl')), 'the task reloaded on SIGHUP');
  assert.equal(rec(h, 'tpl')!.handle!.pid, pid, 'same process: signalled, not restarted');
  // An edit of the file that changes only the template: re-rendered in place, change_mode applies, no rebuild.
  await h.writeJob('tpl.hcl', webJob('raw_exec', 'signal', 'salutation'));
  await until(h, async () => /reloaded salutation=two/.test(await logs(h, 'tpl')), 'the edited template re-rendered and signalled');
  assert.equal(rec(h, 'tpl')!.handle!.pid, pid, 'still the same process');
  assert.ok(rec(h, 'tpl')!.events.some((e) => e.type === 'Updated' && /templates/.test(e.message)), JSON.stringify(rec(h, 'tpl')!.events));
});

test('templates (plain): change_mode = "script" runs the script inside the running task', { timeout: 60_000 }, async (t) => {
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  assert.equal((await h.tendctl(['var', 'put', 'nomad/jobs/scr', 'v=1'])).code, 0);
  await h.writeJob(
    'scr.hcl',
    `job "scr" {
  group "g" {
    task "web" {
      driver = "raw_exec"
      template {
        data        = "{{ with nomadVar \\"nomad/jobs/scr\\" }}v={{ .v }}{{ end }}"
        destination = "local/app.conf"
        change_mode = "script"
        splay       = "0s"
        wait {
          min = "50ms"
          max = "500ms"
        }
        change_script {
          command = "/bin/sh"
          args    = ["-c", "cp local/app.conf local/seen-by-script"]
          timeout = "5s"
        }
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"]
      }
      kill_timeout = "2s"
    }
  }
}
`,
  );
  await until(h, () => rec(h, 'scr')?.state === 'running', 'running');
  const pid = rec(h, 'scr')!.handle!.pid;
  assert.equal((await h.tendctl(['var', 'put', 'nomad/jobs/scr', 'v=2'])).code, 0);
  const { readFileSync, existsSync } = await import('node:fs');
  const path = await import('node:path');
  const seen = path.join(h.stateDir, 'alloc', rec(h, 'scr')!.allocId, 'web', 'local', 'seen-by-script');
  await until(h, () => existsSync(seen) && readFileSync(seen, 'utf8') === 'v=2', 'the script ran in the task dir after the re-render');
  await until(h, () => rec(h, 'scr')!.events.some((e) => e.type === 'Template' && /ran script \/bin\/sh/.test(e.message)), 'the script event');
  assert.equal(rec(h, 'scr')!.handle!.pid, pid, 'not restarted');
});

test('templates (plain): a missing key with error_on_missing_key fails the start with the template and key named; a destination outside the task dir is refused at load', { timeout: 60_000 }, async (t) => {
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob(
    'strict.hcl',
    `job "strict" {
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "web" {
      driver = "raw_exec"
      template {
        data                 = "port={{ .config.port }}"
        destination          = "local/app.conf"
        error_on_missing_key = true
      }
      config {
        command = "/bin/true"
      }
    }
  }
}
`,
  );
  await h.writeJob(
    'escape.hcl',
    `job "escape" {
  group "g" {
    task "web" {
      driver = "raw_exec"
      template {
        data        = "x"
        destination = "../../../../etc/cron.d/evil"
      }
      config {
        command = "/bin/true"
      }
    }
  }
}
`,
  );
  await until(h, () => rec(h, 'strict')?.state === 'failed', 'the strict task failed');
  const r = rec(h, 'strict')!;
  assert.match(r.error ?? '', /template\[0\] local\/app\.conf: template: .*strict\.hcl:\d+:\d+: .*config/);
  assert.equal(r.handle, undefined);
  assert.equal(r.lastExit, undefined, 'never launched');
  const status = await h.tendctl(['status', '-no-color']);
  assert.match(status.stdout + status.stderr, /escape\.hcl:7:\d+/, 'the refused file is named with its line');
  assert.equal(rec(h, 'escape'), undefined, 'nothing of the refused job runs');
});
