import { ConcurrencyLimit } from '../lib/concurrency-limit';

/**
 * At most `limit` requests in flight per mailbox (Graph's Outlook limit is 4 concurrent requests per app and
 * mailbox; a fifth is refused with 429 ApplicationThrottled / MailboxConcurrency). Waiters are served in arrival
 * order; a mailbox with nothing in flight and nobody waiting holds no memory.
 */
export class MailboxSemaphore {
  private readonly limits = new Map<string, ConcurrencyLimit>();

  constructor(private readonly limit = 4) {}

  async run<T>(mailbox: string, work: () => Promise<T>): Promise<T> {
    const key = mailbox.toLowerCase();
    let limit = this.limits.get(key);
    if (!limit) this.limits.set(key, (limit = new ConcurrencyLimit(this.limit)));
    try {
      return await limit.run(work);
    } finally {
      // A waiter handed the slot keeps it counted: only a mailbox left idle is forgotten.
      if (limit.active === 0 && this.limits.get(key) === limit) this.limits.delete(key);
    }
  }

  /** Requests in flight for a mailbox (tests, metrics). */
  inFlight(mailbox: string): number {
    return this.limits.get(mailbox.toLowerCase())?.active ?? 0;
  }
}
