/**
 * Collects a plain task's output from its two FIFOs into rotated files.
 *
 * Each FIFO is opened read-write and non-blocking: read-write so that the
 * open never blocks and never sees end-of-file while the task is between
 * writers (or before it started), and so that bytes stay in the pipe while
 * the monitor restarts. libuv polls it through a net.Socket (epoll, no
 * thread-pool reads), so a thousand tasks cost no threads.
 *
 * While no monitor reads, a writer can put up to the pipe capacity (64 KiB
 * on Linux) into each FIFO; beyond that its writes block until a monitor
 * reads again. Nothing is dropped.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import net from 'node:net';
import { errnoCode } from '../../errors.js';
import type { MonitorLog } from './line-logger.js';
import type { LogTarget } from './logs.js';
import { FileRotator, type DropStats, type LogStream } from './rotator.js';

export interface Collector {
  readonly id: string;
  /** Write out what can be read now, then release every fd. */
  stop(): void;
  /** Data to persist in the monitor's state file (offsets), if any. */
  checkpoint(): Record<string, unknown> | undefined;
  /** Output dropped for lack of space, both streams together. */
  dropped(): DropStats;
  /** Whether any output was ever dropped (cheap: `dropped()` is a no-op while this is false). */
  everDropped(): boolean;
}

/** Both streams' drop counts as one. */
export function sumDrops(a: DropStats, b: DropStats): DropStats {
  const out: DropStats = { droppedBytes: a.droppedBytes + b.droppedBytes, pendingBytes: a.pendingBytes + b.pendingBytes };
  const pending = [a, b].filter((d) => d.pendingBytes > 0);
  if (pending.length) {
    out.error = pending[0].error;
    out.since = pending.map((d) => d.since ?? '').sort()[0] || undefined;
  }
  return out;
}

/** The buffer of stop()'s drain, shared: the drain is synchronous and writes a copy of what it read. */
const DRAIN_BUF = Buffer.allocUnsafe(65536);

class FifoStream {
  readonly #path: string;
  readonly rotator: FileRotator;
  readonly #log: MonitorLog;
  #socket: net.Socket | undefined;

  constructor(fifo: string, rotator: FileRotator, log: MonitorLog) {
    this.#path = fifo;
    this.rotator = rotator;
    this.#log = log;
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const socket = new net.Socket({ fd, readable: true, writable: false });
    socket.on('data', (chunk: Buffer) => this.#write(chunk));
    socket.on('error', (err) => this.#log.warn({ err, fifo }, 'log fifo read failed'));
    this.#socket = socket;
  }

  #write(chunk: Buffer): void {
    try {
      this.rotator.write(chunk);
    } catch (err) {
      this.#log.error({ err, fifo: this.#path }, 'log write failed');
    }
  }

  /** Drain what the pipe holds through a second fd, then close everything. */
  stop(): void {
    let fd = -1;
    try {
      fd = openSync(this.#path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.#log.warn({ err, fifo: this.#path }, 'log fifo drain failed');
    }
    this.#socket?.destroy();
    this.#socket = undefined;
    if (fd >= 0) {
      try {
        for (;;) {
          const n = readSync(fd, DRAIN_BUF, 0, DRAIN_BUF.length, null);
          if (n <= 0) break;
          this.#write(Buffer.from(DRAIN_BUF.subarray(0, n)));
        }
      } catch (err) {
        if (errnoCode(err) !== 'EAGAIN') this.#log.warn({ err, fifo: this.#path }, 'log fifo drain failed');
      }
      closeSync(fd);
    }
    this.rotator.close();
  }
}

export function startFifoCollector(
  source: { stdoutFifo: string; stderrFifo: string },
  target: LogTarget,
  log: MonitorLog,
): Collector {
  const rotator = (stream: LogStream) =>
    new FileRotator({ logDir: target.logDir, task: target.task, stream, maxFiles: target.maxFiles, maxFileSizeBytes: target.maxFileSizeBytes });
  const out = new FifoStream(source.stdoutFifo, rotator('stdout'), log);
  let err: FifoStream;
  try {
    err = new FifoStream(source.stderrFifo, rotator('stderr'), log);
  } catch (e) {
    out.stop();
    throw e;
  }
  return {
    id: target.id,
    stop() {
      out.stop();
      err.stop();
    },
    checkpoint: () => undefined,
    dropped: () => sumDrops(out.rotator.dropped, err.rotator.dropped),
    everDropped: () => out.rotator.everDropped || err.rotator.everDropped,
  };
}
