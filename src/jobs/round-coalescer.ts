/**
 * A full round (every owner's push channel, every booked window) answers every request made before it started. A
 * request job added while a round runs waits for the next; when rounds take longer than requests come (100,000
 * booked windows, a booking every 20 ms), such jobs pile up and each would run a whole round again. This says which
 * of them a round that started later has already answered, so they end at once.
 *
 * Per daemon (a round of another daemon is not known here: at most one more round each). Job times are the adding
 * daemon's clock: a request counts as answered only if it was made CLOCK_MARGIN_MS before the round began.
 */
export const CLOCK_MARGIN_MS = 1000;

export class RoundCoalescer {
  private lastStartedAt = -Infinity;

  /** Whether a round must run for a request made at `requestedAt` (epoch ms, the job's creation time). */
  needed(requestedAt: number): boolean {
    return requestedAt >= this.lastStartedAt - CLOCK_MARGIN_MS;
  }

  /** A round starts now (it reads everything stored before `at`). */
  started(at: number): void {
    this.lastStartedAt = Math.max(this.lastStartedAt, at);
  }
}
