/**
 * The variables dir (`client { variables { dir } }`): files a GitOps secret
 * pipeline (sops/age, a secret sync) writes, each one variable, read-only to
 * tend. Like the jobs dir, every scan reads the whole dir and reports the
 * whole set; chokidar events (debounced) and a periodic resync only decide
 * when.
 *
 * A file is a Nomad variable specification (var-spec.ts), `*.json` or
 * `*.hcl` (`*.nv.json`, `*.nv.hcl`), in the dir or a subdir. Its path is the
 * spec's `path`, else its name relative to the dir without the extension
 * (`nomad/jobs/web.json` → `nomad/jobs/web`). Two files claiming one path: the
 * first in path order wins, the other is reported. A file that fails to parse
 * keeps its last good variable (a sync caught mid-write never blanks a
 * secret) until it parses again or is removed.
 *
 * The files are secrets and the agent is root, so it reads only what only a
 * trusted writer could have put there, and says why it skipped anything else
 * (at warn, once per change, naming the file and never its content):
 *  - nothing is followed: a symbolic link (file or dir) is skipped, so a link
 *    planted to /etc/shadow is never opened; dirs are walked through dir fds,
 *    files opened with O_NOFOLLOW | O_NONBLOCK and checked by fstat;
 *  - only regular files with one link (a hard link to a file elsewhere is
 *    refused), at most 1 MiB;
 *  - no file readable by others (`chmod o-r`: a secret the whole host can read
 *    is refused, as ssh refuses a private key), and no file or dir writable by
 *    group or others (anyone could plant a value);
 *  - owned by root, the agent's user or the dir's owner (the sync tool);
 *  - hidden names (`.x`, editors' and k8s' `..data`), and other extensions,
 *    are ignored; at most 16 levels and 10,000 files.
 */
import { createHash } from 'node:crypto';
import { constants as C, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type pino from 'pino';
import { describeError, errnoCode } from '../errors.js';
import { DirFd } from '../safe-fs.js';
import { Debouncer } from '../source/debounce.js';
import { pathProblem } from './path.js';
import { parseVarSpec, specFormatOf, stripSpecExtension } from './var-spec.js';
import type { VariableItems } from './vars.js';

export const MAX_VAR_FILE_BYTES = 1024 * 1024;
export const MAX_DIR_DEPTH = 16;
export const MAX_DIR_FILES = 10_000;

/** One variable the dir provides. */
export interface DirVariable {
  path: string;
  items: VariableItems;
  /** Absolute path of the file (as seen through the dir's real path). */
  file: string;
  /** The file's mtime, epoch ms (the variable's modify time). */
  mtimeMs: number;
}

export interface VariableDirOptions {
  dir: string;
  logger: pino.Logger;
  /** Called after every scan that changed the set, with the whole set (path → variable). */
  onChange(set: Map<string, DirVariable>): void;
  /** Periodic full re-read, ms (default 30000). */
  resyncMs?: number;
  /** Debounce of watch events, ms (default 100). */
  debounceMs?: number;
  /** The agent's effective uid (default process.geteuid()). */
  uid?: number;
}

interface Cached {
  /** dev:ino:size:mtime:ctime of what was parsed. */
  key: string;
  /** Last good parse; kept while the file fails. */
  good?: { path: string; items: VariableItems; mtimeMs: number };
  /** Why the current content is not used (it parsed badly, it is too large). */
  error?: string;
}

export class VariableDir {
  readonly #dir: string;
  readonly #log: pino.Logger;
  readonly #opts: VariableDirOptions;
  readonly #uid: number;
  readonly #cache = new Map<string, Cached>();
  /** Why files or dirs were skipped, this scan and the one before: a reason is logged when it is new or changed. */
  #said = new Map<string, string>();
  #prevSaid = new Map<string, string>();
  #set = new Map<string, DirVariable>();
  #digest = '';
  #real: string | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #debouncer: Debouncer;
  #running: Promise<void> | undefined;
  #again: { verify: boolean } | undefined;
  #stopped = false;

  constructor(opts: VariableDirOptions) {
    this.#dir = path.resolve(opts.dir);
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'variables-dir', dir: this.#dir });
    this.#uid = opts.uid ?? process.geteuid?.() ?? 0;
    const debounce = opts.debounceMs ?? 100;
    this.#debouncer = new Debouncer(() => void this.scan(false), debounce, debounce * 10);
  }

  /** The set of the last scan. */
  current(): Map<string, DirVariable> {
    return this.#set;
  }

  /** First scan (awaited), then watch and resync. */
  async start(): Promise<void> {
    await this.scan(true);
    this.#timer = setInterval(() => void this.scan(true), this.#opts.resyncMs ?? 30_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#debouncer.cancel();
    clearInterval(this.#timer);
    while (this.#running) await this.#running;
    await this.#watcher?.close();
    this.#watcher = undefined;
  }

  /** Scan now (one at a time; asks made meanwhile share one more scan). `verify` re-reads files whose stat did not change. */
  scan(verify: boolean): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = { verify: (this.#again?.verify ?? false) || verify };
      return this.#running;
    }
    this.#running = (async () => {
      try {
        await this.#scanOnce(verify);
      } catch (err) {
        this.#log.error({ err: describeError(err) }, 'failed to scan the variables dir');
      }
      while (this.#again && !this.#stopped) {
        const again = this.#again;
        this.#again = undefined;
        try {
          await this.#scanOnce(again.verify);
        } catch (err) {
          this.#log.error({ err: describeError(err) }, 'failed to scan the variables dir');
        }
      }
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Note why a file or dir is skipped; logged when it was not said the same way by the scan before. */
  #say(key: string, message: string, fields: Record<string, unknown>): void {
    this.#said.set(key, message);
    if (this.#prevSaid.get(key) === message) return;
    this.#log.warn({ ...fields, reason: message }, 'variables file skipped');
  }

  async #scanOnce(verify: boolean): Promise<void> {
    this.#prevSaid = this.#said;
    this.#said = new Map();
    let real: string;
    let top: DirFd;
    try {
      real = await fsp.realpath(this.#dir);
      top = await DirFd.openTrusted(real);
    } catch (err) {
      // Missing (not yet synced, unmounted) or not a dir: what is in force stays, as with the jobs dir.
      this.#said = new Map([...this.#prevSaid, ['<dir>', 'missing']]);
      if (this.#prevSaid.get('<dir>') !== 'missing') this.#log.warn({ code: errnoCode(err), err: describeError(err) }, 'variables dir not readable; keeping what was loaded');
      return;
    }
    const found: { file: string; result: Cached }[] = [];
    try {
      await this.#watch(real);
      const st = await top.stat();
      const problem = dirProblem(st, this.#uid, st.uid);
      if (problem) {
        this.#said.set('<dir>', problem);
        if (this.#prevSaid.get('<dir>') !== problem) this.#log.error({ reason: problem }, 'variables dir refused: no file in it is read');
        this.#cache.clear();
        this.#publish(new Map());
        return;
      }
      await this.#walk(top, real, [], 0, st.uid, verify, found);
    } finally {
      await top.close();
    }
    const seen = new Set(found.map((f) => f.file));
    for (const f of this.#cache.keys()) if (!seen.has(f)) this.#cache.delete(f);
    const set = new Map<string, DirVariable>();
    for (const f of found) {
      const good = f.result.good;
      if (!good) continue;
      const owner = set.get(good.path);
      if (owner) {
        this.#say(`${f.file}#claim`, `variable ${good.path} is already defined by ${owner.file}`, { file: f.file, path: good.path });
        continue;
      }
      set.set(good.path, { path: good.path, items: good.items, file: f.file, mtimeMs: good.mtimeMs });
    }
    this.#publish(set);
  }

  #publish(set: Map<string, DirVariable>): void {
    // Compared by a digest of paths, files and items: in memory only, never logged.
    const h = createHash('sha256');
    for (const v of [...set.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(JSON.stringify([v.path, v.file, Object.entries(v.items).sort()]));
    const digest = h.digest('hex');
    if (digest === this.#digest) return;
    this.#digest = digest;
    this.#set = set;
    this.#log.info({ variables: set.size }, 'variables dir loaded');
    try {
      this.#opts.onChange(set);
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'variables dir listener failed');
    }
  }

  async #walk(
    dir: DirFd,
    dirPath: string,
    rel: string[],
    depth: number,
    dirOwner: number,
    verify: boolean,
    found: { file: string; result: Cached }[],
  ): Promise<void> {
    const names = (await dir.list()).filter((n) => !n.startsWith('.')).sort();
    for (const name of names) {
      if (this.#stopped) return;
      const file = path.join(dirPath, name);
      const st = await dir.lstat(name);
      if (!st) continue;
      if (st.isSymbolicLink()) {
        this.#say(file, 'a symbolic link: links are never followed in the variables dir', { file });
        continue;
      }
      if (st.isDirectory()) {
        if (depth + 1 >= MAX_DIR_DEPTH) {
          this.#say(file, `deeper than ${MAX_DIR_DEPTH} levels`, { file });
          continue;
        }
        let sub: DirFd;
        try {
          sub = await dir.openDir(name);
        } catch (err) {
          this.#say(file, `not opened: ${errnoCode(err) ?? describeError(err)}`, { file });
          continue;
        }
        try {
          const problem = dirProblem(await sub.stat(), this.#uid, dirOwner);
          if (problem) this.#say(file, problem, { file });
          else await this.#walk(sub, file, [...rel, name], depth + 1, dirOwner, verify, found);
        } finally {
          await sub.close();
        }
        continue;
      }
      const format = specFormatOf(name);
      if (!format) continue;
      if (!st.isFile()) {
        // Never opened: a device's open can have effects, a FIFO's can block.
        this.#say(file, 'not a regular file', { file });
        continue;
      }
      if (found.length >= MAX_DIR_FILES) {
        this.#say('<limit>', `more than ${MAX_DIR_FILES} files: the rest are not read`, {});
        return;
      }
      const result = await this.#readFile(dir, name, file, [...rel, name].join('/'), format, dirOwner, verify);
      if (result) found.push({ file, result });
    }
  }

  /** The cache entry of one file after looking at it; undefined when it is not a file to read. */
  async #readFile(dir: DirFd, name: string, file: string, rel: string, format: 'json' | 'hcl', dirOwner: number, verify: boolean): Promise<Cached | undefined> {
    let fh;
    try {
      fh = await dir.openFile(name, C.O_RDONLY | C.O_NONBLOCK);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return undefined; // gone meanwhile
      this.#say(file, code === 'ELOOP' ? 'a symbolic link: links are never followed in the variables dir' : `not opened: ${code ?? describeError(err)}`, { file });
      return this.#cache.get(file);
    }
    try {
      const st = await fh.stat();
      const problem = fileProblem(st, this.#uid, dirOwner);
      if (problem) {
        this.#say(file, problem, { file });
        this.#cache.delete(file);
        return undefined;
      }
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      const cached = this.#cache.get(file);
      if (cached && cached.key === key && !verify) {
        if (cached.error) this.#say(file, cached.error, { file });
        return cached;
      }
      const buf = Buffer.alloc(Math.min(st.size, MAX_VAR_FILE_BYTES) + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_VAR_FILE_BYTES) {
        const entry: Cached = { key, good: cached?.good, error: `larger than ${MAX_VAR_FILE_BYTES} bytes` };
        this.#say(file, entry.error!, { file });
        this.#cache.set(file, entry);
        return entry;
      }
      const text = buf.subarray(0, bytesRead).toString('utf8');
      try {
        const spec = await parseVarSpec(text, format, file);
        const varPath = spec.path ?? stripSpecExtension(rel);
        const problem = spec.path === undefined ? pathProblem(varPath) : undefined;
        if (problem) throw new Error(`the path from its file name is invalid (${problem}); set path in the file`);
        const entry: Cached = { key, good: { path: varPath, items: spec.items, mtimeMs: Math.round(st.mtimeMs) } };
        this.#cache.set(file, entry);
        return entry;
      } catch (err) {
        const kept = cached?.good;
        const entry: Cached = { key, good: kept, error: `${describeError(err)}${kept ? ' (its last good version stays in force)' : ''}` };
        this.#say(file, entry.error!, { file });
        this.#cache.set(file, entry);
        return entry;
      }
    } finally {
      await fh.close();
    }
  }

  /** chokidar on the dir's real path, moved when the path starts pointing elsewhere. */
  async #watch(real: string): Promise<void> {
    if (this.#real === real && this.#watcher) return;
    await this.#watcher?.close();
    this.#real = real;
    if (this.#stopped) return;
    const w = watch(real, {
      ignoreInitial: true,
      followSymlinks: false,
      depth: MAX_DIR_DEPTH,
      ignored: (p: string) => p !== real && path.basename(p).startsWith('.'),
    });
    w.on('all', () => this.#debouncer.trigger());
    w.on('error', (err) => this.#log.warn({ err: describeError(err) }, 'variables dir watch error; relying on resync'));
    this.#watcher = w;
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }
}

/** Why a dir of the variables tree is refused, or undefined. */
function dirProblem(st: Stats, uid: number, dirOwner: number): string | undefined {
  if ((st.mode & 0o022) !== 0) return `a dir writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}): anyone could plant a variable; chmod go-w`;
  if (st.uid !== 0 && st.uid !== uid && st.uid !== dirOwner) return `a dir owned by uid ${st.uid}: expected root, the agent's user or the dir's owner`;
  return undefined;
}

/** Why a file is not read, or undefined. */
function fileProblem(st: Stats, uid: number, dirOwner: number): string | undefined {
  if (!st.isFile()) return 'not a regular file';
  if (st.nlink !== 1) return `a file with ${st.nlink} hard links: expected one (a link to a file elsewhere is never read)`;
  const mode = (st.mode & 0o7777).toString(8);
  if (st.mode & 0o004) return `readable by everyone (mode ${mode}): a secret the whole host can read; chmod o-r`;
  if (st.mode & 0o022) return `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${mode}): anyone could change it; chmod go-w`;
  if (st.uid !== 0 && st.uid !== uid && st.uid !== dirOwner) return `owned by uid ${st.uid}: expected root, the agent's user or the dir's owner`;
  return undefined;
}
