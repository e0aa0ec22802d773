import type { Logger } from '../lib/logger';
import { PeriodicLoop } from './periodic-loop';

/** How often each daemon adds the jobs of window timers coming due (they are taken TIMER_HORIZON_MS early). */
export const TIMER_LOOP_INTERVAL_MS = 1000;
/** Timers taken per round trip. */
const TIMER_BATCH = 500;

/**
 * The window-timer loop: every TIMER_LOOP_INTERVAL_MS it asks the scheduler to add the jobs of the window timers
 * coming due (BullmqScheduler.promoteDueTimers), as many rounds as a burst needs. Every daemon runs one; Redis
 * hands each timer to one of them. It only orchestrates.
 */
export class WindowTimerLoop extends PeriodicLoop {
  constructor(
    private readonly scheduler: { promoteDueTimers(limit: number): Promise<number> },
    private readonly logger: Logger,
    intervalMs = TIMER_LOOP_INTERVAL_MS,
  ) {
    super(intervalMs);
  }

  protected async drain(): Promise<void> {
    try {
      let promoted = 0;
      let round: number;
      do {
        round = await this.scheduler.promoteDueTimers(TIMER_BATCH);
        promoted += round;
      } while (round >= TIMER_BATCH && !this.stopped);
      if (promoted > 0) this.logger.debug({ windows: promoted }, 'window timers: jobs added');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'window timers: a round failed (its timers are taken again after their lease)');
    }
  }
}
