/**
 * The download cache and staging dirs, agent-only (0700) under
 * `<data_dir>/artifacts/`:
 *
 *   cache/<key>        the bytes of one download (key: sha256 of the cache key)
 *   cache/<key>.json   what is known about them (size, validators, checksum)
 *   tmp/<random>/      one fetch's staging dir, removed when it ends
 *
 * A cache key is the verified checksum (`checksum:sha256:…`) or, without
 * one, the URL and the request headers (`url:…`); headers may hold secrets,
 * so only the hash is a file name and the meta file keeps no header.
 * Entries are written to tmp/ and renamed in, so a crash leaves no partial
 * entry. Nothing evicts entries yet.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathUnder } from '../safe-fs.js';
import { errnoCode } from '../errors.js';

/** Age past which a leftover in tmp/ is certainly no fetch in progress (timeouts are 30 min by default). */
const STALE_MS = 24 * 3_600_000;

export interface CacheMeta {
  /** The URL, redacted. */
  source: string;
  size: number;
  /** `type:hex` when the bytes were verified against a checksum. */
  checksum?: string;
  etag?: string;
  lastModified?: string;
  savedAt: string;
}

export class ArtifactCache {
  readonly root: string;
  readonly tmp: string;

  constructor(dataDir: string) {
    this.root = pathUnder(dataDir, 'artifacts', 'cache');
    this.tmp = pathUnder(dataDir, 'artifacts', 'tmp');
  }

  async init(): Promise<void> {
    await fs.mkdir(path.dirname(this.root), { recursive: true, mode: 0o700 });
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await this.#sweep();
  }

  /** Staging dirs and partial files older than a day (an agent that died mid-fetch) are removed. */
  async #sweep(): Promise<void> {
    const cutoff = Date.now() - STALE_MS;
    for (const name of await fs.readdir(this.tmp).catch(() => [] as string[])) {
      const started = parseInt(name.split(/[-.]/)[0], 36);
      if (Number.isFinite(started) && started < cutoff) await fs.rm(pathUnder(this.tmp, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  static key(text: string): string {
    return createHash('sha256').update(text).digest('hex');
  }

  /** A fresh staging dir (removed by the caller). */
  async staging(): Promise<string> {
    const dir = pathUnder(this.tmp, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** The entry, when its file is there with the recorded size. */
  async get(key: string): Promise<{ file: string; meta: CacheMeta } | undefined> {
    const file = pathUnder(this.root, key);
    try {
      const meta = JSON.parse(await fs.readFile(`${file}.json`, 'utf8')) as CacheMeta;
      const st = await fs.lstat(file);
      if (!st.isFile() || st.size !== meta.size) return undefined;
      return { file, meta };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /** Move a downloaded file in (rename from tmp/) and record its meta; returns the cached file. */
  async put(key: string, downloaded: string, meta: CacheMeta): Promise<string> {
    const file = pathUnder(this.root, key);
    const metaTmp = pathUnder(this.tmp, `${Date.now().toString(36)}.${randomBytes(4).toString('hex')}.json`);
    await fs.writeFile(metaTmp, JSON.stringify(meta), { mode: 0o600 });
    await fs.rename(downloaded, file);
    await fs.rename(metaTmp, `${file}.json`);
    return file;
  }
}
