/**
 * The entry point: fetch one artifact (or a task's list) into the task's
 * dirs. Order: parse and resolve (a problem here can never succeed: not
 * recoverable) → obtain the bytes (cache, download, local file, git clone)
 * and verify the checksum → unpack into an agent-only staging dir → check
 * and chown the staged tree → move it into the destination. A failure at any
 * step leaves the destination as it was.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../jobspec/model.js';
import { DirFd, assertSegment, type Owner } from '../safe-fs.js';
import { describeError, errnoCode } from '../errors.js';
import { ArtifactError, type FetchContext, type FetchResult } from './artifacts.js';
import { ArtifactCache } from './cache.js';
import { checksumFromSums, hashFile } from './checksum.js';
import { gitClone } from './git.js';
import { download, downloadText, redact } from './http.js';
import { finishStaged, mergeInto, openTarget, resolveTarget, targetPath, type Target } from './place.js';
import { formatOfPath, isLocalGit, localPathOf, parseSource, SourceProblem, stripFormat, type ParsedSource } from './source.js';
import { TreeWriter } from './tree-writer.js';
import { PLAIN_FILE_MODE, unpack } from './unpack.js';

/**
 * Fetch a task's artifacts in order (Nomad's artifact hook): stops at the
 * first failure, which is thrown (an ArtifactError; `recoverable` tells the
 * restart policy whether to try again).
 */
export async function fetchArtifacts(artifacts: readonly Artifact[], ctx: FetchContext): Promise<FetchResult[]> {
  const out: FetchResult[] = [];
  for (const a of artifacts) out.push(await fetchArtifact(a, ctx));
  return out;
}

/**
 * Fetch one artifact. Emits `Downloading Artifacts` when it starts and
 * `Failed Artifact Download` (with the reason) when it fails; throws
 * ArtifactError.
 */
export async function fetchArtifact(artifact: Artifact, ctx: FetchContext): Promise<FetchResult> {
  const what = `artifact ${redact(artifact.source)}`;
  ctx.onEvent('Downloading Artifacts', `downloading ${what}`);
  try {
    let parsed: ParsedSource;
    let target: Target;
    try {
      parsed = parseSource(artifact.source, artifact.options);
      target = resolveTarget(artifact.destination, artifact.mode, ctx.dirs, ctx.view);
    } catch (err) {
      if (err instanceof SourceProblem) throw new ArtifactError(`failed to fetch ${what}: ${err.message}`, { recoverable: false, cause: err });
      throw err;
    }
    return await fetchParsed(artifact, parsed, target, what, ctx);
  } catch (err) {
    const e = err instanceof ArtifactError ? err : new ArtifactError(`failed to fetch ${what}: ${describeError(err)}`, { recoverable: true, cause: err });
    ctx.onEvent('Failed Artifact Download', e.message);
    throw e;
  }
}

async function fetchParsed(artifact: Artifact, p: ParsedSource, target: Target, what: string, ctx: FetchContext): Promise<FetchResult> {
  const cache = new ArtifactCache(ctx.dataDir);
  await cache.init();
  const stage = await cache.staging();
  const owner: Owner | undefined = artifact.chown && ctx.owner && process.getuid?.() === 0 ? ctx.owner : undefined;
  try {
    const outPath = path.join(stage, 'out');
    await fs.mkdir(outPath, { mode: 0o700 });
    let cached = false;
    if (p.getter === 'git') {
      if (artifact.mode === 'file') throw new ArtifactError(`failed to fetch ${what}: a git repository cannot be fetched in mode "file"`, { recoverable: false });
      const local = isLocalGit(p.url);
      if (local) await allowedLocal(localPathOf(p.url), what, ctx);
      await gitClone({
        url: p.url, ref: p.ref, depth: p.depth, dir: outPath, timeoutMs: ctx.limits.gitTimeoutMs, signal: ctx.signal,
        inheritEnv: ctx.inheritEnv ?? [], allowFile: local,
      });
    } else {
      let content: string;
      let name: string;
      if (p.getter === 'http') {
        ({ file: content, cached } = await obtainHttp(p, artifact.headers, stage, cache, what, ctx));
        name = decodeURIComponent(path.posix.basename(new URL(p.url).pathname));
      } else {
        content = await allowedLocal(localPathOf(p.url), what, ctx);
        name = path.basename(content);
        const st = await fs.stat(content);
        if (st.isDirectory()) {
          if (p.checksum) throw new ArtifactError(`failed to fetch ${what}: a checksum needs a file, the source is a dir`, { recoverable: false });
          if (artifact.mode === 'file') throw new ArtifactError(`failed to fetch ${what}: mode "file" needs a file, the source is a dir`, { recoverable: false });
          await fs.cp(content, outPath, { recursive: true, verbatimSymlinks: true, errorOnExist: false, force: true });
          content = '';
        } else if (p.checksum) {
          const sum = 'fileUrl' in p.checksum ? await sumsFile(p.checksum.fileUrl, p.url, stage, what, ctx) : p.checksum;
          const got = await hashFile(content, sum.type, ctx.signal);
          if (got !== sum.hex) throw mismatch(what, sum.type, sum.hex, got);
        }
      }
      if (content) await unpackOrCopy(content, name, p, artifact.mode, target, outPath, what, ctx);
    }
    const out = await DirFd.openTrusted(outPath);
    try {
      const stats = await finishStaged(out, what, owner);
      const dest = await openTarget(target, owner);
      try {
        await mergeInto(out, dest, what, owner, 0, target.dirs.length ? [] : target.protect);
      } finally {
        await dest.close();
      }
      return { path: targetPath(target), cached, entries: stats.entries, bytes: stats.bytes };
    } finally {
      await out.close();
    }
  } finally {
    await fs.rm(stage, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function unpackOrCopy(
  content: string, name: string, p: ParsedSource, mode: Artifact['mode'], target: Target, outPath: string, what: string, ctx: FetchContext,
): Promise<void> {
  const format = p.archive === false ? undefined : (p.archive ?? formatOfPath(p.getter === 'http' ? new URL(p.url).pathname : content));
  if (!format) {
    if (mode === 'dir') throw new ArtifactError(`failed to fetch ${what}: mode "dir" needs an archive or a git repository, the source is a plain file`, { recoverable: false });
    const leaf = mode === 'file' ? target.leaf! : p.filename ?? name;
    if (!leaf || leaf === '.' || leaf === '..' || leaf === '/') {
      throw new ArtifactError(`failed to fetch ${what}: cannot tell a file name from the URL; set options { filename = "…" }`, { recoverable: false });
    }
    assertSegment(leaf);
    await fs.copyFile(content, path.join(outPath, leaf));
    await fs.chmod(path.join(outPath, leaf), PLAIN_FILE_MODE);
    return;
  }
  const root = await DirFd.openTrusted(outPath);
  try {
    const w = new TreeWriter(root, { maxBytes: ctx.limits.decompressionSizeLimit, maxEntries: ctx.limits.decompressionFileCountLimit }, what);
    const single = format === 'gz' || format === 'bz2' || format === 'xz' ? (mode === 'file' ? target.leaf! : stripFormat(p.filename ?? name, format)) : mode === 'file' ? target.leaf : undefined;
    await unpack(content, format, w, what, single);
  } finally {
    await root.close();
  }
}

/** The bytes of an http(s) source: from the cache, or downloaded (checksum verified) and cached. */
async function obtainHttp(
  p: ParsedSource, headers: Record<string, string>, stage: string, cache: ArtifactCache, what: string, ctx: FetchContext,
): Promise<{ file: string; cached: boolean }> {
  const sum = p.checksum === undefined ? undefined : 'fileUrl' in p.checksum ? await sumsFile(p.checksum.fileUrl, p.url, stage, what, ctx) : p.checksum;
  const key = ArtifactCache.key(sum ? `checksum:${sum.type}:${sum.hex}` : `url:${p.url}\n${Object.entries(headers).map(([k, v]) => `${k.toLowerCase()}: ${v}`).sort().join('\n')}`);
  const hit = await cache.get(key);
  if (hit && sum) return { file: hit.file, cached: true };
  const tmp = path.join(stage, 'download');
  const res = await download(p.url, tmp, {
    headers, timeoutMs: ctx.limits.httpReadTimeoutMs, maxBytes: ctx.limits.httpMaxBytes, signal: ctx.signal,
    ...(sum ? { hash: sum.type } : {}),
    ...(hit?.meta.etag ? { ifNoneMatch: hit.meta.etag } : {}),
    ...(hit?.meta.lastModified ? { ifModifiedSince: hit.meta.lastModified } : {}),
  });
  if (res.notModified) return { file: hit!.file, cached: true };
  if (sum && res.digest !== sum.hex) throw mismatch(what, sum.type, sum.hex, res.digest ?? '');
  const file = await cache.put(key, tmp, {
    source: redact(p.url), size: res.bytes, savedAt: new Date().toISOString(),
    ...(sum ? { checksum: `${sum.type}:${sum.hex}` } : {}),
    ...(res.etag ? { etag: res.etag } : {}),
    ...(res.lastModified ? { lastModified: res.lastModified } : {}),
  });
  return { file, cached: false };
}

/** `checksum = "file:URL"`: download the sums file and find the source's line. */
async function sumsFile(sumsUrl: string, source: string, stage: string, what: string, ctx: FetchContext) {
  const text = await downloadText(sumsUrl, path.join(stage, 'sums'), {
    headers: {}, timeoutMs: ctx.limits.httpReadTimeoutMs, maxBytes: ctx.limits.httpMaxBytes, signal: ctx.signal,
  });
  const srcPath = /^https?:\/\//i.test(source) ? decodeURIComponent(new URL(source).pathname) : source;
  let rel: string | undefined;
  try {
    rel = path.posix.relative(path.posix.dirname(new URL(sumsUrl).pathname), srcPath);
  } catch {
    rel = undefined;
  }
  const sum = checksumFromSums(text, path.posix.basename(srcPath), rel);
  if (!sum) throw new ArtifactError(`failed to fetch ${what}: no checksum for ${path.posix.basename(srcPath)} in ${redact(sumsUrl)}`, { recoverable: true });
  return sum;
}

function mismatch(what: string, type: string, want: string, got: string): ArtifactError {
  return new ArtifactError(`failed to fetch ${what}: checksums did not match: expected ${type}:${want}, got ${type}:${got}`, { recoverable: true, details: { expected: want, actual: got } });
}

/**
 * A local source's real path, when it lies under one of the allowed dirs
 * (both sides resolved with realpath, so a link cannot lead out).
 */
async function allowedLocal(p: string, what: string, ctx: FetchContext): Promise<string> {
  const allowed = ctx.allowedLocalDirs ?? [];
  if (!allowed.length) {
    throw new ArtifactError(`failed to fetch ${what}: local sources are refused unless the agent config allows their dir (client { artifact { allowed_local_dirs } })`, { recoverable: false });
  }
  const abs = path.isAbsolute(p) ? p : ctx.jobDir ? path.resolve(ctx.jobDir, p) : undefined;
  if (!abs) throw new ArtifactError(`failed to fetch ${what}: a relative local source needs the job file's dir`, { recoverable: false });
  let real: string;
  try {
    real = await fs.realpath(abs);
  } catch (err) {
    throw new ArtifactError(`failed to fetch ${what}: ${errnoCode(err) === 'ENOENT' ? 'no such file or directory' : describeError(err)}`, { recoverable: true, cause: err });
  }
  for (const dir of allowed) {
    const root = await fs.realpath(dir).catch(() => undefined);
    if (root && (real === root || real.startsWith(root.endsWith('/') ? root : `${root}/`))) return real;
  }
  throw new ArtifactError(`failed to fetch ${what}: ${real} is not under an allowed local dir (client { artifact { allowed_local_dirs } })`, { recoverable: false });
}
