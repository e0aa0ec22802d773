import type { ServiceDeps } from './ports';
import type { LifecycleWebhookService } from './lifecycle-webhook-service';

/** Booked windows checked per round trip of the start-up check. */
const WINDOW_CHECK_PAGE = 1000;

/**
 * What a starting daemon puts back in place from Redis: pending bookings are booked, channels are checked, the
 * lifecycle feed's dispatch resumes, and every booked window has its fire (and window.upcoming) job.
 */
export class StartupRecovery {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly lifecycle: LifecycleWebhookService,
  ) {}

  /**
   * The quick part, before the daemon says it is started; the window check (`checkWindowJobs`) is returned to run
   * after: it reads every booked window (100,000 take a few seconds) and normally finds nothing to add.
   */
  async recover(): Promise<{ pending: number; windowJobs: Promise<{ booked: number; added: number }> }> {
    const { store, scheduler, logger } = this.deps;
    if (await store.recountStatusesIfMissing()) logger.info('remediations counted by status (for metrics)');
    await scheduler.requestChannelMaintenance();
    const pending = await store.countPendingBookings();
    if (pending > 0) await scheduler.requestBooking();
    await this.lifecycle.init();
    await scheduler.requestLifecycleDispatch();
    return { pending, windowJobs: this.checkWindowJobs() };
  }

  /**
   * Every booked window has its fire job (and window.upcoming job): they are added before the booking is saved, so
   * one is missing only if Redis lost it or someone removed it. Checked a page at a time (one round trip per page
   * for the check, an add only where one is missing).
   */
  async checkWindowJobs(): Promise<{ booked: number; added: number }> {
    const { store, scheduler, logger, settings } = this.deps;
    const started = Date.now();
    let booked = 0;
    let added = 0;
    for (let offset = 0; ; offset += WINDOW_CHECK_PAGE) {
      const page = await store.bookedPage(offset, WINDOW_CHECK_PAGE);
      booked += page.length;
      added += await scheduler.ensureWindowJobs(page, settings.notifyBeforeMinutes);
      if (page.length < WINDOW_CHECK_PAGE) break;
    }
    if (added > 0) logger.warn({ windows: booked, added }, 'booked windows without a fire job: their jobs were added');
    else if (booked > 0) logger.info({ windows: booked, ms: Date.now() - started }, 'fire jobs of booked windows in place');
    return { booked, added };
  }
}
