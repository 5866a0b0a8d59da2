/**
 * Artifacts: the contract of `artifact { source, destination, mode, options,
 * headers, chown }`, with go-getter's semantics for what one node can do.
 *
 * Getters:
 *  - `http`/`https` (also `http::`/`https::` forced): Node's fetch, with
 *    `client { artifact { http_read_timeout, http_max_size } }`. Query
 *    parameters and `options` other than go-getter's magic ones (`checksum`,
 *    `archive`, `filename`) go to the server, as in Nomad (options are
 *    appended to the source URL).
 *  - `git::URL` (and `github.com/o/r`, `gitlab.com/o/r`, `git@host:path`):
 *    the `git` command, `ref` and `depth` options, `git_timeout`. Submodules
 *    are not fetched.
 *  - local paths and `file://`: refused unless the path (relative paths
 *    resolve against the job file's dir) lies under one of the agent's
 *    `client { artifact { allowed_local_dirs } }` (a tend key).
 *  - `s3::`, `gcs::`, `hg::`, `smb::`, S3/GCS hosts, other schemes: an
 *    `unsupported` error at validate, naming the source type.
 *
 * Checksums (`options { checksum = "type:hex" }`, a bare hex guessed by its
 * length, or `file:URL` of a BSD- or GNU-style sums file): md5, sha1, sha256,
 * sha512, verified on the downloaded bytes before anything is unpacked.
 *
 * Archives (`.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz`,
 * `.zip`, `.gz`, `.bz2`, `.xz`, by the URL path's suffix or `options {
 * archive = "tar.gz" }`; `archive = false` keeps the file as is) are unpacked
 * into the destination dir (mode "any"/"dir") or to the destination file
 * (mode "file": the archive must hold one file). A plain `.gz`/`.bz2`/`.xz`
 * in mode "any"/"dir" becomes `<destination>/<name without the suffix>`
 * (go-getter refuses it).
 *
 * Destination: relative to the task dir (default `local/`); `${NOMAD_TASK_DIR}`,
 * `${NOMAD_SECRETS_DIR}` and `${NOMAD_ALLOC_DIR}` prefixes map to the task's
 * `local/`, `secrets/` and the group's `alloc/` dir; absolute paths (after
 * interpolation) are accepted only inside the task's own dir or alloc dir,
 * either as the host sees them or as the task does (`view`). `..` may only
 * lead into the shared alloc dir (`../alloc/…`, as Nomad's own jobs write);
 * the alloc dir's `logs/` is never a destination.
 *
 * Safety: everything is fetched and unpacked into a staging dir only the
 * agent can write (`<data_dir>/artifacts/tmp/`), through dir fds with
 * O_NOFOLLOW and O_EXCL: an entry naming `..` or an absolute path, a symlink
 * whose target leaves the artifact, an entry reached through a symlink, and
 * a hard link to anything but an earlier file of the same archive are
 * refused; setuid/setgid/sticky bits are dropped; the decompression limits
 * count every entry and every byte written. Only then is the staged tree
 * moved into the destination through dir fds: a link or file the task
 * planted on the way is replaced, never followed, and nothing outside the
 * destination is touched. With `chown = true` (Nomad's default: false) the
 * destination and what was placed belong to the task's user (fchown/lchown,
 * never following links).
 *
 * Cache: `<data_dir>/artifacts/cache/<sha256 of the key>` (agent only, 0700).
 * The key is the checksum when there is one (a hit makes no request at all),
 * else the URL and headers, re-validated with If-None-Match /
 * If-Modified-Since (a 304 reuses the file; without validators the file is
 * fetched again).
 */
import type { Owner } from '../safe-fs.js';
import { TendError } from '../errors.js';

/** Nomad's `client { artifact { … } }` limits, resolved. */
export interface ArtifactLimits {
  /** `http_read_timeout` (default "30m"): the whole download must finish in this time. */
  httpReadTimeoutMs: number;
  /** `http_max_size` (default "100GB"): bytes of one download (a checksum file counts too). */
  httpMaxBytes: number;
  /** `git_timeout` (default "30m"): one git command. */
  gitTimeoutMs: number;
  /** `decompression_size_limit` (default "100GB"): bytes unpacked from one archive; 0 = no limit. */
  decompressionSizeLimit: number;
  /** `decompression_file_count_limit` (default 4096): entries in one archive; 0 = no limit. */
  decompressionFileCountLimit: number;
}

/** Nomad's defaults (`100GB` is humanize's SI gigabytes). */
export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  httpReadTimeoutMs: 30 * 60_000,
  httpMaxBytes: 100e9,
  gitTimeoutMs: 30 * 60_000,
  decompressionSizeLimit: 100e9,
  decompressionFileCountLimit: 4096,
};

/** Task events, Nomad's names. */
export type ArtifactEventType = 'Downloading Artifacts' | 'Failed Artifact Download';

/** Where the task's dirs are: host paths, and how the task sees them. */
export interface ArtifactDirs {
  /** Host path of the task dir (`<data_dir>/alloc/<id>/<task>`): agent-owned, holds local/, secrets/, tmp/. */
  taskDir: string;
  /** Host path of the group's shared `alloc/` dir. */
  allocDir: string;
}

export interface FetchContext {
  /** The task's dirs (TaskDirs from src/drivers/alloc-dir.ts fits). */
  dirs: ArtifactDirs;
  /**
   * How the task sees its dirs, when an interpolated destination may hold
   * them (exec: `{ taskDir: '/', allocDir: '/alloc' }`). Host paths are
   * always understood.
   */
  view?: ArtifactDirs;
  /** The agent's data dir: `<data_dir>/artifacts/{cache,tmp}` live there. */
  dataDir: string;
  /** The task's user; applied when the artifact says `chown = true` (and the agent is root). */
  owner?: Owner;
  limits: ArtifactLimits;
  /** Dir of the job file: base of relative local sources. */
  jobDir?: string;
  /** Host dirs local sources may come from (agent config); none = local sources refused. */
  allowedLocalDirs?: string[];
  /** Agent environment variables passed to `git` (Nomad's `set_environment_variables`). */
  inheritEnv?: string[];
  signal: AbortSignal;
  onEvent(type: ArtifactEventType, message: string): void;
}

/** What one fetch did. */
export interface FetchResult {
  /** Host path of what was written: the destination dir, or the file (mode "file" / a plain file). */
  path: string;
  /** True when the bytes came from the cache (no download, or a 304). */
  cached: boolean;
  /** Entries placed (files, dirs and links) and bytes written. */
  entries: number;
  bytes: number;
}

/**
 * A failed artifact. `recoverable` says whether trying again may help
 * (network, server, checksum mismatch, limits: as in Nomad, the restart
 * policy decides) or not (a source or destination that can never work).
 */
export class ArtifactError extends TendError {
  readonly recoverable: boolean;
  constructor(message: string, o: { recoverable: boolean; cause?: unknown; details?: Record<string, unknown> }) {
    super('E_ARTIFACT', message, { cause: o.cause, details: { ...o.details, recoverable: o.recoverable } });
    this.name = 'ArtifactError';
    this.recoverable = o.recoverable;
  }
}

export function isArtifactError(err: unknown): err is ArtifactError {
  return err instanceof ArtifactError;
}
