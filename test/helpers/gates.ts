/**
 * Gates for privileged tests. Each returns true when the requirement is met.
 * When it is not: under CI (`CI=true`) it throws, so a CI box that silently
 * lost root or runc fails loudly; elsewhere it skips the test with the reason.
 *
 *   if (!requireRoot(t)) return;
 */
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { platform } from '../../src/platform.js';

function gate(t: TestContext, met: boolean, reason: string, ciHint: string): boolean {
  if (met) return true;
  if (process.env.CI === 'true') throw new Error(`${reason}; ${ciHint}`);
  t.skip(reason);
  return false;
}

export function requireLinux(t: TestContext): boolean {
  return gate(t, platform().isLinux, 'requires Linux', 'CI must run on Linux');
}

export function requireRoot(t: TestContext): boolean {
  return gate(t, platform().isRoot, 'requires root', 'CI must run as root');
}

export function requireRunc(t: TestContext): boolean {
  return gate(t, platform().which('runc') !== undefined, 'requires runc on PATH', 'CI must install runc');
}

export function requireConmon(t: TestContext): boolean {
  return gate(t, platform().which('conmon') !== undefined, 'requires conmon on PATH', 'CI must install conmon');
}

/** cgroup v1 controllers (pure v1 or hybrid). */
export function requireCgroupV1(t: TestContext): boolean {
  const mode = platform().cgroups.mode;
  return gate(t, mode === 'v1' || mode === 'hybrid', `requires cgroup v1 or hybrid (host is ${mode})`, 'CI must run on a v1/hybrid cgroup host');
}

/** A pure unified (v2) host. */
export function requireCgroupV2(t: TestContext): boolean {
  const mode = platform().cgroups.mode;
  return gate(t, mode === 'v2', `requires cgroup v2 (host is ${mode})`, 'CI must run on a cgroup v2 host');
}

/** The `git` command (artifact `git::` sources). */
export function requireGit(t: TestContext): boolean {
  return gate(t, platform().which('git') !== undefined, 'requires git on PATH', 'CI must install git');
}

export function requireFlock(t: TestContext): boolean {
  return gate(t, platform().which('flock') !== undefined, 'requires flock (util-linux) on PATH', 'CI must install util-linux');
}

/** python3 (a test drives a program under a pseudo-terminal with its pty module). */
export function requirePython3(t: TestContext): boolean {
  return gate(t, platform().which('python3') !== undefined, 'requires python3 on PATH', 'CI must install python3');
}

/** perl (the oci executor's `exec -t` relays conmon's attach socket with it; Essential on Debian). */
export function requirePerl(t: TestContext): boolean {
  return gate(t, platform().which('perl') !== undefined, 'requires perl on PATH', 'CI must install perl-base');
}

/** A program from a Debian package that .ci/run installs (systemd-analyze from systemd, ssh-keygen from openssh-client, …). */
export function requireProgram(t: TestContext, program: string, pkg: string): boolean {
  return gate(t, platform().which(program) !== undefined, `requires ${program} on PATH (Debian package ${pkg})`, `CI must install ${pkg}`);
}

/** Where the web page tests find Chromium: TEND_CHROMIUM, else Debian's `chromium` package. */
export function chromiumPath(): string | undefined {
  const p = process.env.TEND_CHROMIUM || '/usr/bin/chromium';
  return existsSync(p) ? p : platform().which('chromium');
}

/** A Chromium to drive the web page in (Debian's `chromium` package; .ci/run installs it). */
export function requireChromium(t: TestContext): boolean {
  return gate(t, chromiumPath() !== undefined, 'requires chromium (/usr/bin/chromium or TEND_CHROMIUM)', 'CI must install Debian\'s chromium package');
}
