/**
 * A loop that runs `drain` every `intervalMs` (the next run is timed from the end of the last one), started and
 * stopped with the workers. Stopping waits for a run under way. The fire loop and the window-timer loop are ones.
 */
export abstract class PeriodicLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  protected stopped = true;

  constructor(private readonly intervalMs: number) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.next(0);
  }

  /** Stops looping; a run under way finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  /** One run; it must not throw (a loop logs its own failures). */
  protected abstract drain(): Promise<void>;

  private next(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.drain().finally(() => {
        this.current = undefined;
        this.next(this.intervalMs);
      });
    }, ms);
  }
}
