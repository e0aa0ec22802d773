/**
 * Injected failures (which requests fail, how often, with what) and Outlook's concurrency limit: at most N requests
 * in flight per mailbox (4 for Outlook), the next one answered 429 ApplicationThrottled "MailboxConcurrency".
 */
import type { GraphFault, GraphMethod } from './types';

export class FaultInjector {
  private faults: Array<{ fault: GraphFault; remaining: number }> = [];

  add(fault: GraphFault): void {
    this.faults.push({ fault: { ...fault }, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault that applies (consuming one of its `times`), or undefined. */
  take(method: GraphMethod, mailbox: string | undefined): GraphFault | undefined {
    for (const active of this.faults) {
      const { fault } = active;
      if (active.remaining <= 0) continue;
      if (fault.method !== undefined && fault.method !== method) continue;
      if (fault.mailbox !== undefined && fault.mailbox.toLowerCase() !== mailbox) continue;
      active.remaining -= 1;
      this.faults = this.faults.filter((f) => f.remaining > 0);
      return fault;
    }
    return undefined;
  }
}

export class MailboxConcurrency {
  private readonly inFlight = new Map<string, number>();
  /** Highest number of concurrent requests seen per mailbox (for tests). */
  readonly peak = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** Takes a slot; false when the mailbox already has `limit` requests in flight. */
  enter(mailbox: string): boolean {
    const current = this.inFlight.get(mailbox) ?? 0;
    if (current >= this.limit) return false;
    this.inFlight.set(mailbox, current + 1);
    this.peak.set(mailbox, Math.max(this.peak.get(mailbox) ?? 0, current + 1));
    return true;
  }

  leave(mailbox: string): void {
    const current = this.inFlight.get(mailbox) ?? 0;
    if (current <= 1) this.inFlight.delete(mailbox);
    else this.inFlight.set(mailbox, current - 1);
  }
}
