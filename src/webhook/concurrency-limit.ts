/**
 * WEBHOOK_CONCURRENCY: at most `limit` resolution webhook requests in flight in this daemon, across receivers.
 * Waiters are served in arrival order (start order, for a burst of windows).
 */
export class ConcurrencyLimit {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes to the next waiter as is
      else this.inFlight--;
    }
  }

  /** Requests in flight now (tests, metrics). */
  get active(): number {
    return this.inFlight;
  }
}
