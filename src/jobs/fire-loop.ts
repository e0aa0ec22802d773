import type { Logger } from '../lib/logger';
import { FIRE_BATCH } from '../services/fire-burst';
import { PeriodicLoop } from './periodic-loop';

/** How often each daemon looks for armed windows whose start has come: they fire at most about this late. */
export const FIRE_LOOP_INTERVAL_MS = 50;
/** Rounds running at once when a burst is due (each claims up to FIRE_BATCH windows, then sends their webhooks). */
const PARALLEL_ROUNDS = 4;

/**
 * The fire loop: every FIRE_LOOP_INTERVAL_MS, windows whose last look is done and whose start has come are claimed
 * in rounds of FIRE_BATCH (FireBurst.claimArmed); a round's webhooks are sent while the next round is claimed.
 * Every daemon runs one; Redis hands each armed window to one of them. It only orchestrates: what a round does is
 * FireBurst's. A round that fails leaves its windows
 * to their jobs, which come back after the start (ARMED_FALLBACK_MS) and fire what is still booked.
 */
export class FireLoop extends PeriodicLoop {
  /** Rounds whose webhooks are still being sent or stored. */
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly fires: { claimArmed(limit?: number): Promise<{ taken: number; sending: Promise<void> }> },
    private readonly logger: Logger,
    intervalMs = FIRE_LOOP_INTERVAL_MS,
  ) {
    super(intervalMs);
  }

  /** Stops looking; the rounds under way finish (their webhooks sent and stored). */
  override async stop(): Promise<void> {
    await super.stop();
    await Promise.all([...this.sending]);
  }

  /** One round; a full one means a burst is due: PARALLEL_ROUNDS chains of rounds take it until it is gone. */
  protected async drain(): Promise<void> {
    if ((await this.round()) < FIRE_BATCH) return;
    await Promise.all(Array.from({ length: PARALLEL_ROUNDS }, () => this.chain()));
  }

  private async chain(): Promise<void> {
    while (!this.stopped && (await this.round()) >= FIRE_BATCH);
  }

  /** Claims a round; its webhooks go on being sent while the next round is claimed. */
  private async round(): Promise<number> {
    try {
      const { taken, sending } = await this.fires.claimArmed(FIRE_BATCH);
      const tracked: Promise<void> = sending
        .catch((err: Error) => this.logger.error({ err: err.message }, 'fire loop: storing a round\'s deliveries failed (the stranded sweep takes them)'))
        .finally(() => this.sending.delete(tracked));
      this.sending.add(tracked);
      return taken;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'fire loop round failed: its windows are left to their jobs');
      return 0;
    }
  }
}
