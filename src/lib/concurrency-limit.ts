/**
 * At most `limit` tasks in flight; waiters are served in arrival order (for a burst of windows: start order).
 * Used for WEBHOOK_CONCURRENCY (resolution webhook requests per daemon) and, one per mailbox, for Graph's
 * per-mailbox limit (MailboxSemaphore).
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

  /** Tasks in flight now (a waiter handed a slot counts). */
  get active(): number {
    return this.inFlight;
  }
}
