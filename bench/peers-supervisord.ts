/**
 * supervisord in the peers bench: Debian's `supervisor` package run from a
 * temp config (its own socket, pidfile, logs, `nodaemon`), never the system
 * service; one `[program:x]` file per task in an include dir, driven as its
 * users drive it: files land (written aside, renamed in) or are removed, then
 * `supervisorctl reread` && `supervisorctl update`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../test/helpers/wait.js';
import { run, type Peer } from './peers-peer.js';
import { isMarkedSleep, markerOf, withDescendants, type Parts } from './peers-proc.js';

export class SupervisordPeer implements Peer {
  readonly name = 'supervisord';
  readonly manager = true;
  readonly bulk = true;
  readonly #dir: string;
  readonly #conf: string;
  #proc: ChildProcess | undefined;
  #version = '';

  constructor(
    readonly sys: number,
    baseDir: string,
  ) {
    this.#dir = path.join(baseDir, 'supervisord');
    this.#conf = path.join(this.#dir, 'supervisord.conf');
  }

  describe(): string {
    return `supervisord ${this.#version}: Debian's package from a temp config (\`nodaemon\`, \`minfds = 16384\` for the tasks' pipes and logs), one \`[program:x]\` file per task (\`autorestart = true\`, the rest default), then \`supervisorctl reread\` && \`supervisorctl update\``;
  }

  async start(): Promise<void> {
    const d = this.#dir;
    for (const sub of ['conf.d', 'stage', 'logs']) mkdirSync(path.join(d, sub), { recursive: true });
    writeFileSync(
      this.#conf,
      [
        '[unix_http_server]',
        `file = ${d}/supervisor.sock`,
        '',
        '[supervisord]',
        `logfile = ${d}/supervisord.log`,
        `pidfile = ${d}/supervisord.pid`,
        `childlogdir = ${d}/logs`,
        'nodaemon = true',
        'user = root',
        'minfds = 16384',
        '',
        '[rpcinterface:supervisor]',
        'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
        '',
        '[supervisorctl]',
        `serverurl = unix://${d}/supervisor.sock`,
        '',
        '[include]',
        `files = ${d}/conf.d/*.conf`,
        '',
      ].join('\n'),
    );
    this.#version = (await run('supervisord', ['--version'])).stdout.trim();
    const out = openSync(path.join(d, 'supervisord.out'), 'a');
    this.#proc = spawn('supervisord', ['-c', this.#conf], { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    await waitFor(
      async () => {
        if (this.#proc!.exitCode !== null) throw new Error(`supervisord exited ${this.#proc!.exitCode}`);
        return existsSync(path.join(d, 'supervisor.sock')) && (await this.#ctl(['pid'], true)).code === 0;
      },
      { what: 'supervisord answers', timeoutMs: 20_000, intervalMs: 50 },
    );
  }

  #ctl(args: string[], allowFail = false) {
    return run('supervisorctl', ['-c', this.#conf, ...args], { allowFail });
  }

  async prepare(indices: number[]): Promise<void> {
    for (const i of indices) {
      const m = markerOf(this.sys, i);
      await writeFile(path.join(this.#dir, 'stage', `s${m}.conf`), `[program:s${m}]\ncommand = /bin/sleep ${m}\nautorestart = true\n`);
    }
  }

  async add(indices: number[]): Promise<void> {
    for (const i of indices) {
      const name = `s${markerOf(this.sys, i)}.conf`;
      await rename(path.join(this.#dir, 'stage', name), path.join(this.#dir, 'conf.d', name));
    }
    await this.#ctl(['reread']);
    await this.#ctl(['update']);
  }

  async removeAll(): Promise<void> {
    const dir = path.join(this.#dir, 'conf.d');
    for (const f of await readdir(dir)) await unlink(path.join(dir, f));
    await this.#ctl(['reread']);
    await this.#ctl(['update']);
  }

  parts(): Parts {
    const pid = this.#proc!.pid!;
    return new Map([
      ['supervisord', [pid]],
      ['other', withDescendants([pid]).filter((p) => p !== pid && !isMarkedSleep(p))],
    ]);
  }

  async cleanup(): Promise<string[]> {
    const p = this.#proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      // Its tasks are the bench's to kill (peers.ts kills every marked sleep); stopping 1,000 through it takes minutes.
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    }
    await rm(this.#dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    return [];
  }
}
