/**
 * Service checks as the health source of rolling updates (`update { health_check = "checks" }`):
 * an adapter from the services' allocation health (src/services/health.ts) to the rollouts'
 * AllocHealthSource (src/reconcile/rollout-health.ts).
 *
 * - A group without checks: undefined (task states decide, as Nomad does).
 * - All checks passing: healthy since the moment they all passed (min_healthy_time counts from it).
 * - Otherwise pending: a critical check while the app starts is not yet a failure; the rollout's
 *   healthy_deadline decides, as in Nomad's allocation health tracker.
 */
import type { AllocHealthSource } from '../reconcile/rollout-health.js';
import { hasChecks, type AllocHealth } from '../services/health.js';

export function checkHealthSource(h: AllocHealth, now: () => number): AllocHealthSource {
  const since = new Map<string, number>();
  const track = (allocId: string, healthy: boolean) => {
    if (!healthy) since.delete(allocId);
    else if (!since.has(allocId)) since.set(allocId, now());
  };
  return {
    health(allocId, group) {
      if (!hasChecks(group)) return undefined;
      const st = h.health(allocId);
      track(allocId, st === 'healthy');
      if (st === 'healthy') return { status: 'healthy', since: since.get(allocId)! };
      return { status: 'pending', reason: st === 'unhealthy' ? 'a service check is not passing' : 'service checks have no result yet' };
    },
    onHealthChange(cb) {
      return h.onHealthChange((allocId, st) => {
        track(allocId, st === 'healthy');
        cb(allocId);
      });
    },
  };
}
