/**
 * A full round (every owner's push channel, every booked window) answers every request made before it started.
 * BullmqScheduler.requestChannelMaintenance keeps at most one request job waiting; this says when a round that
 * started after that job was added (a watch tick's) has already answered it, so it ends at once instead of running
 * a whole round again (and it ends the jobs an older daemon let pile up).
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
