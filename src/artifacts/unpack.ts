/**
 * Unpacking archives into a TreeWriter: tar (plain, gzip, bzip2, xz) read
 * with node-tar's Parser (entries only: every write is the TreeWriter's),
 * zip with yauzl (central directory, entry sizes validated), and single
 * compressed files. gzip is Node's zlib; bzip2 (unbzip2-stream) and xz
 * (xz-decompress, WebAssembly) are pure JS/wasm, no native builds.
 */
import { createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadEntry } from 'tar';
import type yauzl from 'yauzl';
import { ArtifactError } from './artifacts.js';
import type { ArchiveFormat } from './source.js';
import { refused, type TreeWriter } from './tree-writer.js';

/** Default mode of a file that carries none (a plain download, a .gz): go-getter's 0644. */
export const PLAIN_FILE_MODE = 0o644;

/**
 * The archive libraries, imported by the first unpack: an agent whose tasks fetch no archive
 * never loads them (~3–4 MiB of its RSS, bench/README.md "Agent memory").
 */
const libs = {
  loaded: undefined as
    | Promise<{ Parser: typeof import('tar').Parser; unbzip2: typeof import('unbzip2-stream').default; XzReadableStream: typeof import('xz-decompress').XzReadableStream; yauzl: typeof yauzl }>
    | undefined,
  load() {
    return (this.loaded ??= Promise.all([import('tar'), import('unbzip2-stream'), import('xz-decompress'), import('yauzl')]).then(([tar, bz, xz, zip]) => ({
      Parser: tar.Parser,
      unbzip2: bz.default,
      // A CommonJS module whose named export node's ESM loader does not see (it is on the default export); tsx's does.
      XzReadableStream: xz.XzReadableStream ?? (xz as unknown as { default: typeof import('xz-decompress') }).default.XzReadableStream,
      yauzl: zip.default,
    })));
  },
};
type Libs = Awaited<ReturnType<typeof libs.load>>;

/**
 * Unpack `file` (of `format`) into the writer. With `single`, the archive
 * must hold exactly one file, written as `single` (mode "file").
 */
export async function unpack(file: string, format: ArchiveFormat, w: TreeWriter, what: string, single?: string): Promise<void> {
  try {
    const lib = await libs.load();
    if (format === 'zip') return await unzip(lib, file, w, what, single);
    if (format === 'gz' || format === 'bz2' || format === 'xz') {
      w.count();
      return await w.file(single!, decompressed(lib, file, format), PLAIN_FILE_MODE);
    }
    return await untar(lib, decompressed(lib, file, format), w, what, single);
  } catch (err) {
    if (err instanceof ArtifactError) throw err;
    throw new ArtifactError(`failed to unpack ${what}: ${(err as Error)?.message ?? String(err)}`, { recoverable: true, cause: err });
  }
}

function decompressed(lib: Libs, file: string, format: ArchiveFormat): Readable {
  const src = createReadStream(file);
  const chain = (next: NodeJS.ReadWriteStream & Readable): Readable => {
    src.on('error', (e) => next.destroy(e));
    return src.pipe(next);
  };
  switch (format) {
    case 'tar':
      return src;
    case 'tar.gz':
    case 'gz':
      return chain(createGunzip());
    case 'tar.bz2':
    case 'bz2':
      return bunzip(lib, src);
    case 'tar.xz':
    case 'xz':
      return Readable.fromWeb(new lib.XzReadableStream(Readable.toWeb(src) as ReadableStream<Uint8Array>) as import('node:stream/web').ReadableStream<Uint8Array>);
    default:
      throw new Error(`unknown format ${format}`);
  }
}

/** unbzip2-stream is a classic `through` stream: bridged into a PassThrough with backpressure. */
function bunzip(lib: Libs, src: Readable): Readable {
  const dec = lib.unbzip2();
  const out = new PassThrough();
  dec.on('data', (c: Buffer) => {
    if (!out.write(c)) {
      dec.pause();
      out.once('drain', () => dec.resume());
    }
  });
  dec.on('end', () => out.end());
  dec.on('error', (e: Error) => out.destroy(e));
  src.on('error', (e) => out.destroy(e));
  out.on('close', () => src.destroy());
  src.pipe(dec);
  return out;
}

async function untar(lib: Libs, input: Readable, w: TreeWriter, what: string, single?: string): Promise<void> {
  const parser = new lib.Parser({ strict: true, maxDecompressionRatio: Infinity });
  const queue: ReadEntry[] = [];
  let ended = false;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const f = wake;
    wake = undefined;
    f?.();
  };
  parser.on('entry', (e: ReadEntry) => {
    queue.push(e);
    poke();
  });
  parser.on('end', () => {
    ended = true;
    poke();
  });
  const fail = (e: unknown) => {
    failed ??= e;
    poke();
  };
  parser.on('error', fail);
  input.on('error', fail);
  input.pipe(parser as unknown as NodeJS.WritableStream);
  let files = 0;
  let seen = 0;
  try {
    for (;;) {
      if (failed) throw failed;
      const e = queue.shift();
      if (!e) {
        if (ended) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      seen++;
      w.count();
      const mode = e.mode ?? PLAIN_FILE_MODE;
      switch (e.type) {
        case 'File':
        case 'OldFile':
        case 'ContiguousFile':
          if (single) {
            if (++files > 1) throw new ArtifactError(`failed to unpack ${what}: mode "file" expects one file, the archive holds more`, { recoverable: false });
            await w.file(single, e, mode);
          } else {
            await w.file(e.path, e, mode);
          }
          break;
        case 'Directory':
          e.resume();
          if (single) throw new ArtifactError(`failed to unpack ${what}: mode "file" expects one file, the archive holds a directory`, { recoverable: false });
          await w.dir(e.path, mode);
          break;
        case 'SymbolicLink':
          e.resume();
          if (single) throw refused(what, e.path, 'is a link (mode "file")');
          await w.symlink(e.path, e.linkpath ?? '');
          break;
        case 'Link':
          e.resume();
          if (single) throw refused(what, e.path, 'is a hard link (mode "file")');
          await w.hardlink(e.path, e.linkpath ?? '');
          break;
        default:
          e.resume(); // devices, FIFOs: not unpacked
      }
    }
    if (failed) throw failed;
    if (seen === 0) throw new ArtifactError(`failed to unpack ${what}: empty archive`, { recoverable: true });
    if (single && files === 0) throw new ArtifactError(`failed to unpack ${what}: mode "file" expects one file, the archive holds none`, { recoverable: false });
  } finally {
    input.unpipe(parser as unknown as NodeJS.WritableStream);
    input.destroy();
    for (const e of queue) e.resume();
  }
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

async function unzip(lib: Libs, file: string, w: TreeWriter, what: string, single?: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    lib.yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z!))),
  );
  try {
    if (zip.entryCount === 0) throw new ArtifactError(`failed to unpack ${what}: empty archive`, { recoverable: true });
    let files = 0;
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => done(undefined, e);
        const onEnd = () => done(undefined, undefined);
        const onError = (err: Error) => done(err);
        const done = (err: Error | undefined, e?: yauzl.Entry) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          if (err) reject(err);
          else resolve(e);
        };
        zip.on('entry', onEntry).once('end', onEnd).once('error', onError);
        zip.readEntry();
      });
      if (!entry) break;
      w.count();
      const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const kind = unixMode & S_IFMT;
      const isDir = entry.fileName.endsWith('/') || kind === S_IFDIR;
      const mode = unixMode & 0o777 || (isDir ? 0o755 : PLAIN_FILE_MODE);
      if (isDir) {
        if (single) throw new ArtifactError(`failed to unpack ${what}: mode "file" expects one file, the archive holds a directory`, { recoverable: false });
        await w.dir(entry.fileName, mode);
        continue;
      }
      const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s!))));
      if (kind === S_IFLNK) {
        if (single) throw refused(what, entry.fileName, 'is a link (mode "file")');
        const chunks: Buffer[] = [];
        let n = 0;
        for await (const c of stream) {
          n += (c as Buffer).length;
          if (n > 4096) throw refused(what, entry.fileName, 'is a link with a target longer than 4096 bytes');
          chunks.push(c as Buffer);
        }
        await w.symlink(entry.fileName, Buffer.concat(chunks).toString('utf8'));
        continue;
      }
      if (single) {
        if (++files > 1) throw new ArtifactError(`failed to unpack ${what}: mode "file" expects one file, the archive holds more`, { recoverable: false });
        await w.file(single, stream, mode);
      } else {
        await w.file(entry.fileName, stream, mode);
      }
    }
    if (single && files === 0) throw new ArtifactError(`failed to unpack ${what}: mode "file" expects one file, the archive holds none`, { recoverable: false });
  } finally {
    zip.close();
  }
}
