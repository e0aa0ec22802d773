import type { Actor } from '../domain/lifecycle-event';
import type { Remediation } from '../domain/remediation';
import type { Happening } from '../domain/remediation-lifecycle';
import type { DeliveryService } from './delivery-service';
import type { StartOptions } from './fire-service';
import type { ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';

/** Armed windows claimed together by one round of the fire loop. */
export const FIRE_BATCH = 200;
/** A round's outcomes wait at most this long for the other rounds' sends before they are stored. */
const RECORD_WAIT_MAX_MS = 5000;
/**
 * Armed windows are claimed up to this long before their start, their webhooks held until it: a burst's claims
 * (read, lifecycle, storage: ~0.25 ms of CPU per window) are done before the start instead of between its first
 * and last webhook. They start as at their start (firedAt, the payload's timestamp, window.started's late_ms 0;
 * the event occurs when stored). The owner is handed over to their next host then too, a moment early. The price: a
 * change to the event in this last moment, after its last look, finds the window started.
 */
export const CLAIM_AHEAD_MS = 800;

/** What a burst takes from the fire service: a window's start (at `at`) as a happening. */
export interface WindowStarter {
  startHappening(cur: Remediation, actor: Actor, opts: StartOptions, attempting: boolean, at?: number): Happening;
}

/**
 * The fire loop's rounds (src/jobs/fire-loop.ts): windows whose last look is done (armed) are claimed together at
 * their start and their webhooks sent while the next round is claimed. The window's own job (FireService.fire)
 * looks and arms it; this is what happens at the start of many windows at once.
 */
export class FireBurst {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
    private readonly delivery: DeliveryService,
    private readonly starter: WindowStarter,
  ) {}

  /**
   * Takes up to `limit` armed windows starting within CLAIM_AHEAD_MS and claims them together, those of one start
   * at once (one lock round trip, one read, one transaction: booked → firing as at their start, delivery 1's first
   * attempt counted), then sends their webhooks from their start (WEBHOOK_CONCURRENCY at a time, in claim order)
   * and answers: `sending` ends once every outcome is stored (the delivered ones together). A window that changed
   * since its look (moved, rebooked, cancelled) is not claimed. An attempt that is not a 2xx goes on as any
   * delivery does: its retry is a delivery job.
   */
  async claimArmed(limit = FIRE_BATCH): Promise<{ taken: number; sending: Promise<void> }> {
    const { store, clock } = this.deps;
    const due = await store.takeArmedWindows(clock.now() + CLAIM_AHEAD_MS, limit);
    if (due.length === 0) return { taken: 0, sending: Promise.resolve() };
    const byStart = new Map<number, typeof due>();
    for (const w of due) {
      const start = Date.parse(w.start);
      const group = byStart.get(start);
      if (group) group.push(w);
      else byStart.set(start, [w]);
    }
    const sends: Array<Promise<void>> = [];
    for (const [start, windows] of byStart) {
      const claimed = await this.startMany(windows, Math.max(start, clock.now()));
      if (claimed.length > 0) sends.push(this.untilStart(start).then(() => this.deliverClaimed(claimed)));
    }
    return { taken: due.length, sending: Promise.all(sends).then(() => undefined) };
  }

  /** Resolves once the clock has reached `start` (never before it: timers may fire a little early). */
  private async untilStart(start: number): Promise<void> {
    for (let wait = start - this.deps.clock.now(); wait > 0; wait = start - this.deps.clock.now()) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Webhooks of claimed rounds being sent right now, and who waits for none to be. */
  private sendsInFlight = 0;
  private readonly sendsDone: Array<() => void> = [];

  /**
   * Sends a round's webhooks, then stores their outcomes. In a burst the receiver's lateness is what counts: a
   * round stores its outcomes once no round is sending (at most RECORD_WAIT_MAX_MS later), so the daemon's time
   * goes to sending every window first. Until stored, a window stays `firing` with its attempt counted; a daemon
   * killed meanwhile leaves it to the stranded-delivery sweep, which sends it again under the same webhook-id.
   */
  private async deliverClaimed(claimed: Remediation[]): Promise<void> {
    const { scheduler, logger } = this.deps;
    this.sendsInFlight += claimed.length;
    const settled = await Promise.allSettled(
      claimed.map(async (r) => {
        try {
          return { r, sent: await this.delivery.send(r) };
        } finally {
          if (--this.sendsInFlight === 0) this.sendsDone.splice(0).forEach((wake) => wake());
        }
      }),
    );
    if (this.sendsInFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RECORD_WAIT_MAX_MS);
        this.sendsDone.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const sent = settled.flatMap((s, i) => {
      if (s.status === 'fulfilled') return [s.value];
      // Its attempt stays counted with no answer: the stranded-delivery sweep delivers it again.
      logger.error({ remediation: claimed[i].id, err: (s.reason as Error).message }, 'resolution webhook attempt ended without an answer');
      return [];
    });
    const delivered = sent.filter((s) => s.sent.step.kind === 'delivered');
    if (delivered.length > 0) await this.delivery.recordDelivered(delivered);
    for (const { r, sent: attempt } of sent.filter((s) => s.sent.step.kind !== 'delivered')) {
      const ref = { remediationId: r.id, deliveryNumber: 1 };
      const outcome = await this.delivery.record(ref, r, attempt);
      if (outcome.kind === 'retry') await scheduler.enqueueDelivery(ref, outcome.delayMs);
    }
    // The started windows' owners have nothing left to watch: the channel round that stops their channels is asked
    // for once the round's outcomes are stored — in a burst, after every round's sends (see above), so its calls to
    // the provider (one stop per owner) do not compete with the webhooks. Nothing is missed meanwhile: a started
    // window no longer moves.
    await scheduler.requestChannelMaintenance();
  }

  /**
   * The armed windows still current, started together as at `at` (booked → firing, attempt 1 counted); the started
   * ones.
   */
  private async startMany(windows: Array<{ remediationId: string; bookingNumber: number; start: string }>, at: number): Promise<Remediation[]> {
    const applied = await this.runner.applyMany(
      windows.map((w) => ({
        id: w.remediationId,
        happening: (cur: Remediation) =>
          cur.status === 'booked' && cur.bookingNumber === w.bookingNumber && cur.start === w.start ? this.starter.startHappening(cur, 'system', {}, true, at) : null,
      })),
      { at },
    );
    // Each start's log line is its event's (`lifecycle: window.started`, with late_ms and webhook_id).
    return applied.flatMap((a) => (a.kind === 'applied' ? [a.after] : []));
  }
}
