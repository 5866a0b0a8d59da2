/**
 * Pure parsing of an artifact's source, options and destination (no I/O):
 * used at validate (src/jobspec/artifact-check.ts) and before a fetch.
 * Follows go-getter's detection: a forced getter (`git::`, `http::`, …),
 * then GitHub/GitLab/SSH shorthands, S3/GCS hosts, URL schemes, and finally
 * a local path.
 */

export type ChecksumType = 'md5' | 'sha1' | 'sha256' | 'sha512';
export type ChecksumSpec = { type: ChecksumType; hex: string } | { fileUrl: string };
export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'zip' | 'gz' | 'bz2' | 'xz';

export interface ParsedSource {
  getter: 'http' | 'git' | 'file';
  /** http: the URL sent (remaining query kept); git: the repository URL; file: the path as written. */
  url: string;
  checksum?: ChecksumSpec;
  /** From `archive`: false = never unpack; a format = unpack as that; undefined = by suffix. */
  archive?: ArchiveFormat | false;
  /** go-getter's `filename` (mode "any", a plain file). */
  filename?: string;
  ref?: string;
  depth?: number;
}

/** A problem with a source: `unsupported` (a getter tend has not) or `invalid`. */
export class SourceProblem extends Error {
  constructor(
    readonly kind: 'unsupported' | 'invalid',
    message: string,
    /** The option the problem is in (`checksum`, `depth`, …), for locating it. */
    readonly option?: string,
  ) {
    super(message);
  }
}

const HEX_LEN: Record<ChecksumType, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };
const UNSUPPORTED_GETTERS: Record<string, string> = {
  s3: 'S3', gcs: 'GCS', hg: 'Mercurial', smb: 'SMB', oci: 'OCI',
};
/** Suffix → format, longest first (go-getter's decompressor names). */
const SUFFIXES: [string, ArchiveFormat][] = [
  ['.tar.bz2', 'tar.bz2'], ['.tar.gz', 'tar.gz'], ['.tar.xz', 'tar.xz'], ['.tbz2', 'tar.bz2'], ['.tgz', 'tar.gz'],
  ['.txz', 'tar.xz'], ['.tar', 'tar'], ['.zip', 'zip'], ['.bz2', 'bz2'], ['.gz', 'gz'], ['.xz', 'xz'],
];
const FORMAT_NAMES: Record<string, ArchiveFormat> = {
  tar: 'tar', 'tar.gz': 'tar.gz', tgz: 'tar.gz', 'tar.bz2': 'tar.bz2', tbz2: 'tar.bz2', 'tar.xz': 'tar.xz', txz: 'tar.xz',
  zip: 'zip', gz: 'gz', bz2: 'bz2', xz: 'xz',
};
const UNSUPPORTED_FORMATS = ['zst', 'tar.zst', 'tzst'];

/** Parse `type:hex`, a bare hex (type by length) or `file:URL`. */
export function parseChecksum(v: string): ChecksumSpec {
  const colon = v.indexOf(':');
  if (colon < 0) {
    const type = (Object.keys(HEX_LEN) as ChecksumType[]).find((t) => HEX_LEN[t] === v.length);
    if (!type || !/^[0-9a-fA-F]+$/.test(v)) throw new SourceProblem('invalid', `checksum: expected "TYPE:HEX" (md5, sha1, sha256, sha512) or "file:URL", got "${v}"`, 'checksum');
    return { type, hex: v.toLowerCase() };
  }
  const kind = v.slice(0, colon).toLowerCase();
  const rest = v.slice(colon + 1);
  if (kind === 'file') {
    if (!/^https?:\/\/[^/]/i.test(rest)) throw new SourceProblem('invalid', `checksum: expected "file:" followed by an http(s) URL, got "${v}"`, 'checksum');
    return { fileUrl: rest };
  }
  if (!(kind in HEX_LEN)) throw new SourceProblem('invalid', `checksum: expected type md5, sha1, sha256 or sha512, got "${kind}"`, 'checksum');
  const type = kind as ChecksumType;
  if (rest.length !== HEX_LEN[type] || !/^[0-9a-fA-F]+$/.test(rest)) {
    throw new SourceProblem('invalid', `checksum: expected ${HEX_LEN[type]} hex digits for ${type}, got "${rest}"`, 'checksum');
  }
  return { type, hex: rest.toLowerCase() };
}

/** The archive format a URL path ends with (longest suffix), if any. */
export function formatOfPath(p: string): ArchiveFormat | undefined {
  const lower = p.toLowerCase();
  return SUFFIXES.find(([s]) => lower.endsWith(s))?.[1];
}

/** `name.tar.gz` → `name` etc.: what a single decompressed file is called. */
export function stripFormat(name: string, f: ArchiveFormat): string {
  const s = SUFFIXES.find(([suf, fmt]) => fmt === f && name.toLowerCase().endsWith(suf));
  return s ? name.slice(0, -s[0].length) || name : name;
}

function parseArchive(v: string): ArchiveFormat | false {
  if (['false', '0', 'f', 'F', 'FALSE', 'False', ''].includes(v)) return false;
  const f = FORMAT_NAMES[v.toLowerCase()];
  if (f) return f;
  if (UNSUPPORTED_FORMATS.includes(v.toLowerCase())) throw new SourceProblem('unsupported', `archive: format "${v}" is not supported (tar, tar.gz, tar.bz2, tar.xz, zip, gz, bz2, xz)`, 'archive');
  throw new SourceProblem('invalid', `archive: expected false or one of tar, tar.gz, tgz, tar.bz2, tar.xz, zip, gz, bz2, xz, got "${v}"`, 'archive');
}

const isS3Host = (h: string) => /(^|\.)s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/i.test(h);
const isGcsHost = (h: string, p: string) => /^storage\.googleapis\.com$/i.test(h) || (/^www\.googleapis\.com$/i.test(h) && p.startsWith('/storage/'));

/**
 * The getter and its parameters for `source` with `options` (which override
 * the URL's own query parameters, as Nomad appends them to the URL).
 * Throws SourceProblem.
 */
export function parseSource(source: string, options: Record<string, string> = {}): ParsedSource {
  let s = source.trim();
  if (!s) throw new SourceProblem('invalid', 'source: expected a URL or path, got ""');
  let forced: string | undefined;
  const f = /^([A-Za-z0-9]+)::(.*)$/s.exec(s);
  if (f) {
    forced = f[1].toLowerCase();
    s = f[2];
  }
  if (forced && UNSUPPORTED_GETTERS[forced]) throw unsupported(forced);
  if (forced && !['http', 'https', 'git', 'file'].includes(forced)) throw new SourceProblem('invalid', `source: unknown getter "${forced}::" (tend has http, https, git and file)`);

  // Shorthands go-getter detects without a forced getter.
  if (!forced || forced === 'git') {
    const gh = /^(github\.com|gitlab\.com|bitbucket\.org)\/([^?]+?)(\?.*)?$/i.exec(s);
    if (gh && !/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      forced = 'git';
      const repo = gh[2].replace(/\.git$/, '');
      s = `https://${gh[1].toLowerCase()}/${repo}.git${gh[3] ?? ''}`;
    } else if (/^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[^/]/.test(s) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      forced = 'git'; // git@github.com:org/repo.git
    }
  }

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1].toLowerCase();
  let getter: ParsedSource['getter'];
  if (forced === 'git') getter = 'git';
  else if (forced === 'http' || forced === 'https') getter = 'http';
  else if (forced === 'file') getter = 'file';
  else if (scheme === 'http' || scheme === 'https') getter = 'http';
  else if (scheme === 'file') getter = 'file';
  else if (scheme === 's3') throw unsupported('s3');
  else if (scheme === 'gs' || scheme === 'gcs') throw unsupported('gcs');
  else if (scheme) throw new SourceProblem('unsupported', `source: URL scheme "${scheme}://" is not supported (tend fetches http, https, git:: and allowed local paths)`);
  else if (isS3Host(s.split('/')[0])) throw unsupported('s3');
  else if (isGcsHost(s.split('/')[0], `/${s.split('/').slice(1).join('/')}`)) throw unsupported('gcs');
  else getter = 'file';

  // Query parameters: the URL's, overridden by options.
  const q = splitQuery(s);
  const params = new Map(q.params);
  for (const [k, v] of Object.entries(options)) params.set(k, v);
  const out: ParsedSource = { getter, url: q.base };
  const take = (k: string): string | undefined => {
    const v = params.get(k);
    params.delete(k);
    return v;
  };
  const checksum = take('checksum');
  if (checksum !== undefined && checksum !== '') out.checksum = parseChecksum(checksum);
  const archive = take('archive');
  if (archive !== undefined) out.archive = parseArchive(archive);
  const filename = take('filename');
  if (filename !== undefined && filename !== '') {
    if (filename === '.' || filename === '..' || filename.includes('/') || filename.includes('\0')) {
      throw new SourceProblem('invalid', `filename: expected a file name without "/", got "${filename}"`, 'filename');
    }
    out.filename = filename;
  }

  if (getter === 'http') {
    const u = tryUrl(q.base);
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new SourceProblem('invalid', `source: expected an http(s) URL, got "${source}"`);
    if (isS3Host(u.hostname)) throw unsupported('s3');
    if (isGcsHost(u.hostname, u.pathname)) throw unsupported('gcs');
    if (hasSubdir(u.pathname)) throw new SourceProblem('unsupported', 'source: go-getter subdirectories ("//sub" in the path) are not supported');
    for (const [k, v] of params) u.searchParams.append(k, v);
    out.url = u.toString();
  } else if (getter === 'git') {
    const ref = take('ref');
    if (ref !== undefined && ref !== '') {
      if (ref.startsWith('-') || /[\s\0]/.test(ref)) throw new SourceProblem('invalid', `ref: expected a branch, tag or commit, got "${ref}"`, 'ref');
      out.ref = ref;
    }
    const depth = take('depth');
    if (depth !== undefined && depth !== '') {
      if (!/^\d+$/.test(depth) || Number(depth) < 1) throw new SourceProblem('invalid', `depth: expected a whole number >= 1, got "${depth}"`, 'depth');
      out.depth = Number(depth);
    }
    if (take('sshkey') !== undefined) throw new SourceProblem('unsupported', 'sshkey: an inline SSH key is not supported (use the agent user\'s SSH config)', 'sshkey');
    if (params.size) throw new SourceProblem('invalid', `source: unknown git option "${[...params.keys()][0]}" (git takes ref and depth)`, [...params.keys()][0]);
    const gs = /^([a-z][a-z0-9+.-]*):\/\//i.exec(q.base)?.[1].toLowerCase();
    if (q.base.startsWith('-')) throw new SourceProblem('invalid', `source: expected a repository URL, got "${source}"`);
    const transport = /^([A-Za-z0-9+.-]+)::/.exec(q.base)?.[1];
    if (transport) throw new SourceProblem('unsupported', `source: git over "${transport}::" is not supported (https, http, ssh, git, file)`);
    if (gs && !['https', 'http', 'ssh', 'git', 'file'].includes(gs)) throw new SourceProblem('unsupported', `source: git over "${gs}://" is not supported (https, http, ssh, git, file)`);
    if (gs && gs !== 'file' && hasSubdir(tryUrl(q.base)?.pathname ?? '')) throw new SourceProblem('unsupported', 'source: go-getter subdirectories ("//sub" in the path) are not supported');
  } else {
    if (params.size) throw new SourceProblem('invalid', `source: unknown option "${[...params.keys()][0]}" for a local path`, [...params.keys()][0]);
  }
  return out;
}

/** Is a git URL a local repository (file:// or a path)? Those need an allowed local dir. */
export function isLocalGit(url: string): boolean {
  if (/^file:\/\//i.test(url)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return false;
  return !/^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:/.test(url); // not scp-like ssh
}

/** A local source's path: `file://` stripped (percent-decoded). */
export function localPathOf(url: string): string {
  if (/^file:\/\//i.test(url)) {
    const u = tryUrl(url);
    return u ? decodeURIComponent(u.pathname) : url.slice(7);
  }
  return url;
}

function unsupported(getter: string): SourceProblem {
  return new SourceProblem('unsupported', `source: ${UNSUPPORTED_GETTERS[getter] ?? getter} artifacts ("${getter}") are not supported by tend (http, https, git and allowed local paths are)`);
}

function tryUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function hasSubdir(pathname: string): boolean {
  return pathname.slice(1).includes('//');
}

function splitQuery(s: string): { base: string; params: [string, string][] } {
  const i = s.indexOf('?');
  if (i < 0) return { base: s, params: [] };
  return { base: s.slice(0, i), params: [...new URLSearchParams(s.slice(i + 1))] };
}

/** Where a destination points before it is resolved: the base dir and the relative segments. */
export interface DestinationSpec {
  base: 'task' | 'alloc' | 'absolute';
  /** Path segments under the base (`local`, `bin`), or the absolute path's segments. */
  segments: string[];
}

const DEST_PREFIXES: [string, DestinationSpec['base'], string[]][] = [
  ['${NOMAD_TASK_DIR}', 'task', ['local']],
  ['${NOMAD_SECRETS_DIR}', 'task', ['secrets']],
  ['${NOMAD_ALLOC_DIR}', 'alloc', []],
];

/**
 * Split a destination into its base and segments. Relative paths are under
 * the task dir; the NOMAD_*_DIR prefixes map as documented; `..` may only
 * lead into the group's shared dir (`../alloc/…`, as Nomad's own jobs write);
 * an absolute path is returned as such (only an interpolated one can be
 * placed). Throws SourceProblem.
 */
export function parseDestination(dest: string, { allowAbsolute }: { allowAbsolute: boolean }): DestinationSpec {
  let rest = dest === '' ? 'local/' : dest;
  let spec: DestinationSpec = { base: 'task', segments: [] };
  for (const [prefix, base, segs] of DEST_PREFIXES) {
    if (rest === prefix || rest.startsWith(`${prefix}/`)) {
      spec = { base, segments: [...segs] };
      rest = rest.slice(prefix.length);
      break;
    }
  }
  if (rest.includes('\0')) throw new SourceProblem('invalid', 'destination: a NUL character is not allowed');
  if (spec.segments.length === 0 && spec.base === 'task' && rest.startsWith('/')) {
    if (!allowAbsolute) {
      throw new SourceProblem('invalid', `destination: expected a path relative to the task dir (e.g. "local/bin", or "\${NOMAD_ALLOC_DIR}/data"), got "${dest}"`);
    }
    spec = { base: 'absolute', segments: [] };
  }
  const escapes = () => new SourceProblem('invalid', `destination: ".." may only lead to the shared alloc dir ("../alloc/…"), got "${dest}"`);
  let up = false;
  for (const seg of rest.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (up) {
      if (seg !== 'alloc') throw escapes();
      spec = { base: 'alloc', segments: [] };
      up = false;
      continue;
    }
    if (seg === '..') {
      if (spec.segments.length) spec.segments.pop();
      else if (spec.base === 'task') up = true;
      else throw escapes();
      continue;
    }
    spec.segments.push(seg);
  }
  if (up) throw escapes();
  return spec;
}
