/**
 * The attacker's view of the isolation boundary, through a real agent:
 * real job files, real runc and conmon (oci) or plain processes, tasks that
 * try to make the root agent write, chmod, chown or delete host paths by
 * planting links in every dir they can write, across restarts, log
 * rotations and teardown. Each host target is a "victim" dir and file
 * outside the data dir whose mode, owner and content must not change.
 *
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/security/isolation.test.ts
 *
 * tend-test: exclusive (compares the host's whole mount table and every cgroup before and after: run alone, scripts/test.mjs)
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { requireConmon, requireRoot, requireRunc } from '../helpers/gates.js';
import { waitFor } from '../helpers/wait.js';
import { createHarness, type Harness } from '../e2e/agent/harness.js';
import { cgroupRoots, cgroupTree } from '../e2e/agent/oci-cleanup.js';
import type { TaskRecord } from '../../src/store/store.js';

const T = 30_000;

interface Victim {
  dir: string;
  file: string;
  /** mode, owner and listing of the dir, content of the file */
  snapshot(): string;
}

/** A host dir and file an attacker aims at, as it were /etc and /etc/shadow. */
function makeVictim(t: TestContext): Victim {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tend-victim-'));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'shadow');
  writeFileSync(file, 'root:secret\n', { mode: 0o640 });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapshot = () => {
    const st = statSync(dir);
    const f = statSync(file);
    return JSON.stringify({ mode: st.mode, uid: st.uid, gid: st.gid, list: readdirSync(dir).sort(), fmode: f.mode, fuid: f.uid, text: readFileSync(file, 'utf8') });
  };
  return { dir, file, snapshot };
}

function mountTable(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ').slice(3, 5).join(' '))
    .filter(Boolean)
    .sort();
}

/** Cgroups of this agent (its parent is named after the harness's root). */
function cgroupDirs(h: Harness): string[] {
  const name = path.basename(h.root);
  return cgroupRoots().flatMap((r) => cgroupTree(r)).filter((d) => d.includes(name));
}

function job(name: string, o: { driver: 'exec' | 'raw_exec'; user?: string; script: string }): string {
  return `job "${name}" {
  type = "service"
  group "g" {
    restart {
      attempts = 10
      interval = "1m"
      delay    = "1s"
      mode     = "delay"
    }
    task "t" {
      driver = "${o.driver}"
${o.user ? `      user = "${o.user}"\n` : ''}      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(o.script)}]
      }
      logs {
        max_files     = 2
        max_file_size = 1
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;
}

function rec(h: Harness, jobId: string): TaskRecord | undefined {
  return Object.values(h.records()).find((r) => r.job === jobId);
}

function stdoutOf(h: Harness, r: TaskRecord | undefined): string {
  if (!r) return '';
  const dir = path.join(h.stateDir, 'logs', r.allocId);
  try {
    return readdirSync(dir)
      .filter((f) => f.startsWith(`${r.task}.stdout.`))
      .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('');
  } catch {
    return '';
  }
}

async function until(h: Harness, fn: () => boolean, what: string, timeoutMs = T): Promise<void> {
  await waitFor(fn, { timeoutMs, what, intervalMs: 50 }).catch((e: Error) =>
    assert.fail(`${e.message}\nrecords: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.restarts, r.error]))}\n${h.agentLog().split('\n').slice(-30).join('\n')}`),
  );
}

/**
 * The attack, as shell run by the task. Each run (the task restarts once) it:
 *  - replaces every dir it can reach with a link to the victim (alloc/tmp,
 *    alloc/data, alloc/logs, the log files, and links inside local/ secrets/ tmp/);
 *  - tries to write the logs directly;
 *  - prints ~1.2 MB so the log monitor rotates (max_file_size = 1 MB);
 *  - exits 1 on the first run (a restart: the agent fixes up the dirs again),
 *    then idles.
 * `A` is the alloc dir and `L` the task dir as the task sees them.
 */
function attack(victim: Victim, A: string, L: string): string {
  const v = victim.dir;
  return [
    `echo "uid: $(id -u)"`,
    `cat /etc/shadow >/dev/null 2>&1 && echo "shadow: readable" || echo "shadow: denied"`,
    `for d in ${A}/tmp ${A}/data ${A}/logs; do rm -rf "$d" 2>/dev/null; ln -s ${v} "$d" 2>/dev/null && echo "planted: $d"; done`,
    `for f in ${A}/logs/t.stdout.0 ${A}/logs/t.stdout.1 ${A}/logs/.t.conmon.log; do ln -sf ${victim.file} "$f" 2>/dev/null && echo "planted: $f"; done`,
    `echo x >> ${A}/logs/t.stdout.0 2>/dev/null && echo "logs: writable" || echo "logs: read-only"`,
    `for d in ${L}/local ${L}/secrets ${L}/tmp ${A}/data ${A}/tmp; do ln -s ${v} "$d/to-dir" 2>/dev/null; ln -s ${victim.file} "$d/to-file" 2>/dev/null; done`,
    `mkdir -p ${L}/local/deep/a/b/c && ln -s ${v} ${L}/local/deep/a/b/c/up`,
    // ~1.2 MB of output: the log monitor opens .stdout.1 (where a link was tried)
    `i=0; while [ $i -lt 12000 ]; do echo "line $i ................................................................................................"; i=$((i+1)); done`,
    `if [ ! -e ${L}/local/second-run ]; then touch ${L}/local/second-run; echo "first run done"; exit 1; fi`,
    `echo "second run ready"`,
    `trap 'exit 0' TERM; sleep 1000 & wait`,
  ].join('\n');
}

interface Case {
  name: string;
  executor: 'oci' | 'plain';
  driver: 'exec' | 'raw_exec';
  user?: string;
}

const cases: Case[] = [
  { name: 'exec as root', executor: 'oci', driver: 'exec', user: 'root' },
  { name: 'exec as the default user', executor: 'oci', driver: 'exec' },
  { name: 'raw_exec as nobody under oci', executor: 'oci', driver: 'raw_exec', user: 'nobody' },
  { name: 'raw_exec as nobody under plain', executor: 'plain', driver: 'raw_exec', user: 'nobody' },
];

for (const c of cases) {
  test(`security: a task (${c.name}) that plants links everywhere it can write never reaches a host path, across restarts, rotations and teardown`, { timeout: 120_000 }, async (t) => {
    if (!requireRoot(t)) return;
    if (c.executor === 'oci' && !(requireRunc(t) && requireConmon(t))) return;
    const victim = makeVictim(t);
    const before = victim.snapshot();
    const mountsBefore = mountTable();
    const h = await createHarness({ executor: c.executor });
    t.after(() => h.cleanup());
    // as under /var/lib: a task user may pass through to its own dirs (mkdtemp made the root 0700)
    chmodSync(h.root, 0o711);
    await h.start();
    // exec tasks see their dirs at /alloc and /; raw_exec ones through NOMAD_* (host paths)
    const [A, L] = c.driver === 'exec' ? ['/alloc', ''] : ['"$NOMAD_ALLOC_DIR"', '"$NOMAD_TASK_DIR"/..'];
    await h.writeJob('evil.hcl', job('evil', { driver: c.driver, user: c.user, script: attack(victim, A, L) }));
    await until(h, () => /second run ready/.test(stdoutOf(h, rec(h, 'evil'))), 'the attacking task to run twice');
    const r = rec(h, 'evil')!;
    const out = stdoutOf(h, r);
    assert.ok(r.restarts >= 1, 'the task restarted once');
    assert.equal(victim.snapshot(), before, `the victim changed:\n${out.split('\n').filter((l) => !l.startsWith('line ')).join('\n')}`);
    assert.match(out, /^logs: read-only$/m, 'the task cannot write the logs');
    assert.doesNotMatch(out, /^planted: .*logs/m, 'the task cannot plant links among the logs');
    if (c.driver === 'exec') {
      assert.equal(/^uid: (\d+)$/m.exec(out)?.[1], c.user === 'root' ? '0' : '65534', 'exec runs as nobody unless told otherwise');
      if (!c.user) assert.match(out, /^shadow: denied$/m, 'the default user cannot read the host\'s /etc/shadow');
    }
    if (c.user === 'root') {
      // root inside can replace alloc/tmp and alloc/data: on the restart the agent put dirs back, never followed
      assert.match(out, /^planted: \/alloc\/tmp$/m);
      await until(h, () => /task dir entry replaced/.test(h.agentLog()), 'the agent to report the replaced dirs');
    }
    const allocTmp = path.join(h.stateDir, 'alloc', r.allocId, 'alloc', 'tmp');
    const allocTmpNow = lstatSync(allocTmp);
    // the agent made it a dir again on the restart; the second run may have planted its link again
    assert.ok(allocTmpNow.isDirectory() || allocTmpNow.isSymbolicLink());
    // every log line reached the agent-only log dir and nothing went through a link
    const logDir = path.join(h.stateDir, 'logs', r.allocId);
    for (const f of readdirSync(logDir)) assert.equal(lstatSync(path.join(logDir, f)).isSymbolicLink(), false, `${f} is a link`);
    const logs = await h.tendctl(['logs', '-n', '100', 'evil']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.doesNotMatch(logs.stdout, /root:secret/);

    // teardown: remove the job; the alloc dir goes without following a single link
    await import('node:fs/promises').then((fs) => fs.unlink(path.join(h.jobsDir, 'evil.hcl')));
    await until(h, () => Object.keys(h.records()).length === 0, 'the task to be stopped and forgotten');
    await until(h, () => !existsSync(path.join(h.stateDir, 'alloc', r.allocId)) && !existsSync(logDir), 'alloc and log dirs removed');
    assert.equal(victim.snapshot(), before, 'the victim is unchanged after teardown');
    await h.cleanup();
    assert.deepEqual(mountTable(), mountsBefore, 'the host mount table is as it was');
    assert.deepEqual(cgroupDirs(h), [], 'no cgroup of the agent is left');
  });
}

test('security: the env denylist (client options env.denylist) decides which host variables reach a task', { timeout: 60_000 }, async (t) => {
  const h = await createHarness({
    executor: 'plain',
    config: `client {\n  options = {\n    "env.denylist"  = "SEC_*,VAULT_TOKEN"\n  }\n}\n`,
  });
  t.after(() => h.cleanup());
  const saved = { ...process.env };
  t.after(() => {
    for (const k of ['SEC_API_KEY', 'VAULT_TOKEN', 'PLAIN_SETTING']) delete process.env[k];
    Object.assign(process.env, saved);
  });
  Object.assign(process.env, { SEC_API_KEY: 'k1', VAULT_TOKEN: 'v1', PLAIN_SETTING: 'p1' });
  await h.start();
  await h.writeJob('env.hcl', job('env', { driver: 'raw_exec', script: 'env | sort; echo "second run ready"; trap "exit 0" TERM; sleep 1000 & wait' }));
  await until(h, () => /second run ready/.test(stdoutOf(h, rec(h, 'env'))), 'the env task to print its environment');
  const out = stdoutOf(h, rec(h, 'env')!);
  assert.match(out, /^PLAIN_SETTING=p1$/m);
  assert.doesNotMatch(out, /^SEC_API_KEY=/m);
  assert.doesNotMatch(out, /^VAULT_TOKEN=/m);
  assert.doesNotMatch(out, /^TEND_E2E=/m, 'the agent\'s own TEND_* never reach a task');
  assert.match(out, /^NOMAD_ALLOC_ID=/m);
});
