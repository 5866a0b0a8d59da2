/**
 * Task lifecycle through a real agent: a group with a prestart task, a
 * prestart sidecar, a main task and a poststart task starts in Nomad's order
 * (both executors), and `artifact` blocks are fetched from a local HTTP server
 * into the task's `local/` before it starts; a bad checksum fails with Nomad's
 * event and writes nothing.
 *
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/e2e/agent/lifecycle.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { TaskRecord } from '../../../src/store/store.js';
import { requireConmon, requireRoot, requireRunc } from '../../helpers/gates.js';
import { gzip, makeTar, serve } from '../../helpers/archives.js';
import { waitFor } from '../../helpers/wait.js';
import { createHarness, job, type Harness } from './harness.js';

const T = 30_000;

function recs(h: Harness, job: string): Map<string, TaskRecord> {
  return new Map(Object.values(h.records()).filter((r) => r.job === job).map((r) => [r.task, r]));
}

async function until(h: Harness, fn: () => boolean, what: string): Promise<void> {
  await waitFor(fn, { timeoutMs: T, what, intervalMs: 50 }).catch((e: Error) =>
    assert.fail(`${e.message}\nrecords: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error, r.events.slice(-3).map((e) => e.type)]))}\n${h.agentLog().split('\n').slice(-20).join('\n')}`),
  );
}

function lifecycleJob(driver: 'exec' | 'raw_exec'): string {
  // Each task proves what it sees: main needs init's file and the sidecar's; poststart needs main's.
  const task = (name: string, script: string, lifecycle = '') => `
    task "${name}" {
      driver = "${driver}"
${lifecycle}      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(script)}]
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = 64
      }
    }`;
  const idle = "trap 'exit 0' TERM; sleep 1000 & wait";
  return `job "lc" {
  type = "service"
  group "g" {
    restart {
      attempts = 5
      interval = "1m"
      delay    = "1s"
      mode     = "delay"
    }
${task('init', 'sleep 1; echo done > "$NOMAD_ALLOC_DIR/data/init"', '      lifecycle {\n        hook = "prestart"\n      }\n')}
${task('sidecar', `echo up > "$NOMAD_ALLOC_DIR/data/sidecar"; ${idle}`, '      lifecycle {\n        hook    = "prestart"\n        sidecar = true\n      }\n')}
${task('main', `test -f "$NOMAD_ALLOC_DIR/data/init" && test -f "$NOMAD_ALLOC_DIR/data/sidecar" || exit 3; echo up > "$NOMAD_ALLOC_DIR/data/main"; ${idle}`)}
${task('post', `test -f "$NOMAD_ALLOC_DIR/data/main" || exit 4; echo ran; ${idle}`, '      lifecycle {\n        hook    = "poststart"\n        sidecar = true\n      }\n')}
  }
}
`;
}

for (const executor of ['plain', 'oci'] as const) {
  test(`lifecycle (${executor}): prestart, prestart sidecar, main and poststart start in Nomad's order; an init task that exits 0 is complete in a service job`, { timeout: 90_000 }, async (t: TestContext) => {
    if (executor === 'oci' && !(requireRoot(t) && requireRunc(t) && requireConmon(t))) return;
    const h = await createHarness({ executor });
    t.after(() => h.cleanup());
    await h.start();
    await h.writeJob('lc.hcl', lifecycleJob(executor === 'oci' ? 'exec' : 'raw_exec'));
    await until(h, () => ['sidecar', 'main', 'post'].every((n) => recs(h, 'lc').get(n)?.state === 'running') && recs(h, 'lc').get('init')?.state === 'complete', 'init complete, the others running');
    const r = recs(h, 'lc');
    const startedAt = (n: string) => Date.parse(r.get(n)!.events.find((e) => e.type === 'Started')!.time);
    const init = r.get('init')!;
    assert.equal(init.lastExit?.code, 0);
    assert.equal(init.restarts, 0, 'an init task that exits 0 is not restarted, even in a service job');
    // main ran its checks the first time: no restart, no exit 3
    assert.equal(r.get('main')!.restarts, 0, 'main started only after init completed and the sidecar ran');
    assert.equal(r.get('post')!.restarts, 0, 'poststart started only after main ran');
    assert.ok(startedAt('main') >= Date.parse(init.lastExit!.at), 'main started after init exited');
    assert.ok(startedAt('post') >= startedAt('main'));
    const status = await h.tendctl(['status', 'lc', '-no-color']);
    assert.match(status.stdout, /init \[prestart\]/);
    assert.match(status.stdout, /sidecar \[prestart sidecar\]/);
    assert.ok(status.stdout.indexOf('init [prestart]') < status.stdout.indexOf('main') && status.stdout.indexOf('main') < status.stdout.indexOf('post [poststart'), status.stdout);
  });
}

test('artifacts: fetched from HTTP into local/ before the task starts, archives unpacked, checksum verified; a bad checksum fails with "Failed Artifact Download" and writes nothing', { timeout: 90_000 }, async (t) => {
  const tgz = gzip(makeTar([{ name: 'app/', type: 'dir' }, { name: 'app/hello.txt', data: 'hello from an artifact\n' }]));
  const sum = createHash('sha256').update(tgz).digest('hex');
  const srv = await serve({ '/app.tar.gz': { body: tgz }, '/conf.txt': { body: 'port=8080\n' } });
  t.after(() => srv.close());
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  const job = (name: string, checksum: string) => `job "${name}" {
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "t" {
      driver = "raw_exec"
      artifact {
        source = "${srv.url('/app.tar.gz')}"
        options {
          checksum = "sha256:${checksum}"
        }
      }
      artifact {
        source      = "${srv.url('/conf.txt')}"
        destination = "local/conf"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/app/hello.txt local/conf/conf.txt; trap 'exit 0' TERM; sleep 1000 & wait"]
      }
      kill_timeout = "2s"
    }
  }
}
`;
  await h.writeJob('good.hcl', job('good', sum));
  await h.writeJob('bad.hcl', job('bad', '0'.repeat(64)));
  await until(h, () => recs(h, 'good').get('t')?.state === 'running' && recs(h, 'bad').get('t')?.state === 'failed', 'good running, bad failed');
  await waitFor(async () => /hello from an artifact\nport=8080/.test((await h.tendctl(['logs', 'good'])).stdout), { what: 'the task printing its artifacts', timeoutMs: T });
  const good = recs(h, 'good').get('t')!;
  assert.ok(good.events.some((e) => e.type === 'Downloading Artifacts'), JSON.stringify(good.events));
  const bad = recs(h, 'bad').get('t')!;
  assert.ok(bad.events.some((e) => e.type === 'Failed Artifact Download' && /checksum/i.test(e.message)), JSON.stringify(bad.events));
  const badLocal = path.join(h.stateDir, 'alloc', bad.allocId, 't', 'local');
  assert.deepEqual(existsSync(badLocal) ? readdirSync(badLocal) : [], [], 'a failed artifact writes nothing into the task dir');
  // a restart of the good task does not fetch again (done once per allocation)
  const hits = srv.hits.get('/app.tar.gz');
  const pid = good.handle!.pid;
  const r = await h.tendctl(['restart', 'good']);
  assert.equal(r.code, 0, r.stderr);
  await until(h, () => recs(h, 'good').get('t')?.state === 'running' && recs(h, 'good').get('t')?.handle?.pid !== pid, 'good restarted');
  assert.equal(srv.hits.get('/app.tar.gz'), hits, 'no second download for a restart');
});

test('lifecycle (plain): when the leader ends, its group stops around it (siblings killed, not restarted)', { timeout: 60_000 }, async (t) => {
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob(
    'lead.hcl',
    `job "lead" {
  type = "batch"
  group "g" {
    task "leader" {
      driver = "raw_exec"
      leader = true
      config {
        command = "/bin/sh"
        args    = ["-c", "while [ ! -f \\"$NOMAD_ALLOC_DIR/data/helper-up\\" ]; do sleep 0.1; done; echo finished"]
      }
    }
    task "helper" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "touch \\"$NOMAD_ALLOC_DIR/data/helper-up\\"; trap 'exit 0' TERM; sleep 1000 & wait"]
      }
      kill_timeout = "2s"
    }
  }
}
`,
  );
  await until(h, () => recs(h, 'lead').get('leader')?.state === 'complete' && recs(h, 'lead').get('helper')?.state === 'pending' && !recs(h, 'lead').get('helper')?.handle, 'the leader complete and the helper stopped');
  const helper = recs(h, 'lead').get('helper')!;
  assert.ok(helper.events.some((e) => e.type === 'Killing' && /leader task "leader" completed/.test(e.message)), JSON.stringify(helper.events));
  assert.equal(h.taskProcs().get('lead/g[0]/helper'), undefined, 'no helper process left');
  // it stays stopped: a later pass (another job file arrives and runs) does not start it again
  const n = helper.events.length;
  await h.writeJob('other.hcl', job('other'));
  await until(h, () => recs(h, 'other').get('t')?.state === 'running', 'a later pass');
  assert.equal(recs(h, 'lead').get('helper')?.state, 'pending');
  assert.equal(recs(h, 'lead').get('helper')?.events.filter((e) => e.type === 'Started').length, 1, `helper started once: ${JSON.stringify(recs(h, 'lead').get('helper')?.events.slice(n))}`);
});

test('lifecycle (plain): a poststop task runs once the main tasks of a batch group have finished', { timeout: 60_000 }, async (t) => {
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  await h.writeJob(
    'post.hcl',
    `job "post" {
  type = "batch"
  group "g" {
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo work > \\"$NOMAD_ALLOC_DIR/data/main\\""]
      }
    }
    task "cleanup" {
      driver = "raw_exec"
      lifecycle {
        hook = "poststop"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "test -f \\"$NOMAD_ALLOC_DIR/data/main\\" || exit 5"]
      }
    }
  }
}
`,
  );
  await until(h, () => recs(h, 'post').get('main')?.state === 'complete' && recs(h, 'post').get('cleanup')?.state === 'complete', 'main then cleanup complete');
  const r = recs(h, 'post');
  assert.equal(r.get('cleanup')!.lastExit?.code, 0, 'poststop ran after main had written its file');
  assert.ok(Date.parse(r.get('cleanup')!.events.find((e) => e.type === 'Started')!.time) >= Date.parse(r.get('main')!.lastExit!.at));
});

test('lifecycle (plain): removing the job file stops the group in order (main tasks, then sidecars), then runs poststop, then forgets it; an edit restarts the whole group in that order and runs prestart again', { timeout: 60_000 }, async (t) => {
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.start();
  const out = path.join(h.root, 'order');
  const task = (name: string, script: string, extra = '') => `
    task "${name}" {
      driver = "raw_exec"
${extra}      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(script)}]
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "5s"
    }`;
  // init counts its runs; main takes a moment to stop; the sidecar notes whether main was gone
  // when its own TERM came; poststop notes whether both were gone when it ran.
  const initScript = `echo run >> ${out}.init`;
  const mainScript = (v: string) => `echo ${v} > ${out}.version; trap 'sleep 1; echo stopped > ${out}.main; exit 0' TERM; sleep 1000 & wait`;
  const sideScript = `rm -f ${out}.main; trap 'test -f ${out}.main && echo after-main >> ${out}.side || echo before-main >> ${out}.side; echo x > ${out}.side-gone; exit 0' TERM; sleep 1000 & wait`;
  const postScript = `test -f ${out}.side-gone && echo after-all >> ${out}.post || echo too-early >> ${out}.post; rm -f ${out}.side-gone`;
  const file = (v: string) => `job "ord" {
  group "g" {${task('init', initScript, '      lifecycle {\n        hook = "prestart"\n      }\n')}${task('main', mainScript(v))}${task('side', sideScript, '      lifecycle {\n        hook    = "prestart"\n        sidecar = true\n      }\n')}${task('post', postScript, '      lifecycle {\n        hook = "poststop"\n      }\n')}
  }
}
`;
  const { readFileSync } = await import('node:fs');
  const lines = (f: string) => (existsSync(`${out}.${f}`) ? readFileSync(`${out}.${f}`, 'utf8').trim().split('\n') : []);
  await h.writeJob('ord.hcl', file('v1'));
  await until(h, () => recs(h, 'ord').get('main')?.state === 'running' && recs(h, 'ord').get('side')?.state === 'running', 'both running');
  assert.deepEqual(lines('init'), ['run']);
  assert.equal(recs(h, 'ord').get('post')?.state ?? 'pending', 'pending', 'poststop waits for the end of the group');

  // an edit of main: the old run stops in order and runs poststop, then a new run starts with init
  await h.writeJob('ord.hcl', file('v2'));
  await until(h, () => lines('version')[0] === 'v2' && recs(h, 'ord').get('main')?.state === 'running' && recs(h, 'ord').get('side')?.state === 'running', 'the new run up');
  assert.deepEqual(lines('side'), ['after-main'], 'the sidecar stopped after main');
  assert.deepEqual(lines('post'), ['after-all'], 'poststop ran once, after main and the sidecar had stopped');
  assert.deepEqual(lines('init'), ['run', 'run'], 'init ran again before the new main');
  assert.equal(recs(h, 'ord').get('post')?.state, 'pending', 'poststop waits for the end of the new run');

  // removal: the same waves, poststop, then nothing is left
  await import('node:fs/promises').then((fs) => fs.unlink(path.join(h.jobsDir, 'ord.hcl')));
  await until(h, () => recs(h, 'ord').size === 0, 'the group stopped and forgotten');
  assert.deepEqual(lines('side'), ['after-main', 'after-main'], 'the sidecar got its stop signal only after the main task had stopped');
  assert.deepEqual(lines('post'), ['after-all', 'after-all'], 'poststop ran after the others had stopped, with the spec of the removed file');
  assert.equal(existsSync(path.join(h.stateDir, 'alloc')) ? readdirSync(path.join(h.stateDir, 'alloc')).length : 0, 0, 'the alloc dir is gone');
});
