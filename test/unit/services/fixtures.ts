/** Shared pieces of the services unit tests: a check spec, a registration, a fake scheduler clock. */
import type { CheckSpec, Registration } from '../../../src/services/services.js';
import type { SchedulerTime } from '../../../src/services/scheduler.js';

export function spec(over: Partial<CheckSpec> = {}): CheckSpec {
  return {
    id: 'r1#0',
    name: 'alive',
    type: 'tcp',
    intervalMs: 10_000,
    timeoutMs: 2000,
    address: '127.0.0.1',
    port: 1,
    successBeforePassing: 0,
    failuresBeforeCritical: 0,
    onUpdate: 'require_healthy',
    ...over,
  };
}

export function reg(id: string, over: Partial<Registration> = {}): Registration {
  return {
    id,
    name: 'web',
    namespace: 'default',
    job: 'shop',
    group: 'g',
    index: 0,
    allocId: 'alloc-1',
    task: 't',
    tags: ['v1'],
    meta: {},
    address: '127.0.0.1',
    port: 8080,
    checks: [spec({ id: `${id}#0` })],
    file: '/jobs/shop.hcl',
    ...over,
  };
}

/** A clock and timers moved by hand: `advance(ms)` fires what falls due, in order. */
export class FakeTime implements SchedulerTime {
  #now = 1_000_000;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  random = () => 0.5;
  now = () => this.#now;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown) => void this.#timers.delete(h as number);
  get pending(): number {
    return this.#timers.size;
  }
  /** Move time on by `ms`, firing due timers (and letting their promises settle) as it goes. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
    }
    this.#now = end;
    await settle();
  }
}

/** Let pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
