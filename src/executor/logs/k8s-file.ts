/**
 * Parser of conmon's k8s-file log format: one record per line,
 * `TIMESTAMP STREAM FLAG TEXT\n`, STREAM = stdout | stderr, FLAG = F (the
 * text ends a line) or P (a partial line, continued by the next record of
 * the same stream). The parser is fed arbitrary chunks of the file and keeps
 * an incomplete trailing record for the next chunk. Each record's timestamp
 * is kept as a time mark of its bytes (for `tendctl logs -timestamps`).
 */
import type { LogStream } from './rotator.js';
import type { TimeMark } from './times.js';

export interface K8sChunk {
  stream: LogStream;
  data: Buffer;
  /** conmon's timestamps of the records merged into `data` (offsets within it); empty when a record's is unreadable. */
  marks: TimeMark[];
}

const NL = 0x0a;
const SP = 0x20;

export class K8sFileParser {
  #rest: Buffer = Buffer.alloc(0);

  /** Bytes received but not yet parsed (an incomplete trailing record). */
  get pendingBytes(): number {
    return this.#rest.length;
  }

  /** Parse a chunk; returns the demultiplexed output, merging consecutive records of one stream. */
  push(chunk: Buffer): K8sChunk[] {
    const buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    const out: K8sChunk[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NL, start);
      if (nl < 0) break;
      const rec = parseRecord(buf.subarray(start, nl));
      start = nl + 1;
      if (!rec) continue;
      const last = out[out.length - 1];
      if (last && last.stream === rec.stream) {
        for (const m of rec.marks) last.marks.push({ offset: m.offset + last.data.length, ms: m.ms });
        last.data = Buffer.concat([last.data, rec.data]);
      } else out.push(rec);
    }
    this.#rest = Buffer.from(buf.subarray(start));
    return out;
  }
}

/** One record without its newline; undefined for a malformed line (skipped). */
export function parseRecord(line: Buffer): K8sChunk | undefined {
  const a = line.indexOf(SP);
  if (a < 0) return undefined;
  const b = line.indexOf(SP, a + 1);
  if (b < 0) return undefined;
  const streamName = line.subarray(a + 1, b).toString('latin1');
  if (streamName !== 'stdout' && streamName !== 'stderr') return undefined;
  // conmon before 2.0 wrote no flag; treat a record without one as a full line.
  const c = line.indexOf(SP, b + 1);
  const flagEnd = c < 0 ? line.length : c;
  const flag = line.subarray(b + 1, flagEnd).toString('latin1');
  const text = line.subarray(Math.min(line.length, flagEnd + 1));
  const ms = Date.parse(line.subarray(0, a).toString('latin1'));
  const marks = Number.isFinite(ms) ? [{ offset: 0, ms }] : [];
  if (flag === 'P') return { stream: streamName, data: Buffer.from(text), marks };
  if (flag === 'F') return { stream: streamName, data: Buffer.concat([text, Buffer.from('\n')]), marks };
  return { stream: streamName, data: Buffer.concat([line.subarray(b + 1), Buffer.from('\n')]), marks };
}
