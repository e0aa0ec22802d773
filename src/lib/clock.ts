/** Time source. Everything that needs "now" takes a Clock so tests control time without sleeping. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock running at real speed but shifted by a fixed offset: "it is Tuesday 09:29:58" in tests. */
export function offsetClock(offsetMs: number): Clock {
  return { now: () => Date.now() + offsetMs };
}
