/**
 * The node: which executor runs tasks and why, the drivers and why one is
 * unavailable, the cgroup mode, the jobs dir and its Git revision (when the
 * agent reports one), the data dir's disk and the node's memory.
 */
import type { NodeInfo } from './ui.js';
import { clockTime, formatBytes, formatRelative, parseTime } from './format.js';
import { formatCpuList, formatLogsDropped } from '../cli/format/node.js';
import { plain } from './format.js';
import { useNow } from './tick.js';

export function NodePanel({ node }: { node: NodeInfo }) {
  const now = useNow(10_000);
  const drivers = Object.entries(node.drivers).sort(([a], [b]) => a.localeCompare(b));
  const disk = node.disk;
  const used = disk && disk.totalBytes > 0 ? 1 - disk.freeBytes / disk.totalBytes : undefined;
  const started = parseTime(node.startedAt);
  const rev = node.jobsRevision;
  return (
    <section class="card node" aria-labelledby="node-title">
      <h2 id="node-title">
        Node <span class="muted">{node.name}</span>
      </h2>
      <dl class="facts">
        <dt>Executor</dt>
        <dd data-field="executor">
          <strong>{node.executor}</strong>
          {node.executorReason ? <span class="muted"> — {node.executorReason}</span> : null}
          {node.executor === 'plain' ? <div class="note">Resource limits are recorded, not enforced.</div> : null}
        </dd>
        <dt>Drivers</dt>
        <dd>
          <ul class="drivers">
            {drivers.map(([name, d]) => (
              <li>
                <span class={`badge ${d.ok && d.enabled ? 'good' : d.enabled ? 'bad' : 'idle'}`}>{d.ok && d.enabled ? 'available' : d.enabled ? 'unavailable' : 'disabled'}</span> {name}
                {d.reason ? <span class="muted"> — {d.reason}</span> : !d.enabled ? <span class="muted"> — disabled in the agent config</span> : null}
              </li>
            ))}
          </ul>
        </dd>
        <dt>Cgroups</dt>
        <dd>
          {node.cgroupMode}
          {node.cgroupParent ? <span class="muted"> (parent {node.cgroupParent})</span> : null}
        </dd>
        <dt>Jobs dir</dt>
        <dd>
          <span class="path">{node.jobsDir}</span>
          {rev ? (
            <div data-field="revision">
              revision <code>{rev.commit.slice(0, 12)}</code> <span class="muted">({rev.source === 'git' ? 'git' : 'REVISION file'}{rev.appliedAt ? `, applied ${clockTime(rev.appliedAt)}` : ''})</span>
            </div>
          ) : null}
        </dd>
        <dt>Data dir</dt>
        <dd>
          <span class="path">{node.dataDir}</span>
          {disk && disk.freeBytes >= 0 ? (
            <div class={disk.low ? 'warn' : undefined}>
              {formatBytes(disk.freeBytes)} free of {formatBytes(disk.totalBytes)}
              {disk.low ? ` (low: below ${formatBytes(disk.lowBytes)})` : ''}
              {used !== undefined ? (
                <span class={`bar wide${disk.low ? ' over' : ''}`} aria-hidden="true">
                  <span style={{ width: `${(used * 100).toFixed(1)}%` }} />
                </span>
              ) : null}
            </div>
          ) : null}
          {disk ? <div class="muted">Logs dropped: {formatLogsDropped(disk, plain)}</div> : null}
          {disk?.warnings.map((w) => <div class="warn">{w}</div>)}
        </dd>
        <dt>Memory</dt>
        <dd>{formatBytes(node.memoryBytes)}</dd>
        <dt>Cores</dt>
        <dd>
          {formatCpuList(node.cores)}
          {node.reservedCores.length ? ` (reserved ${formatCpuList(node.reservedCores)})` : ''}
        </dd>
        <dt>Agent</dt>
        <dd>
          {node.version}, started {started === undefined ? node.startedAt : formatRelative(started, now)}
        </dd>
      </dl>
    </section>
  );
}
