/**
 * Prestart: the task's `artifact` blocks are fetched into its dirs (src/artifacts/) before the
 * driver prepares the launch, as Nomad's artifact hook does. Sources and destinations are
 * interpolated with the task's runtime variables first (`${NOMAD_TASK_DIR}`, `${meta.x}`, …), as
 * the task itself sees them.
 *
 * Once all of a task's artifacts are in place they are not fetched again for restarts of the
 * same allocation (Nomad keeps "done" artifacts in the task state): a marker named after the
 * task and a hash of its artifact blocks sits in the allocation's agent-only root, so a changed
 * artifact block fetches again and a new allocation starts clean.
 *
 * A source or destination that can never work fails the task at once (E_SPEC_INVALID); a
 * download, checksum or limit failure goes through the restart policy.
 */
import { createHash } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fetchArtifacts } from '../../artifacts/fetch-artifact.js';
import { isArtifactError, type ArtifactLimits } from '../../artifacts/artifacts.js';
import { TendError } from '../../errors.js';
import type { NodeInfo } from '../../jobspec/model.js';
import { pathUnder } from '../../safe-fs.js';
import type { PrestartHook } from '../hooks.js';
import { taskView } from './task-view.js';

export interface ArtifactHookOptions {
  dataDir: string;
  node: NodeInfo;
  agentEnv: Record<string, string | undefined>;
  /** The agent's `client { artifact { … } }` (its ArtifactClientConfig fits). */
  config: { limits: ArtifactLimits; allowedLocalDirs: string[]; setEnvironmentVariables: string[] };
}

export function artifactHook(o: ArtifactHookOptions): PrestartHook {
  return {
    name: 'artifacts',
    async prestart({ instance, dirs, user, ports, signal, emit }) {
      if (!instance.task.artifacts.length) return;
      const { task, view } = taskView(instance, dirs, ports, o.node, o.agentEnv);
      const hash = createHash('sha256').update(JSON.stringify(task.artifacts)).digest('hex').slice(0, 16);
      const marker = pathUnder(dirs.root, `.artifacts-${dirs.key}-${hash}`);
      if (await access(marker).then(() => true, () => false)) return;
      try {
        await fetchArtifacts(task.artifacts, {
          dirs: { taskDir: dirs.taskDir, allocDir: dirs.allocDir },
          view,
          dataDir: o.dataDir,
          owner: user ? { uid: user.uid, gid: user.gid } : undefined,
          limits: o.config.limits,
          jobDir: instance.job.file ? path.dirname(instance.job.file) : undefined,
          allowedLocalDirs: o.config.allowedLocalDirs,
          inheritEnv: o.config.setEnvironmentVariables,
          signal,
          onEvent: (type, message) => emit(type, message),
        });
      } catch (err) {
        if (isArtifactError(err) && !err.recoverable) throw new TendError('E_SPEC_INVALID', err.message, { cause: err, details: err.details });
        throw err;
      }
      await writeFile(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
    },
  };
}
