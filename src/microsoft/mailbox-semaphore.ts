/**
 * At most `limit` requests in flight per mailbox (Graph's Outlook limit is 4 concurrent requests per app and
 * mailbox; a fifth is refused with 429 ApplicationThrottled / MailboxConcurrency). Waiters are served in arrival
 * order; a mailbox with nothing in flight and nobody waiting holds no memory.
 */
export class MailboxSemaphore {
  private readonly slots = new Map<string, { inFlight: number; waiting: Array<() => void> }>();

  constructor(private readonly limit = 4) {}

  async run<T>(mailbox: string, work: () => Promise<T>): Promise<T> {
    const key = mailbox.toLowerCase();
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { inFlight: 0, waiting: [] }));
    if (slot.inFlight >= this.limit) await new Promise<void>((resolve) => slot.waiting.push(resolve));
    else slot.inFlight++;
    try {
      return await work();
    } finally {
      const next = slot.waiting.shift();
      if (next) next(); // the slot passes to the next waiter as is
      else if (--slot.inFlight === 0) this.slots.delete(key);
    }
  }

  /** Requests in flight for a mailbox (tests, metrics). */
  inFlight(mailbox: string): number {
    return this.slots.get(mailbox.toLowerCase())?.inFlight ?? 0;
  }
}
