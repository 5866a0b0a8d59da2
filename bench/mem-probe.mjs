// Preloaded into tend's node processes by bench/agent-memory.ts (NODE_OPTIONS=--import):
// every second, each thread (the main thread and each worker) writes what V8
// says of its heap to $TEND_MEMPROBE/<pid>.<threadId>.json. Not for production.
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { threadId } from 'node:worker_threads';

const dir = process.env.TEND_MEMPROBE;
// Runtime V8 flags for the agent's main thread only, as the agent could set them for itself at start (experiments).
if (process.env.TEND_MEMPROBE_AGENT_V8 && process.argv.includes('agent') && threadId === 0) v8.setFlagsFromString(process.env.TEND_MEMPROBE_AGENT_V8);
if (dir) {
  const file = `${dir}/${process.pid}.${threadId}.json`;
  const write = () => {
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
    writeFileSync(
      file,
      JSON.stringify({ at: Date.now(), pid: process.pid, threadId, argv: process.argv.slice(1), mem: process.memoryUsage(), heap: v8.getHeapStatistics(), code: v8.getHeapCodeStatistics(), spaces }),
    );
  };
  write();
  setInterval(write, 1000).unref();
}
