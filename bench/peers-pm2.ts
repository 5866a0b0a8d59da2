/**
 * PM2 in the peers bench: installed from the npm registry into a temp dir
 * (`npm install --prefix <dir> pm2`, never into the project), with its own
 * `PM2_HOME`; driven as its users drive it: an ecosystem file lands and is
 * started (`pm2 start <file>.config.js`), `pm2 delete all` removes; its
 * daemon is killed after.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from '../src/executor/proc.js';
import { waitFor } from '../test/helpers/wait.js';
import { killAll } from './agent-common.js';
import { run, type Peer } from './peers-peer.js';
import { isMarkedSleep, markerOf, withDescendants, type Parts } from './peers-proc.js';

export class Pm2Peer implements Peer {
  readonly name = 'PM2';
  readonly manager = true;
  readonly bulk = true;
  readonly #dir: string;
  readonly #home: string;
  #files = 0;
  #pending: string | undefined;

  /** `prefix`: where PM2 is installed (installPm2). */
  constructor(
    readonly sys: number,
    baseDir: string,
    readonly prefix: string,
  ) {
    this.#dir = path.join(baseDir, 'pm2');
    this.#home = path.join(this.#dir, 'home');
  }

  describe(): string {
    return `PM2 ${pm2Version(this.prefix)}: from npm into a temp dir, its own \`PM2_HOME\`; an ecosystem file per action (apps \`script: '/bin/sleep'\`, \`interpreter: 'none'\`, \`autorestart: true\`, \`restart_delay: 0\`) started with \`pm2 start <file>.config.js\`; remove \`pm2 delete all\``;
  }

  #pm2(args: string[], allowFail = false) {
    return run(path.join(this.prefix, 'node_modules', '.bin', 'pm2'), args, { env: { ...process.env, PM2_HOME: this.#home }, allowFail });
  }

  async start(): Promise<void> {
    mkdirSync(this.#home, { recursive: true });
    await this.#pm2(['ping']);
  }

  #daemonPid(): number | undefined {
    try {
      return Number(readFileSync(path.join(this.#home, 'pm2.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  async prepare(indices: number[]): Promise<void> {
    const apps = indices.map((i) => {
      const m = markerOf(this.sys, i);
      return { name: `p${m}`, script: '/bin/sleep', args: String(m), interpreter: 'none', exec_mode: 'fork', autorestart: true, restart_delay: 0 };
    });
    this.#pending = path.join(this.#dir, `apps-${this.#files++}.config.js`);
    await writeFile(this.#pending, `module.exports = ${JSON.stringify({ apps }, null, 1)};\n`);
  }

  async add(): Promise<void> {
    const file = this.#pending!;
    this.#pending = undefined;
    await this.#pm2(['start', file]);
  }

  async removeAll(): Promise<void> {
    await this.#pm2(['delete', 'all']);
  }

  parts(): Parts {
    const pid = this.#daemonPid()!;
    return new Map([
      ['PM2 daemon', [pid]],
      ['other', withDescendants([pid]).filter((p) => p !== pid && !isMarkedSleep(p))],
    ]);
  }

  async cleanup(): Promise<string[]> {
    const left: string[] = [];
    const pid = this.#daemonPid();
    if (existsSync(this.#home)) await this.#pm2(['kill'], true).catch(() => undefined);
    if (pid) {
      await waitFor(() => !isAlive(pid), { what: 'PM2 daemon exits', timeoutMs: 5000, intervalMs: 50 }).catch(() => undefined);
      if (isAlive(pid) && killAll([pid]).length) left.push(`PM2 daemon ${pid} (after pm2 kill)`);
    }
    await rm(this.#dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    return left;
  }
}

/** Install PM2 from the npm registry into `prefix` (a temp dir) unless it is there. */
export async function installPm2(prefix: string): Promise<void> {
  if (existsSync(path.join(prefix, 'node_modules', '.bin', 'pm2'))) return;
  mkdirSync(prefix, { recursive: true });
  await run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel', 'error', 'pm2'], { timeoutMs: 300_000 });
}

export function pm2Version(prefix: string): string {
  return (JSON.parse(readFileSync(path.join(prefix, 'node_modules', 'pm2', 'package.json'), 'utf8')) as { version: string }).version;
}
