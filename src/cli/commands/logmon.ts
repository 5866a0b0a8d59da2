/**
 * `tend logmon -data-dir DIR`: the log monitor, one per data dir. The agent
 * starts it detached (LogMonitorClient.ensure); it is not meant to be run by
 * hand, but doing so is harmless: a second monitor on the same data dir
 * exits at once.
 */
import { writeSync } from 'node:fs';
import type { Command } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type FlagSpec } from '../flags.js';
import { createLineLogger, isLogLevel } from '../../executor/logs/line-logger.js';
import { LogMonitor } from '../../executor/logs/monitor.js';

const flags: FlagSpec[] = [
  { names: ['data-dir'], kind: 'string', value: 'DIR', help: "The agent's data dir: logmon.sock, logmon.json and logmon.log live there." },
  { names: ['log-level'], kind: 'string', value: 'LEVEL', help: 'Log level of the monitor itself: trace, debug, info, warn, error, fatal or silent.', default: 'info' },
  helpFlag,
];

export const logmonCommand: Command = {
  name: 'logmon',
  summary: 'Internal: the log monitor that writes task output to rotated files',
  help: () =>
    formatHelp(
      'tend logmon -data-dir DIR',
      `Runs the log monitor for one data dir: it reads every task's stdout and stderr
(plain tasks' FIFOs, oci tasks' conmon log) and writes alloc/logs/<task>.stdout.N
and .stderr.N with rotation. The agent starts it detached so that logs keep
flowing while the agent is down; a restarted monitor resumes every task from
<data-dir>/logmon.json. Controlled over the unix socket <data-dir>/logmon.sock.
Exits at once when a monitor already runs for the data dir.`,
      flags,
    ),
  async run(argv) {
    const { flags: f } = parseFlags(argv, flags);
    const dataDir = f['data-dir'];
    if (typeof dataDir !== 'string' || !dataDir) throw new UsageError('flag -data-dir is required');
    const level = String(f['log-level']);
    if (!isLogLevel(level)) throw new UsageError(`expected -log-level trace|debug|info|warn|error|fatal|silent, got ${JSON.stringify(level)}`);
    const logger = createLineLogger({ level, write: lossyStdout().write });
    const monitor = new LogMonitor({ dataDir, logger });
    if (!(await monitor.start())) {
      logger.info({ dataDir }, 'log monitor already running');
      return 0;
    }
    const onSignal = () => void monitor.stop();
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP (a closed terminal, an operator's reload of the agent's process group) is not a reason to stop.
    process.on('SIGHUP', () => logger.info({ signal: 'SIGHUP' }, 'signal ignored'));
    await monitor.closed();
    // A daemon: once everything is flushed and saved, leave without waiting for stray handles.
    process.exit(0);
  },
};

/**
 * The monitor's own log goes to logmon.log, in the data dir it writes task
 * logs to: when that filesystem is full a line that does not fit is lost,
 * and the monitor goes on (an async stream would throw ENOSPC out of the
 * event loop). A partial write is completed.
 */
function lossyStdout(): { write(s: string): void } {
  return {
    write(s: string) {
      const buf = Buffer.from(s);
      let off = 0;
      for (let tries = 0; off < buf.length && tries < 100; tries++) {
        try {
          off += writeSync(1, buf, off);
        } catch {
          return;
        }
      }
    },
  };
}
