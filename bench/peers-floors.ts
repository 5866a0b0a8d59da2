/**
 * The bare floors of the peers bench: what starting and stopping the same
 * `sleep` tasks costs without a manager.
 *
 *  - bash: one `bash` reading commands on its stdin; converge is one line
 *    that starts every sleep in the background, remove is `kill` + `wait`.
 *  - runc: `runc create` + `runc start` of one container per task, 8 at a
 *    time (tend's default concurrency), `runc delete --force` to remove; the
 *    bundle is what tend's oci executor writes for an exec task (read-only
 *    root of the host's `chroot_env` dirs bound, private pid/ipc namespaces,
 *    32 MiB, a cgroup of its own), written before the clock starts.
 *  - conmon + runc: the same bundle created through conmon (as tend does),
 *    then `runc start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { buildSpec, writeBundle } from '../src/executor/oci/bundle.js';
import { startConmon } from '../src/executor/oci/conmon.js';
import { OciLayout } from '../src/executor/oci/oci.js';
import { platform } from '../src/platform.js';
import { mountsUnder, procsMentioning } from '../test/e2e/agent/oci-cleanup.js';
import { waitFor } from '../test/helpers/wait.js';
import { killAll } from './agent-common.js';
import { execLaunchSpec, removeCgroups, RUNC, runc, runcList } from './oci-common.js';
import type { Peer } from './peers-peer.js';
import { markerOf } from './peers-proc.js';

/** Concurrency of the container floors: the agent's default. */
export const FLOOR_CONCURRENCY = 8;

export class BashFloor implements Peer {
  readonly name = 'bare bash loop';
  readonly manager = false;
  readonly bulk = true;
  #bash: ChildProcess | undefined;

  constructor(readonly sys: number) {}

  describe(): string {
    return `${this.name}: one \`bash -s\` reading its stdin; converge \`for m in …; do /bin/sleep $m & P+=($!); done\`, one new task \`/bin/sleep M &\`, remove \`kill "\${P[@]}"; wait\``;
  }

  async start(): Promise<void> {
    this.#bash = spawn('/bin/bash', ['-s'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    await new Promise<void>((resolve, reject) => this.#bash!.once('spawn', resolve).once('error', reject));
    await this.#send('P=()');
  }

  add(indices: number[]): Promise<void> {
    return this.#send(`for m in ${indices.map((i) => markerOf(this.sys, i)).join(' ')}; do /bin/sleep $m & P+=($!); done`);
  }

  removeAll(): Promise<void> {
    return this.#send('kill "${P[@]}"; wait; P=()');
  }

  #send(line: string): Promise<void> {
    return new Promise((resolve, reject) => this.#bash!.stdin!.write(`${line}\n`, (err) => (err ? reject(err) : resolve())));
  }

  async cleanup(): Promise<string[]> {
    const b = this.#bash;
    if (b && b.exitCode === null && b.signalCode === null) {
      const gone = new Promise((r) => b.once('exit', r));
      b.kill('SIGKILL');
      await gone;
    }
    return [];
  }
}

/** runc create + start of one container per task, or conmon → runc create, then runc start. */
export class RuncFloor implements Peer {
  readonly name: string;
  readonly manager = false;
  readonly bulk = true;
  readonly #dir: string;
  readonly #layout: OciLayout;
  readonly #parent: string;
  readonly #ids = new Set<string>();
  readonly #queue = new PQueue({ concurrency: FLOOR_CONCURRENCY });

  constructor(
    readonly sys: number,
    baseDir: string,
    readonly viaConmon: boolean,
  ) {
    this.name = viaConmon ? 'bare conmon + runc' : 'bare runc';
    this.#dir = path.join(baseDir, viaConmon ? 'conmon' : 'runc');
    this.#layout = new OciLayout(this.#dir);
    this.#parent = `tend-peers-${process.pid}-${viaConmon ? 'conmon' : 'runc'}`;
  }

  describe(): string {
    const how = this.viaConmon ? 'conmon (as tend runs it) → `runc create`, then `runc start`' : '`runc create` + `runc start`';
    return `${this.name}: ${how} of tend's exec bundle for \`/bin/sleep M\` (written before the clock starts), ${FLOOR_CONCURRENCY} at a time; remove \`runc delete --force\`, ${FLOOR_CONCURRENCY} at a time`;
  }

  async start(): Promise<void> {
    for (const d of [this.#layout.exitDir, this.#layout.socketDir, path.join(this.#dir, 'logs')]) mkdirSync(d, { recursive: true });
  }

  #id(i: number): string {
    return `c${markerOf(this.sys, i)}`;
  }

  async prepare(indices: number[]): Promise<void> {
    for (const i of indices) {
      const id = this.#id(i);
      const spec = execLaunchSpec(this.#dir, id, '/bin/sleep', [String(markerOf(this.sys, i))]);
      await writeBundle(this.#layout.bundle(id), buildSpec(spec, this.#layout.rootfs(id), { cgroupsPath: `/${this.#parent}/${id}`, pidsLimit: 256 }));
    }
  }

  async add(indices: number[]): Promise<void> {
    await Promise.all(indices.map((i) => this.#queue.add(() => this.#launch(this.#id(i)))));
  }

  async #launch(id: string): Promise<void> {
    this.#ids.add(id);
    if (this.viaConmon) {
      await startConmon({
        conmon: platform().which('conmon') ?? 'conmon',
        runtime: RUNC,
        layout: this.#layout,
        id,
        name: id,
        logPath: path.join(this.#dir, 'logs', `${id}.log`),
        noPivot: false,
        timeoutMs: 60_000,
      });
    } else {
      await runc(this.#layout.runcRoot, ['create', '--bundle', this.#layout.bundle(id), id]);
    }
    await runc(this.#layout.runcRoot, ['start', id]);
  }

  async removeAll(): Promise<void> {
    const ids = [...this.#ids];
    this.#ids.clear();
    await Promise.all(ids.map((id) => this.#queue.add(() => runc(this.#layout.runcRoot, ['delete', '--force', id]))));
  }

  async cleanup(): Promise<string[]> {
    const left: string[] = [];
    this.#queue.clear();
    await this.#queue.onIdle();
    for (const id of await runcList(this.#layout.runcRoot)) {
      left.push(`runc container ${id}`);
      await runc(this.#layout.runcRoot, ['delete', '--force', id]).catch(() => undefined);
    }
    // conmon exits once its container is gone.
    await waitFor(() => procsMentioning(this.#dir).length === 0, { what: 'conmon exits', timeoutMs: 5000, intervalMs: 50 }).catch(() => undefined);
    for (const pid of killAll(procsMentioning(this.#dir))) left.push(`process ${pid} (conmon)`);
    for (const mp of mountsUnder(this.#dir)) left.push(`mount ${mp}`);
    // runc leaves each container's (empty) cgroup behind: removing them is the floor's own cleanup, not a leftover.
    left.push(...removeCgroups(this.#parent));
    await rm(this.#dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    return left;
  }
}
