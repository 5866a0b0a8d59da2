/**
 * The agent's services: one catalog, one check scheduler, one runner and the health tracker,
 * made together (src/agent/run.ts) and handed to the services hook, the template hook, the API
 * and rolling updates. The contract is services.ts.
 */
import type pino from 'pino';
import { ServiceCatalog } from './catalog.js';
import { HealthTracker } from './health.js';
import { CheckRunner, type CheckKinds } from './runner.js';
import { CheckScheduler, type SchedulerTime } from './scheduler.js';
import type { ServiceMetrics } from './services.js';

export { ServiceCatalog } from './catalog.js';
export { HealthTracker, hasChecks, type AllocHealth, type AllocHealthStatus } from './health.js';
export { CheckRunner, type CheckHost } from './runner.js';

export interface LocalServicesOptions {
  logger: pino.Logger;
  metrics?: ServiceMetrics;
  /** Checks running at once (default 128). */
  concurrency?: number;
  time?: SchedulerTime;
  kinds?: Partial<CheckKinds>;
}

export interface LocalServices {
  catalog: ServiceCatalog;
  health: HealthTracker;
  runner: CheckRunner;
  scheduler: CheckScheduler;
  /** Deregister everything and stop the checks (agent shutdown). */
  close(): void;
}

export function createLocalServices(o: LocalServicesOptions): LocalServices {
  const now = o.time ? () => o.time!.now() : Date.now;
  const catalog = new ServiceCatalog({ now });
  const health = new HealthTracker(catalog);
  const scheduler = new CheckScheduler({ concurrency: o.concurrency, time: o.time });
  const runner = new CheckRunner({ catalog, scheduler, logger: o.logger, metrics: o.metrics, now, kinds: o.kinds });
  return {
    catalog,
    health,
    runner,
    scheduler,
    close() {
      scheduler.close();
      runner.close();
    },
  };
}
