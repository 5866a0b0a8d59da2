/**
 * Runs a program under a pseudo-terminal, as a person at a terminal would:
 * python3's pty module forks it as the leader of a new session with the pty
 * as its controlling terminal, of a given size. The test types into it,
 * resizes it (TIOCSWINSZ on the master: the program gets SIGWINCH) and reads
 * everything the terminal shows.
 *
 * The driver reads commands on its stdin, one a line: `send BASE64` (keys),
 * `resize ROWS COLS`; it copies the terminal's output to its stdout and, once
 * the program has exited and its output is read, writes `EXIT CODE` on stderr.
 */
import { spawn } from 'node:child_process';
import { waitFor } from './wait.js';

const DRIVER = String.raw`
import fcntl, os, select, struct, sys, termios, base64, pty
rows, cols = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execv(argv[0], argv)
watch = [master, 0]
buf = b''
while True:
    ready, _, _ = select.select(watch, [], [])
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        chunk = os.read(0, 65536)
        if not chunk:
            watch = [master]
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            cmd, _, arg = line.partition(b' ')
            if cmd == b'send':
                os.write(master, base64.b64decode(arg))
            elif cmd == b'resize':
                r, c = (int(x) for x in arg.split())
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
_, status = os.waitpid(pid, 0)
sys.stderr.write('EXIT %d\n' % os.waitstatus_to_exitcode(status))
`;

export interface PtySession {
  /** Everything the terminal showed so far. */
  output(): string;
  /** Type `keys`. */
  send(keys: string): void;
  resize(rows: number, cols: number): void;
  /** Waits until the output (after `from`, default 0) matches `re`; returns the match. */
  expect(re: RegExp, opts?: { from?: number; timeoutMs?: number; what?: string }): Promise<RegExpMatchArray>;
  /** The program's exit code (128+N after signal N). */
  exit: Promise<number>;
  /** Kill the driver and the program. */
  kill(): void;
}

export function runUnderPty(argv: string[], size: { rows: number; cols: number }, env: NodeJS.ProcessEnv = process.env): PtySession {
  const child = spawn('python3', ['-c', DRIVER, String(size.rows), String(size.cols), ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdin.on('error', () => undefined);
  const exit = new Promise<number>((resolve, reject) => {
    child.once('close', (code) => {
      const m = /^EXIT (-?\d+)$/m.exec(err);
      if (m) resolve(Number(m[1]) < 0 ? 128 - Number(m[1]) : Number(m[1]));
      else reject(new Error(`pty driver exited with ${code} without the program's code:\n${err}\noutput:\n${out}`));
    });
  });
  exit.catch(() => undefined);
  const session: PtySession = {
    output: () => out,
    send(keys) {
      child.stdin.write(`send ${Buffer.from(keys).toString('base64')}\n`);
    },
    resize(rows, cols) {
      child.stdin.write(`resize ${rows} ${cols}\n`);
    },
    async expect(re, o = {}) {
      let m: RegExpMatchArray | null = null;
      await waitFor(() => Boolean((m = out.slice(o.from ?? 0).match(re))), { timeoutMs: o.timeoutMs ?? 10_000, what: o.what ?? `${re} on the terminal` }).catch((e: Error) => {
        throw new Error(`${e.message}; the terminal shows:\n${out}\n(as a string: ${JSON.stringify(out.slice(-600))})${err ? `\ndriver stderr:\n${err}` : ''}`);
      });
      return m!;
    },
    exit,
    kill() {
      child.kill('SIGKILL');
    },
  };
  return session;
}
