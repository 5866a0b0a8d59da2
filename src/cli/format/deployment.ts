/**
 * A rollout as `tendctl status` and `tendctl deployment status` show it: a one-line summary
 * ("running, 1/3 healthy, max_parallel 1"; "reverted, file revision … is failing; …"), and the
 * details: the version and file revision, Nomad's status description, each group's progress and
 * `update` settings, and each placed allocation's health. Pure.
 */
import type { DeploymentView, JobView } from '../../api/api.js';
import { formatRelative, parseTime } from './duration.js';
import { palette as makePalette, type Palette } from './color.js';
import { formatKeyValues, formatTable } from './table.js';

function counts(d: DeploymentView): { healthy: number; total: number; unhealthy: number; parallel: string } {
  const healthy = d.groups.reduce((n, g) => n + g.healthy, 0);
  const total = d.groups.reduce((n, g) => n + g.desiredTotal, 0);
  const unhealthy = d.groups.reduce((n, g) => n + g.unhealthy, 0);
  const parallel = [...new Set(d.groups.map((g) => g.maxParallel))].join('/');
  return { healthy, total, unhealthy, parallel };
}

function colorStatus(status: string, p: Palette): string {
  if (status === 'successful') return p.green(status);
  if (status === 'failed' || status === 'reverted') return p.red(status);
  if (status === 'running') return p.yellow(status);
  return status;
}

/** "running, 1/3 healthy, max_parallel 1"; with a revert in force, "reverted, file revision X is failing; …". */
export function deploymentSummary(d: DeploymentView, p: Palette = makePalette(false)): string {
  const c = counts(d);
  const progress = `${c.healthy}/${c.total} healthy${c.unhealthy ? `, ${c.unhealthy} unhealthy` : ''}, max_parallel ${c.parallel}`;
  if (d.reverted) {
    const rollback = d.status === 'successful' ? `version ${d.reverted.stableVersion} runs` : `rollback to version ${d.reverted.stableVersion} ${d.status}, ${progress}`;
    return `${colorStatus('reverted', p)}, file revision ${d.reverted.fileRevision ?? 'unknown'} is failing; ${rollback}`;
  }
  return `${colorStatus(d.status, p)}, ${progress}`;
}

/** The details under a job (`indent`) or alone (`tendctl deployment status`). */
export function renderDeployment(d: DeploymentView, now: number, p: Palette = makePalette(false), indent = ''): string[] {
  const when = (iso: string | undefined) => {
    const t = parseTime(iso);
    return t === undefined ? '-' : formatRelative(t, now);
  };
  const pairs: [string, string][] = [
    ['ID', d.id],
    ['Version', `${d.version}${d.fileRevision ? ` (file revision ${d.fileRevision})` : ''}${d.rollback ? ', a rollback' : ''}`],
    ['Status', `${colorStatus(d.status, p)}: ${d.description}`],
    ['Started', when(d.startedAt)],
  ];
  if (d.endedAt) pairs.push(['Ended', when(d.endedAt)]);
  if (d.reverted) {
    pairs.push(['Reverted', p.red(`file revision ${d.reverted.fileRevision ?? 'unknown'} (version ${d.reverted.version}) is failing: ${d.reverted.reason}; version ${d.reverted.stableVersion} runs until the file changes`)]);
  }
  if (d.stable) pairs.push(['Stable', `version ${d.stable.version}${d.stable.fileRevision ? ` (file revision ${d.stable.fileRevision})` : ''}, ${when(d.stable.at)}`]);
  const out = formatKeyValues(pairs, indent).trimEnd().split('\n');
  const rows = d.groups.map((g) => [
    g.name,
    String(g.desiredTotal),
    String(g.placed),
    String(g.healthy),
    g.unhealthy ? p.red(String(g.unhealthy)) : '0',
    String(g.maxParallel),
    g.healthCheck,
    g.minHealthyTime,
    g.healthyDeadline,
    d.status === 'running' && g.requireProgressBy ? when(g.requireProgressBy) : g.progressDeadline,
    g.autoRevert ? 'yes' : 'no',
  ]);
  out.push(
    formatTable(['GROUP', 'DESIRED', 'PLACED', 'HEALTHY', 'UNHEALTHY', 'MAX_PARALLEL', 'HEALTH_CHECK', 'MIN_HEALTHY', 'DEADLINE', 'PROGRESS', 'AUTO_REVERT'], rows, { indent, headerStyle: p.bold }).trimEnd(),
  );
  const bad = d.groups.flatMap((g) => g.allocs.filter((a) => a.unhealthy).map((a) => `${indent}${g.name}[${a.index}] unhealthy: ${a.unhealthy}`));
  out.push(...bad.map((l) => p.red(l)));
  return out;
}

/** The "Rollouts:" section of the node-wide status: deployments running, failed or reverted. */
export function renderDeploymentJobs(jobs: JobView[], p: Palette = makePalette(false)): string[] {
  const shown = jobs.filter((j) => j.deployment && (j.deployment.status === 'running' || j.deployment.status === 'failed' || j.deployment.reverted));
  if (!shown.length) return [];
  return ['', p.bold('Rollouts:'), formatTable(['JOB', 'DEPLOYMENT', 'VERSION', 'STATUS'], shown.map((j) => [j.id, j.deployment!.id, j.deployment!.version, deploymentSummary(j.deployment!, p)]), { indent: '  ', headerStyle: p.bold }).trimEnd()];
}
