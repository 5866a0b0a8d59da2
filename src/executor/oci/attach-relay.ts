/**
 * A client of conmon's attach socket, for `exec -t`. conmon listens on
 * `<socket-dir>/<uuid>/attach`, a unix socket of type SOCK_SEQPACKET: every
 * packet it sends is one read of the terminal, prefixed by one byte naming
 * the stream (2 stdout, 3 stderr: the runtime's own messages); every packet
 * it receives is written to the terminal as typed. Node's net module only
 * speaks SOCK_STREAM, so a small relay between stdio pipes and that socket
 * does it, in Perl: perl-base is Essential on Debian (always installed, as
 * util-linux's nsenter is) and its core has IO::Socket::UNIX with
 * SOCK_SEQPACKET. No native addon is loaded into the agent, which runs as
 * root.
 *
 * The relay runs on the host as root with an empty environment (PERL5LIB,
 * PERL5OPT and the like never reach it) and only moves bytes: stdin → one
 * packet per read, packets → stdout/stderr without their first byte. It
 * writes `ready` on fd 3 once connected, so the caller starts the command
 * only when none of its output can be lost. It exits when conmon closes the
 * socket (the command has exited and its output is drained).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

/** The relay (`perl -e`), argument: the attach socket's path. */
export const RELAY_SCRIPT = String.raw`
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_SEQPACKET SHUT_WR);
$SIG{PIPE} = 'IGNORE';
my $path = shift @ARGV;
my $sock = IO::Socket::UNIX->new(Type => SOCK_SEQPACKET, Peer => $path)
  or die "tend attach: cannot connect to $path: $!\n";
open(my $ready, '>&=', 3) or die "tend attach: no ready fd: $!\n";
syswrite($ready, "ready\n");
close($ready);
sub put {
  my ($fh, $data) = @_;
  while (length $data) {
    my $n = syswrite($fh, $data);
    return 0 unless defined $n;
    substr($data, 0, $n, '');
  }
  return 1;
}
my $writer = fork();
die "tend attach: cannot fork: $!\n" unless defined $writer;
if ($writer == 0) {
  while (1) {
    my $n = sysread(STDIN, my $buf, 8192);
    last unless $n;
    last unless defined send($sock, $buf, 0);
  }
  shutdown($sock, SHUT_WR);
  exit 0;
}
close(STDIN);
while (1) {
  my $n = sysread($sock, my $packet, 65536);
  last unless $n;
  my $out = ord($packet) == 3 ? \*STDERR : \*STDOUT;
  last unless put($out, substr($packet, 1));
}
kill('KILL', $writer);
waitpid($writer, 0);
exit 0;
`;

export interface AttachRelay {
  child: ChildProcess;
  /** The relay's stderr: stream 3 of the socket (and the relay's own errors). */
  stderr: Readable;
  /** Resolves once the relay is connected; rejects with what it printed when it could not. */
  ready: Promise<void>;
}

/** Start the relay on `socket`; `withStdin`: keep a pipe for input (else stdin is /dev/null and conmon sees input end at once). */
export function startAttachRelay(perl: string, socket: string, withStdin: boolean): AttachRelay {
  const child = spawn(perl, ['-e', RELAY_SCRIPT, socket], {
    stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
    env: {},
    cwd: '/',
  });
  const stderr = child.stderr!.pipe(new PassThrough());
  const ready = new Promise<void>((resolve, reject) => {
    const signal = child.stdio[3] as Readable;
    let said = '';
    let err = '';
    const onErr = (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString('utf8');
    };
    child.stderr!.on('data', onErr);
    signal.on('data', (chunk: Buffer) => {
      said += chunk.toString('utf8');
      if (said.includes('ready\n')) {
        child.stderr!.off('data', onErr);
        signal.destroy();
        resolve();
      }
    });
    signal.on('error', () => undefined);
    child.once('error', (e) => reject(e));
    child.once('close', (code) => reject(new Error(err.trim() || `attach relay exited with code ${code} before connecting`)));
  });
  ready.catch(() => undefined);
  return { child, stderr, ready };
}
