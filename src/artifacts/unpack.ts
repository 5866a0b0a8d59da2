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
import { Parser, type ReadEntry } from 'tar';
import unbzip2 from 'unbzip2-stream';
import xz from 'xz-decompress';
import yauzl from 'yauzl';
import { ArtifactError } from './artifacts.js';
import type { ArchiveFormat } from './source.js';
import { refused, type TreeWriter } from './tree-writer.js';

/** Default mode of a file that carries none (a plain download, a .gz): go-getter's 0644. */
export const PLAIN_FILE_MODE = 0o644;

/**
 * Unpack `file` (of `format`) into the writer. With `single`, the archive
 * must hold exactly one file, written as `single` (mode "file").
 */
export async function unpack(file: string, format: ArchiveFormat, w: TreeWriter, what: string, single?: string): Promise<void> {
  try {
    if (format === 'zip') return await unzip(file, w, what, single);
    if (format === 'gz' || format === 'bz2' || format === 'xz') {
      w.count();
      return await w.file(single!, decompressed(file, format), PLAIN_FILE_MODE);
    }
    return await untar(decompressed(file, format), w, what, single);
  } catch (err) {
    if (err instanceof ArtifactError) throw err;
    throw new ArtifactError(`failed to unpack ${what}: ${(err as Error)?.message ?? String(err)}`, { recoverable: true, cause: err });
  }
}

function decompressed(file: string, format: ArchiveFormat): Readable {
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
      return bunzip(src);
    case 'tar.xz':
    case 'xz':
      return Readable.fromWeb(new xz.XzReadableStream(Readable.toWeb(src) as ReadableStream<Uint8Array>) as import('node:stream/web').ReadableStream<Uint8Array>);
    default:
      throw new Error(`unknown format ${format}`);
  }
}

/** unbzip2-stream is a classic `through` stream: bridged into a PassThrough with backpressure. */
function bunzip(src: Readable): Readable {
  const dec = unbzip2();
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

async function untar(input: Readable, w: TreeWriter, what: string, single?: string): Promise<void> {
  const parser = new Parser({ strict: true, maxDecompressionRatio: Infinity });
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

async function unzip(file: string, w: TreeWriter, what: string, single?: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z!))),
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
