/**
 * Checksums: hashing a file, and finding the line for a file in a sums file
 * (`checksum = "file:URL"`), BSD style (`SHA256 (name) = hex`) or GNU style
 * (`hex  name`, `hex *name`), as go-getter reads them.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ChecksumType } from './source.js';

const BY_LENGTH: Record<number, ChecksumType> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };
const TYPES = new Set<string>(['md5', 'sha1', 'sha256', 'sha512']);

/** Hex digest of a file (read as a stream). */
export async function hashFile(path: string, type: ChecksumType, signal?: AbortSignal): Promise<string> {
  const h = createHash(type);
  for await (const chunk of createReadStream(path, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The checksum for `fileName` (the source URL's base name) in the text of a
 * sums file. A line without a name (a lone hex) matches any file. Returns
 * undefined when no line fits.
 */
export function checksumFromSums(text: string, fileName: string, relPath?: string): { type: ChecksumType; hex: string } | undefined {
  const names = new Set([fileName, `*${fileName}`, `?${fileName}`, `./${fileName}`]);
  if (relPath) names.add(relPath).add(`./${relPath}`);
  for (const line of text.split(/\r?\n/)) {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    let type: ChecksumType | undefined;
    let hex: string | undefined;
    let name: string | undefined;
    if (parts.length === 4 && parts[2] === '=' && /^\(.+\)$/.test(parts[1])) {
      const t = parts[0].toLowerCase().replace(/-/g, '');
      if (!TYPES.has(t)) continue;
      [type, hex, name] = [t as ChecksumType, parts[3], parts[1].slice(1, -1)];
    } else if (parts.length >= 1 && parts.length <= 2) {
      [hex, name] = [parts[0], parts[1]];
      type = BY_LENGTH[hex.length];
    } else {
      continue;
    }
    if (!type || !hex || !/^[0-9a-fA-F]+$/.test(hex) || hex.length * 4 !== bitsOf(type)) continue;
    if (name === undefined || names.has(name)) return { type, hex: hex.toLowerCase() };
  }
  return undefined;
}

function bitsOf(t: ChecksumType): number {
  return { md5: 128, sha1: 160, sha256: 256, sha512: 512 }[t];
}
