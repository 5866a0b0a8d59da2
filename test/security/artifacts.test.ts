/**
 * Artifacts against a hostile source: a local HTTP server on 127.0.0.1 plays
 * the attacker (archives with `..`, absolute names, links out, hard links to
 * host files, bombs, oversized bodies, wrong checksums) and a task that
 * planted links in its local/ dir. Each case checks that a victim dir
 * outside the task's dirs is unchanged and nothing lands outside the
 * destination.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { DEFAULT_ARTIFACT_LIMITS, isArtifactError, type ArtifactEventType, type ArtifactLimits, type FetchContext } from '../../src/artifacts/artifacts.js';
import { fetchArtifact } from '../../src/artifacts/fetch-artifact.js';
import { ensureTaskDirs, type TaskDirs } from '../../src/drivers/alloc-dir.js';
import type { Artifact } from '../../src/jobspec/model.js';
import { gzip, makeTar, makeZip, serve, type Route } from '../helpers/archives.js';
import { requireGit, requireRoot } from '../helpers/gates.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const zeros = Buffer.alloc(4 << 20);
const bz2Tar = Buffer.from(
  'QlpoOTFBWSZTWfZ6r8YAALV7hMuQAkBAAf+AAIxyZZ5QAACECCAAkoZQm1AAANAAAilJoyNNBoA2oHqD1KTTTeYZGs0QKxmEB2bIwLNA1t8b7m0drCIVIfccgVs2pnPL3gzFoISl2zgydUMbgiwYKW0vWJobQFlHwGhjQwyItDW+YQ5ROTj3moR8fifz5EhkOLezbm6l1jQho/iGjgetKIfxdyRThQkPZ6r8YA==',
  'base64',
);
const xzTar = Buffer.from(
  '/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4Cf/AKNdADCLiofEDvKXpPh1PcWp7dmXqZhUhmywxNDT0o4ykNu1WPXlluKiF4MCR4beDj8GNPsxYDHkOj86FIVNRzUTMnXuwWS/NQcuF+mVyyuDBaEl7F9c5ewT7Ln0Jztz/TloA2jN1Ad9dvtCctsHOv2Zp1Xi7OAousgA3jz2CG0fmutEI22btWv68rTmqD6Ev6Q35rSN+VoZnwk9kvGGn0Q5EVesx74AAE3pn5DuIDHRAAG/AYBQAABGxEyUscRn+wIAAAAABFla',
  'base64',
); // both: a.txt ("hello bz\n") and sub/b.txt ("in sub\n")

let root: string;
let victim: string;
let srv: Awaited<ReturnType<typeof serve>>;
const routes: Record<string, Route> = {};

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-artifacts-'));
  victim = path.join(root, 'victim');
  await fs.mkdir(victim);
  await fs.writeFile(path.join(victim, 'secret'), 'do not touch\n', { mode: 0o600 });
  srv = await serve(routes);
});
after(async () => {
  await srv.close();
  await fs.rm(root, { recursive: true, force: true });
});

/** Every entry under `dir`: type, mode, owner, size, content hash or link target. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for (const name of (await fs.readdir(d)).sort()) {
      const p = path.join(d, name);
      const st = await fs.lstat(p);
      const key = path.join(rel, name);
      if (st.isSymbolicLink()) out[key] = `link ${await fs.readlink(p)}`;
      else if (st.isDirectory()) {
        out[key] = `dir ${(st.mode & 0o7777).toString(8)} ${st.uid}`;
        await walk(p, key);
      } else out[key] = `file ${(st.mode & 0o7777).toString(8)} ${st.uid} ${st.nlink} ${sha256(await fs.readFile(p))}`;
    }
  };
  await walk(dir, '');
  return out;
}

interface Env {
  dirs: TaskDirs;
  dataDir: string;
  events: [ArtifactEventType, string][];
  ctx: FetchContext;
}

let n = 0;
async function env(limits: Partial<ArtifactLimits> = {}, extra: Partial<FetchContext> = {}): Promise<Env> {
  const dataDir = path.join(root, `data${n++}`);
  const dirs = await ensureTaskDirs(dataDir, 'a1b2c3', 'web');
  const events: [ArtifactEventType, string][] = [];
  const ctx: FetchContext = {
    dirs, dataDir, limits: { ...DEFAULT_ARTIFACT_LIMITS, ...limits }, signal: AbortSignal.timeout(60_000),
    onEvent: (type, message) => events.push([type, message]), ...extra,
  };
  return { dirs, dataDir, events, ctx };
}

const art = (source: string, more: Partial<Artifact> = {}): Artifact => ({ source, destination: 'local/', mode: 'any', options: {}, headers: {}, ...more });

/** Run a fetch that must fail; the victim and everything outside local/ must be unchanged, local/ as before. */
async function mustFail(e: Env, a: Artifact, message: RegExp): Promise<void> {
  const before = await snapshot(victim);
  const outside = await snapshot(e.dirs.root);
  await assert.rejects(fetchArtifact(a, e.ctx), (err) => {
    assert.ok(isArtifactError(err), String(err));
    assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(await snapshot(victim), before, 'victim dir unchanged');
  assert.deepEqual(await snapshot(e.dirs.root), outside, 'task dirs unchanged');
  assert.deepEqual(e.events.map(([t]) => t), ['Downloading Artifacts', 'Failed Artifact Download']);
  assert.match(e.events[1][1], message);
}

test('artifacts: a plain file lands in local/ (0644), with the request headers sent', async () => {
  routes['/bin/tool'] = { body: 'tool v1\n' };
  const e = await env();
  const r = await fetchArtifact(art(srv.url('/bin/tool'), { headers: { 'X-Token': 'abc' } }), e.ctx);
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'tool'), 'utf8'), 'tool v1\n');
  assert.equal((await fs.stat(path.join(e.dirs.localDir, 'tool'))).mode & 0o777, 0o644);
  assert.equal(r.path, e.dirs.localDir);
  assert.equal(srv.requests.at(-1)!['x-token'], 'abc');
  assert.deepEqual(e.events.map(([t]) => t), ['Downloading Artifacts']);
});

test('artifacts: tar.gz, zip, tar.bz2, tar.xz and .gz unpack into the destination with their modes', async () => {
  routes['/app.tar.gz'] = { body: gzip(makeTar([{ name: 'app/', type: 'dir' }, { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o4755 }, { name: 'app/cur', type: 'symlink', linkname: 'run.sh' }, { name: 'app/same', type: 'hardlink', linkname: 'app/run.sh' }])) };
  routes['/site.zip'] = { body: makeZip([{ name: 'site/', mode: 0o40755 }, { name: 'site/index.html', data: '<p>hi</p>', deflate: true }, { name: 'site/run', data: 'x', mode: 0o100755 }]) };
  routes['/t.tar.bz2'] = { body: bz2Tar };
  routes['/t.tar.xz'] = { body: xzTar };
  routes['/notes.txt.gz'] = { body: gzip(Buffer.from('notes\n')) };
  const e = await env();
  await fetchArtifact(art(srv.url('/app.tar.gz')), e.ctx);
  await fetchArtifact(art(srv.url('/site.zip'), { destination: 'local/www' }), e.ctx);
  await fetchArtifact(art(srv.url('/t.tar.bz2'), { destination: '${NOMAD_TASK_DIR}/bz' }), e.ctx);
  await fetchArtifact(art(srv.url('/t.tar.xz'), { destination: 'local/xz' }), e.ctx);
  await fetchArtifact(art(srv.url('/notes.txt.gz')), e.ctx);
  const l = e.dirs.localDir;
  assert.equal((await fs.stat(path.join(l, 'app/run.sh'))).mode & 0o7777, 0o755, 'setuid dropped');
  assert.equal(await fs.readlink(path.join(l, 'app/cur')), 'run.sh');
  assert.equal(await fs.readFile(path.join(l, 'app/same'), 'utf8'), '#!/bin/sh\n');
  assert.equal(await fs.readFile(path.join(l, 'www/site/index.html'), 'utf8'), '<p>hi</p>');
  assert.equal((await fs.stat(path.join(l, 'www/site/run'))).mode & 0o777, 0o755);
  assert.equal(await fs.readFile(path.join(l, 'bz/a.txt'), 'utf8'), 'hello bz\n');
  assert.equal(await fs.readFile(path.join(l, 'xz/sub/b.txt'), 'utf8'), 'in sub\n');
  assert.equal(await fs.readFile(path.join(l, 'notes.txt'), 'utf8'), 'notes\n');
});

test('artifacts: archive = false keeps the archive; mode "file" writes one file at the destination', async () => {
  routes['/keep.tar.gz'] = { body: gzip(makeTar([{ name: 'x', data: 'x' }])) };
  routes['/one.tar.gz'] = { body: gzip(makeTar([{ name: 'inner/bin', data: 'binary', mode: 0o755 }])) };
  const e = await env();
  await fetchArtifact(art(srv.url('/keep.tar.gz'), { options: { archive: 'false' } }), e.ctx);
  assert.deepEqual((await fs.readFile(path.join(e.dirs.localDir, 'keep.tar.gz'))).subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  await fetchArtifact(art(srv.url('/one.tar.gz'), { mode: 'file', destination: 'local/bin/app' }), e.ctx);
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'bin/app'), 'utf8'), 'binary');
});

test('artifacts: a wrong checksum fails with the event and writes nothing, not even the cache', async () => {
  routes['/c.tar.gz'] = { body: gzip(makeTar([{ name: 'c', data: 'c' }])) };
  const e = await env();
  await mustFail(e, art(srv.url('/c.tar.gz'), { options: { checksum: `sha256:${'0'.repeat(64)}` } }), /checksums did not match/);
  assert.deepEqual(await fs.readdir(path.join(e.dataDir, 'artifacts/cache')), []);
  assert.deepEqual(await fs.readdir(path.join(e.dataDir, 'artifacts/tmp')), [], 'staging removed');
});

test('artifacts: checksum from a sums file (file:URL), GNU and BSD styles', async () => {
  const body = gzip(makeTar([{ name: 'from-sums', data: 'ok' }]));
  routes['/rel/v1/pkg.tgz'] = { body };
  routes['/rel/v1/SHA256SUMS'] = { body: `${'1'.repeat(64)}  other.tgz\n${sha256(body)} *pkg.tgz\n` };
  routes['/rel/v1/MD5SUMS'] = { body: `MD5 (pkg.tgz) = ${createHash('md5').update('not it').digest('hex')}\n` };
  const e = await env();
  await fetchArtifact(art(srv.url('/rel/v1/pkg.tgz'), { options: { checksum: `file:${srv.url('/rel/v1/SHA256SUMS')}` } }), e.ctx);
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'from-sums'), 'utf8'), 'ok');
  const e2 = await env();
  await mustFail(e2, art(srv.url('/rel/v1/pkg.tgz'), { options: { checksum: `file:${srv.url('/rel/v1/MD5SUMS')}` } }), /checksums did not match/);
});

test('artifacts: a body over http_max_size fails, with or without Content-Length', async () => {
  routes['/big.bin'] = { body: Buffer.alloc(64 * 1024, 1) };
  routes['/big-chunked.bin'] = { body: Buffer.alloc(64 * 1024, 1), chunked: true };
  for (const p of ['/big.bin', '/big-chunked.bin']) {
    const e = await env({ httpMaxBytes: 10_000 });
    await mustFail(e, art(srv.url(p)), /larger than http_max_size/);
  }
});

test('artifacts: decompression limits stop bombs (too many entries, too many bytes) before anything is placed', async () => {
  routes['/many.zip'] = { body: makeZip(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: 'x' }))) };
  routes['/many.tar'] = { body: makeTar(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: 'x' }))) };
  routes['/bomb.zip'] = { body: makeZip([{ name: 'zeros', data: zeros, deflate: true }]) };
  routes['/bomb.tar.gz'] = { body: gzip(makeTar([{ name: 'zeros', data: zeros }])) };
  routes['/bomb.gz'] = { body: gzip(zeros) };
  assert.ok(routes['/bomb.tar.gz'].body.length < 50_000);
  for (const p of ['/many.zip', '/many.tar']) await mustFail(await env({ decompressionFileCountLimit: 10 }), art(srv.url(p)), /decompression_file_count_limit/);
  for (const p of ['/bomb.zip', '/bomb.tar.gz', '/bomb.gz']) await mustFail(await env({ decompressionSizeLimit: 1 << 20 }), art(srv.url(p)), /decompression_size_limit/);
});

test('artifacts: hostile archives cannot write outside the destination', async () => {
  const secret = path.join(victim, 'secret');
  const cases: [string, Buffer, RegExp][] = [
    ['/dotdot.tar', makeTar([{ name: 'ok', data: 'fine' }, { name: '../../../../../victim/pwned', data: 'x' }]), /contains "\.\."/],
    ['/abs.tar', makeTar([{ name: `${victim}/pwned`, data: 'x' }]), /absolute path/],
    ['/link-out.tar', makeTar([{ name: 'evil', type: 'symlink', linkname: victim }, { name: 'evil/pwned', data: 'x' }]), /link to an absolute path/],
    ['/link-up.tar', makeTar([{ name: 'up', type: 'symlink', linkname: '../../../../..' }]), /points outside/],
    ['/link-through.tar', makeTar([{ name: 'd/', type: 'dir' }, { name: 'in', type: 'symlink', linkname: 'd' }, { name: 'in/x', data: 'x' }]), /goes through a link/],
    ['/hard-abs.tar', makeTar([{ name: 'hl', type: 'hardlink', linkname: secret }]), /absolute path/],
    ['/hard-up.tar', makeTar([{ name: 'hl', type: 'hardlink', linkname: '../../../../victim/secret' }]), /contains "\.\."/],
    ['/hard-missing.tar', makeTar([{ name: 'hl', type: 'hardlink', linkname: 'etc/passwd' }]), /not an earlier file/],
    ['/dotdot.zip', makeZip([{ name: '../../victim/pwned', data: 'x' }]), /\.\./],
    ['/abs.zip', makeZip([{ name: `${victim}/pwned`, data: 'x' }]), /absolute path/],
    ['/link-out.zip', makeZip([{ name: 'evil', data: victim, mode: 0o120777 }, { name: 'evil/pwned', data: 'x' }]), /link to an absolute path/],
  ];
  for (const [p, body, msg] of cases) {
    routes[p] = { body };
    await test(p, async () => mustFail(await env(), art(srv.url(p)), msg));
  }
  assert.equal(await fs.readFile(secret, 'utf8'), 'do not touch\n');
});

test('artifacts: links a task planted in local/ are replaced, never followed', async () => {
  routes['/conf.tar.gz'] = { body: gzip(makeTar([{ name: 'conf/', type: 'dir' }, { name: 'conf/app.ini', data: 'a=1' }, { name: 'secret', data: 'mine' }])) };
  routes['/tool'] = { body: 'tool' };
  const e = await env();
  const l = e.dirs.localDir;
  await fs.symlink(victim, path.join(l, 'conf')); // archive dir entry over a link
  await fs.symlink(path.join(victim, 'secret'), path.join(l, 'secret')); // archive file over a link
  await fs.symlink(victim, path.join(l, 'out')); // destination dir is a link
  await fs.symlink(path.join(victim, 'secret'), path.join(l, 'tool')); // plain file over a link
  const before = await snapshot(victim);
  await fetchArtifact(art(srv.url('/conf.tar.gz')), e.ctx);
  await fetchArtifact(art(srv.url('/conf.tar.gz'), { destination: 'local/out/deeper' }), e.ctx);
  await fetchArtifact(art(srv.url('/tool')), e.ctx);
  assert.deepEqual(await snapshot(victim), before);
  for (const p of ['conf', 'out', 'out/deeper/conf']) assert.ok((await fs.lstat(path.join(l, p))).isDirectory(), p);
  for (const p of ['secret', 'tool', 'conf/app.ini', 'out/deeper/secret']) assert.ok((await fs.lstat(path.join(l, p))).isFile(), p);
  assert.equal(await fs.readFile(path.join(l, 'secret'), 'utf8'), 'mine');
});

test('artifacts: destinations outside the task dirs are refused', async () => {
  routes['/d'] = { body: 'd' };
  const e = await env();
  await mustFail(e, art(srv.url('/d'), { destination: victim }), /inside the task's dirs/);
  await mustFail(await env(), art(srv.url('/d'), { destination: 'local/../../../victim' }), /may only lead to the shared alloc dir/);
  await mustFail(await env(), art(srv.url('/d'), { destination: '${NOMAD_ALLOC_DIR}/logs' }), /other than logs/);
  routes['/logs.tar'] = { body: makeTar([{ name: 'logs/web.stdout.0', data: 'forged' }]) };
  await mustFail(await env(), art(srv.url('/logs.tar'), { destination: '${NOMAD_ALLOC_DIR}' }), /would replace logs/);
  const e4 = await env();
  await fetchArtifact(art(srv.url('/d'), { destination: '../alloc/d.txt', mode: 'file' }), e4.ctx);
  assert.equal(await fs.readFile(path.join(e4.dirs.allocDir, 'd.txt'), 'utf8'), 'd');
  const e2 = await env();
  await fetchArtifact(art(srv.url('/d'), { destination: `${e2.dirs.allocDir}/data` }), e2.ctx);
  assert.equal(await fs.readFile(path.join(e2.dirs.allocDir, 'data/d'), 'utf8'), 'd');
  const e3 = await env({}, { view: { taskDir: '/', allocDir: '/alloc' } });
  await fetchArtifact(art(srv.url('/d'), { destination: '/local/v' }), e3.ctx);
  assert.equal(await fs.readFile(path.join(e3.dirs.localDir, 'v/d'), 'utf8'), 'd');
});

test('artifacts: a download with a checksum is cached: the second fetch (a new task dir) makes no request', async () => {
  const body = gzip(makeTar([{ name: 'cached', data: 'v1' }]));
  routes['/cache.tgz'] = { body };
  const e = await env();
  const a = art(srv.url('/cache.tgz'), { options: { checksum: `sha256:${sha256(body)}` } });
  const r1 = await fetchArtifact(a, e.ctx);
  const dirs2 = await ensureTaskDirs(e.dataDir, 'd4e5f6', 'web');
  const r2 = await fetchArtifact(a, { ...e.ctx, dirs: dirs2 });
  assert.equal(srv.hits.get('/cache.tgz'), 1);
  assert.deepEqual([r1.cached, r2.cached], [false, true]);
  assert.equal(await fs.readFile(path.join(dirs2.localDir, 'cached'), 'utf8'), 'v1');
  const cacheDir = path.join(e.dataDir, 'artifacts/cache');
  assert.equal((await fs.stat(cacheDir)).mode & 0o777, 0o700);
});

test('artifacts: without a checksum the cache is re-validated with If-None-Match', async () => {
  routes['/etag.txt'] = { body: 'etag body', headers: { etag: '"v1"' } };
  const e = await env();
  await fetchArtifact(art(srv.url('/etag.txt')), e.ctx);
  const r = await fetchArtifact(art(srv.url('/etag.txt')), e.ctx);
  assert.equal(r.cached, true);
  assert.equal(srv.requests.at(-1)!['if-none-match'], '"v1"');
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'etag.txt'), 'utf8'), 'etag body');
});

test('artifacts: chown = true gives the task user the destination and what was placed', async (t: TestContext) => {
  if (!requireRoot(t)) return;
  routes['/own.tar.gz'] = { body: gzip(makeTar([{ name: 'd/', type: 'dir' }, { name: 'd/f', data: 'f' }, { name: 'l', type: 'symlink', linkname: 'd/f' }])) };
  const e = await env({}, { owner: { uid: 65534, gid: 65534 } });
  await fetchArtifact(art(srv.url('/own.tar.gz'), { destination: 'local/o', chown: true }), e.ctx);
  for (const p of ['o', 'o/d', 'o/d/f', 'o/l']) assert.equal((await fs.lstat(path.join(e.dirs.localDir, p))).uid, 65534, p);
  await fetchArtifact(art(srv.url('/own.tar.gz'), { destination: 'local/r' }), e.ctx);
  assert.equal((await fs.lstat(path.join(e.dirs.localDir, 'r/d/f'))).uid, 0, 'root by default, as in Nomad');
});

test('artifacts: local sources only from allowed dirs, relative to the job file', async () => {
  const jobDir = path.join(root, 'repo');
  await fs.mkdir(path.join(jobDir, 'files'), { recursive: true });
  await fs.writeFile(path.join(jobDir, 'files/app.tar'), makeTar([{ name: 'from-local', data: 'L' }]));
  await mustFail(await env({}, { jobDir }), art('files/app.tar'), /local sources are refused/);
  await mustFail(await env({}, { jobDir, allowedLocalDirs: [path.join(jobDir, 'files')] }), art(secretPath()), /not under an allowed local dir/);
  const e = await env({}, { jobDir, allowedLocalDirs: [path.join(jobDir, 'files')] });
  await fetchArtifact(art('files/app.tar'), e.ctx);
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'from-local'), 'utf8'), 'L');
  function secretPath() {
    return path.join(victim, 'secret');
  }
});

test('artifacts: git:: from a local bare repository, with ref and depth', async (t: TestContext) => {
  if (!requireGit(t)) return;
  const g = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'pipe' }).toString().trim();
  const repos = path.join(root, 'git');
  const work = path.join(repos, 'work');
  await fs.mkdir(work, { recursive: true });
  g(work, 'init', '-q');
  await fs.writeFile(path.join(work, 'VERSION'), 'v1\n');
  g(work, 'add', '.');
  g(work, 'commit', '-qm', 'one');
  g(work, 'tag', 'v1');
  await fs.writeFile(path.join(work, 'VERSION'), 'v2\n');
  await fs.symlink('/etc/passwd', path.join(work, 'evil'));
  g(work, 'add', '.');
  g(work, 'commit', '-qm', 'two');
  g(repos, 'clone', '-q', '--bare', work, 'repo.git');
  const url = `git::file://${path.join(repos, 'repo.git')}`;
  await mustFail(await env(), art(`${url}?ref=v1`), /local sources are refused/);
  const e = await env({}, { allowedLocalDirs: [repos] });
  await fetchArtifact(art(url, { destination: 'local/src', options: { ref: 'v1' } }), e.ctx);
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'src/VERSION'), 'utf8'), 'v1\n');
  await fetchArtifact(art(url, { destination: 'local/shallow', options: { ref: 'v1', depth: '1' } }), e.ctx);
  assert.equal(await fs.readFile(path.join(e.dirs.localDir, 'shallow/VERSION'), 'utf8'), 'v1\n');
  assert.ok(await fs.stat(path.join(e.dirs.localDir, 'shallow/.git/shallow')));
  await mustFail(await env({}, { allowedLocalDirs: [repos] }), art(url, { destination: 'local/head' }), /points outside the artifact/); // main has the link out
});
