/**
 * The GitOps recipe end to end: deploy/tend-git-sync pulls a local bare Git
 * repository (commits made here, one of them SSH-signed) into the jobs dir of
 * a real agent (plain executor) by swapping a symlink; the agent converges to
 * each commit, and `tendctl node`, `status` and `events` name the revision.
 * While a sync runs, the jobs dir is polled: it is always a link to a
 * complete revision (REVISION present), the old one or the new one.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHarness, running, type Harness } from './harness.js';
import { waitFor } from '../../helpers/wait.js';
import { requireGit, requireLinux, requireProgram } from '../../helpers/gates.js';

const SYNC = fileURLToPath(new URL('../../../deploy/tend-git-sync', import.meta.url));

let h: Harness | undefined;
after(async () => h?.cleanup());

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=ops@example.com', '-c', 'user.name=ops', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function job(name: string, sleep: number): string {
  return `job "${name}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep ${sleep}"]
      }
      kill_timeout = "1s"
    }
  }
}
`;
}

interface SyncRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the jobs dir held at each look while the sync ran: the REVISION commit, or what was wrong. */
  seen: string[];
}

/** Run the sync script with `env`, looking at the jobs dir as often as possible until it ends. */
async function sync(h: Harness, env: Record<string, string>): Promise<SyncRun> {
  const child = spawn(SYNC, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TEND_GIT_REPO: `file://${path.join(h.root, 'origin.git')}`, TEND_GIT_ROOT: path.join(h.root, 'git'), TEND_GIT_DEST: h.jobsDir, ...env } });
  const run: SyncRun = { code: null, stdout: '', stderr: '', seen: [] };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  let done = false;
  const exited = new Promise<void>((resolve) => child.once('close', (code) => ((run.code = code), (done = true), resolve())));
  while (!done) {
    run.seen.push(look(h.jobsDir));
    await new Promise((r) => setImmediate(r));
  }
  await exited;
  run.seen.push(look(h.jobsDir));
  return run;
}

function look(dest: string): string {
  try {
    if (!lstatSync(dest).isSymbolicLink()) return 'not a link';
    return readFileSync(path.join(dest, 'REVISION'), 'utf8').split('\n')[0];
  } catch (err) {
    return `unreadable: ${(err as NodeJS.ErrnoException).code}`;
  }
}

/** GET /v1/node over the agent's socket (what `tendctl node -json` prints), without starting tendctl. */
function nodeView(): Promise<{ jobsRevision: { commit: string; source: string; appliedAt?: string } | null }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: h!.socket, path: '/v1/node' }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

async function ctl(args: string[]): Promise<string> {
  const r = await h!.tendctl(args);
  assert.equal(r.code, 0, `tendctl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

test('gitops: tend-git-sync swaps the jobs dir atomically (signature checked when asked); the agent converges to each commit and names its revision', async (t) => {
  if (!requireLinux(t) || !requireGit(t)) return;
  if (!requireProgram(t, 'ssh-keygen', 'openssh-client')) return;
  h = await createHarness({ jobsLink: true });
  const root = h.root;
  git(root, 'init', '-q', '--bare', 'origin.git');
  const work = path.join(root, 'work');
  await mkdir(work);
  git(work, 'init', '-q');
  git(work, 'remote', 'add', 'origin', path.join(root, 'origin.git'));
  await writeFile(path.join(work, 'web.hcl'), job('web', 1001));
  await writeFile(path.join(work, 'README.md'), '# jobs of this node\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'web');
  git(work, 'push', '-q', 'origin', 'HEAD:main');
  const one = git(work, 'rev-parse', 'HEAD');

  // First sync, before the agent starts: the link appears.
  const first = await sync(h, {});
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`jobs dir now at ${one} \\(main\\)\\n`));
  const rev1 = path.join(root, 'git', `rev-${one}`);
  assert.equal(readlinkSync(h.jobsDir), rev1);
  assert.match(readFileSync(path.join(rev1, 'REVISION'), 'utf8'), new RegExp(`^${one}\\napplied_at=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\nbranch=main\\n$`));

  await h.start();
  await waitFor(() => running(h!, 'web/g[0]/t') !== undefined, { what: 'web running', timeoutMs: 15_000 });
  const node1 = await nodeView();
  assert.equal(node1.jobsRevision?.commit, one);
  assert.equal(node1.jobsRevision?.source, 'REVISION');
  assert.match(node1.jobsRevision?.appliedAt ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.match(await ctl(['node']), new RegExp(`Jobs Revision += ${one} \\(REVISION file, applied `));

  // Commit 2, SSH-signed: web changes, api appears. Synced with the signature check on.
  const key = path.join(root, 'signing-key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops@example.com', '-f', key]);
  const signers = path.join(root, 'allowed_signers');
  await writeFile(signers, `ops@example.com namespaces="git" ${readFileSync(`${key}.pub`, 'utf8')}`);
  await writeFile(path.join(work, 'web.hcl'), job('web', 1002));
  await writeFile(path.join(work, 'api.hcl'), job('api', 1003));
  git(work, 'add', '.');
  git(work, '-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`, 'commit', '-q', '-S', '-m', 'web 1002, api');
  git(work, 'push', '-q', 'origin', 'HEAD:main');
  const two = git(work, 'rev-parse', 'HEAD');
  const webPid = running(h, 'web/g[0]/t')!.handle!.pid;
  const second = await sync(h, { TEND_GIT_VERIFY: '1', TEND_GIT_ALLOWED_SIGNERS: signers });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`commit ${two}: signature verified\\n.*jobs dir now at ${two} \\(main\\), was ${one}\\n`, 's'));
  // Every look during the sync saw a complete revision: the old one, then the new one, never anything else.
  assert.ok(second.seen.length > 1, 'the jobs dir was looked at while the sync ran');
  const unexpected = second.seen.filter((s) => s !== one && s !== two);
  assert.deepEqual(unexpected, [], `the jobs dir was seen as ${unexpected[0]}`);
  assert.equal(second.seen.at(-1), two);
  assert.ok(second.seen.lastIndexOf(one) < second.seen.indexOf(two), 'old, then new');

  await waitFor(() => running(h!, 'api/g[0]/t') !== undefined && running(h!, 'web/g[0]/t')?.handle?.pid !== webPid && running(h!, 'web/g[0]/t') !== undefined, {
    what: 'api started and web restarted with commit 2',
    timeoutMs: 15_000,
  });
  const status = await ctl(['status', '-no-stats']);
  assert.match(status, new RegExp(`^Jobs Revision = ${two.slice(0, 7)} \\(applied `));
  assert.match(status, /api/);
  assert.equal((await nodeView()).jobsRevision?.commit, two);
  const events = await ctl(['events']);
  assert.match(events, new RegExp(`Jobs Revision.*now at ${one.slice(0, 7)}\\b`));
  assert.match(events, new RegExp(`Jobs Revision.*now at ${two.slice(0, 7)} \\(was ${one.slice(0, 7)}\\)`));
  // The task events of that change name the commit that brought it.
  assert.match(events, new RegExp(`web/g\\[0\\]/t +Restart Signaled +Spec changed: args \\(jobs revision ${two.slice(0, 7)}\\)`));
  assert.match(events, new RegExp(`api/g\\[0\\]/t +Received +Task received by the agent \\(jobs revision ${two.slice(0, 7)}\\)`));

  // Commit 3, unsigned: refused with the check on; the jobs dir stays at commit 2.
  await writeFile(path.join(work, 'web.hcl'), job('web', 1004));
  git(work, 'commit', '-q', '-a', '-m', 'web 1004, unsigned');
  git(work, 'push', '-q', 'origin', 'HEAD:main');
  const three = git(work, 'rev-parse', 'HEAD');
  const refused = await sync(h, { TEND_GIT_VERIFY: '1', TEND_GIT_ALLOWED_SIGNERS: signers });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`commit ${three} \\(main\\) has no signature from a trusted key; not applied \\(jobs dir stays at ${two}\\)`));
  assert.ok(refused.seen.every((s) => s === two));
  assert.ok(!existsSync(path.join(root, 'git', `rev-${three}`)));

  // Without the check it applies; the previous revision is kept, older ones removed.
  const third = await sync(h, {});
  assert.equal(third.code, 0, third.stderr);
  assert.equal(readlinkSync(h.jobsDir), path.join(root, 'git', `rev-${three}`));
  assert.ok(existsSync(path.join(root, 'git', `rev-${two}`)), 'the previous revision is kept');
  assert.ok(!existsSync(rev1), 'older revisions are removed');
  // Nothing new: nothing done.
  const again = await sync(h, {});
  assert.equal(again.code, 0);
  assert.match(again.stdout, new RegExp(`jobs dir already at ${three} \\(main\\); nothing to do`));
  await waitFor(async () => (await nodeView()).jobsRevision?.commit === three, { what: 'the agent at commit 3', timeoutMs: 10_000, intervalMs: 50 });
});

test('gitops: tend-git-sync refuses bad configuration with exit 2 and a plain jobs dir with exit 1, touching nothing', async (t) => {
  if (!requireLinux(t) || !requireGit(t)) return;
  const run = (env: Record<string, string>, args: string[] = []) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(SYNC, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
      let stderr = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.once('close', (code) => resolve({ code, stderr }));
    });
  const noRepo = await run({});
  assert.equal(noRepo.code, 2);
  assert.match(noRepo.stderr, /^tend-git-sync: no repository: set TEND_GIT_REPO \(or --repo URL\)\nRun "tend-git-sync --help" for usage\.\n$/);
  assert.match((await run({ TEND_GIT_REPO: 'x', TEND_GIT_DEPTH: 'deep' })).stderr, /TEND_GIT_DEPTH: expected a number, got "deep"/);
  assert.match((await run({ TEND_GIT_REPO: 'x' }, ['--frobnicate'])).stderr, /unknown argument --frobnicate/);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-gitops-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const plain = path.join(dir, 'plain-jobs');
  await mkdir(plain);
  const r = await run({ TEND_GIT_REPO: 'x', TEND_GIT_DEST: plain, TEND_GIT_ROOT: path.join(dir, 'unused') });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${plain} is a directory, not a symlink: move it away once \\(mv ${plain} ${plain}\\.old\\)`));
  assert.ok(!existsSync(path.join(dir, 'unused')));
});
