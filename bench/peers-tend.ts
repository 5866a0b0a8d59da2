/**
 * tend in the peers bench: a real `tend agent` subprocess (the e2e harness:
 * its own temp data dir, jobs dir, socket and, for oci, cgroup parent), one
 * job file per task, driven as its users drive it: files land in the jobs
 * dir (written aside, then renamed in, all at once) and are removed.
 */
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHarness, type Harness } from '../test/e2e/agent/harness.js';
import { procsMentioning } from '../test/e2e/agent/oci-cleanup.js';
import type { Peer } from './peers-peer.js';
import { cmdlineOf, isMarkedSleep, markerOf, withDescendants, type Parts } from './peers-proc.js';
import { readStat } from '../src/executor/proc.js';

export class TendPeer implements Peer {
  readonly manager = true;
  readonly bulk = true;
  #h: Harness | undefined;

  constructor(
    readonly name: string,
    readonly sys: number,
    readonly executor: 'plain' | 'oci',
    readonly driver: 'raw_exec' | 'exec',
  ) {}

  describe(): string {
    const kill = this.driver === 'exec' ? ', `kill_signal = "SIGKILL"` (the sleep is pid 1 of its namespace and ignores SIGINT)' : '';
    return `${this.name}: \`tend agent -executor ${this.executor}\` (${process.env.TEND_FROM_SOURCE ? 'TypeScript sources through tsx' : 'the dist/ bundle'}, default concurrency 8), one job file per task, driver \`${this.driver}\`, \`restart { delay = "0s", mode = "delay" }\`${kill}; the files written aside and renamed into the jobs dir all at once; remove: every file unlinked`;
  }

  job(i: number): string {
    const m = markerOf(this.sys, i);
    return `job "p${m}" {
  group "g" {
    task "t" {
      driver = "${this.driver}"
      config {
        command = "/bin/sleep"
        args    = ["${m}"]
      }
      restart {
        attempts = 10
        interval = "30m"
        delay    = "0s"
        mode     = "delay"
      }
${this.driver === 'exec' ? '      kill_signal = "SIGKILL"\n' : ''}      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
`;
  }

  async start(): Promise<void> {
    this.#h = await createHarness({ executor: this.executor });
    await mkdir(this.#stage(), { recursive: true });
    await this.#h.start(['-log-level', 'warn']);
  }

  #stage(): string {
    return path.join(this.#h!.root, 'stage');
  }

  async prepare(indices: number[]): Promise<void> {
    for (const i of indices) await writeFile(path.join(this.#stage(), `p${markerOf(this.sys, i)}.hcl`), this.job(i));
  }

  async add(indices: number[]): Promise<void> {
    for (const i of indices) {
      const name = `p${markerOf(this.sys, i)}.hcl`;
      await rename(path.join(this.#stage(), name), path.join(this.#h!.jobsDir, name));
    }
  }

  async removeAll(): Promise<void> {
    const dir = this.#h!.jobsDir;
    for (const f of await readdir(dir)) await unlink(path.join(dir, f));
  }

  /** The agent, its log monitor, HCL parser (while one runs) and launcher, and the per-task processes of the executor (plain: wrapper shells; oci: conmon). */
  parts(): Parts {
    const h = this.#h!;
    const agent = h.agent!.pid!;
    const out: Parts = new Map([['agent', [agent]]]);
    const add = (part: string, pid: number) => out.set(part, [...(out.get(part) ?? []), pid]);
    for (const pid of new Set([...withDescendants([agent]), ...procsMentioning(h.stateDir)])) {
      if (pid === agent || isMarkedSleep(pid)) continue;
      const cmd = cmdlineOf(pid);
      if (readStat(pid)?.comm === 'conmon') add('conmon', pid);
      else if (cmd.includes('logmon')) add('log monitor', pid);
      else if (cmd.includes('hcl-child')) add('parser', pid);
      else if (cmd.includes('launcher-child')) add('launcher', pid);
      else if (cmd.includes('tend-wrapper')) add('wrappers', pid);
      else add('other', pid);
    }
    return out;
  }

  async cleanup(): Promise<string[]> {
    await this.#h?.cleanup();
    return [];
  }
}
