/** Time and randomness, injectable so that restart timing can be faked in tests. */
export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** In [0, 1), for the restart delay's jitter. */
  random(): number;
}

export const systemClock: Clock = { now: () => Date.now(), random: Math.random };
