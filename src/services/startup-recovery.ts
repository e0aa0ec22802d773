import type { ServiceDeps } from './ports';
import type { LifecycleWebhookService } from './lifecycle-webhook-service';

/**
 * What a starting daemon puts back in place from Redis: pending bookings are booked, every booked window has its
 * fire (and window.upcoming) job, channels are checked, and the lifecycle feed's dispatch resumes.
 */
export class StartupRecovery {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly lifecycle: LifecycleWebhookService,
  ) {}

  async recover(): Promise<{ pending: number; booked: number }> {
    const { store, scheduler, logger, settings } = this.deps;
    if (await store.recountStatusesIfMissing()) logger.info('remediations counted by status (for metrics)');
    await scheduler.requestChannelMaintenance();
    const pending = await store.countPendingBookings();
    if (pending > 0) await scheduler.requestBooking();
    // Idempotent: an existing job is left as it is.
    const booked = await store.allBooked();
    for (const r of booked) {
      await scheduler.scheduleFire(r);
      await scheduler.scheduleUpcoming(r, settings.notifyBeforeMinutes);
    }
    if (booked.length > 0) logger.info({ windows: booked.length }, 'fire jobs of booked windows in place');
    await this.lifecycle.init();
    await scheduler.requestLifecycleDispatch();
    return { pending, booked: booked.length };
  }
}
