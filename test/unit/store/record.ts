/** A task record for the store's tests: ordinary values, `over` laid on top. */
import type { TaskRecord } from '../../../src/store/store.js';

export function taskRecord(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    job: 'j',
    group: 'g',
    index: 0,
    task: 't',
    allocId: `a-${id}`,
    execId: `a-${id}-t`,
    driver: 'raw_exec',
    file: '/j.hcl',
    hashes: { restart: 'r', resources: 's', policy: 'p', fields: {} },
    resources: { cpu: 100, memoryMB: 300 },
    killSignal: 'SIGINT',
    killTimeoutMs: 5000,
    state: 'pending',
    restarts: 0,
    events: [],
    ...over,
  };
}
