/**
 * The current time for what shows durations (uptimes, "12s ago"): one shared
 * timer per period, so a thousand cells tick in one render without the rows
 * around them rendering again.
 */
import { useEffect, useState } from 'preact/hooks';

const clocks = new Map<number, { listeners: Set<(now: number) => void>; timer: number }>();

export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    let clock = clocks.get(everyMs);
    if (!clock) {
      const listeners = new Set<(now: number) => void>();
      const timer = window.setInterval(() => {
        const t = Date.now();
        for (const l of listeners) l(t);
      }, everyMs);
      clocks.set(everyMs, (clock = { listeners, timer }));
    }
    const c = clock;
    c.listeners.add(setNow);
    setNow(Date.now());
    return () => {
      c.listeners.delete(setNow);
      if (!c.listeners.size) {
        window.clearInterval(c.timer);
        clocks.delete(everyMs);
      }
    };
  }, [everyMs]);
  return now;
}
