import type { Logger } from '../lib/logger';

/** How often each daemon adds the jobs of window timers coming due (they are taken TIMER_HORIZON_MS early). */
export const TIMER_LOOP_INTERVAL_MS = 1000;
/** Timers taken per round trip. */
const TIMER_BATCH = 500;

/**
 * The window-timer loop: every TIMER_LOOP_INTERVAL_MS it asks the scheduler to add the jobs of the window timers
 * coming due (BullmqScheduler.promoteDueTimers), as many rounds as a burst needs. Every daemon runs one; Redis
 * hands each timer to one of them. It only orchestrates.
 */
export class WindowTimerLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly scheduler: { promoteDueTimers(limit: number): Promise<number> },
    private readonly logger: Logger,
    private readonly intervalMs = TIMER_LOOP_INTERVAL_MS,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.next(0);
  }

  /** Stops; a round under way finishes (a timer it took and did not finish is taken again after its lease). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private next(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.drain().finally(() => {
        this.current = undefined;
        this.next(this.intervalMs);
      });
    }, ms);
  }

  private async drain(): Promise<void> {
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
