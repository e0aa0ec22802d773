import type { EchoLedger } from './own-write-echoes';
import type { ResolutionSender } from '../webhook/resolution-webhook';
import { AdminService } from './admin-service';
import { BookingService } from './booking-service';
import { CalendarWatchService } from './calendar-watch-service';
import type { DeliverySettings } from './delivery-service';
import { FireService } from './fire-service';
import { FleetSyncService } from './fleet-sync-service';
import { LifecycleWebhookService, type FeedCursorStore, type LifecycleJobs, type LifecycleWebhookSettings } from './lifecycle-webhook-service';
import type { ServiceDeps, WatchRepository } from './ports';
import { RemediationService } from './remediation-service';
import { RescheduleService } from './reschedule-service';
import { StartupRecovery } from './startup-recovery';
import { TransitionRunner } from './transition-runner';
import { WindowNoticeService } from './window-notice-service';

/** What the services need beyond the common ports. */
export interface ServiceExtras {
  watchStore: WatchRepository;
  /** Counts our writes and notifications per calendar (see own-write-echoes.ts); unset: every notification lists. */
  echoes?: EchoLedger;
  feedCursor: FeedCursorStore;
  lifecycleJobs: LifecycleJobs;
  /** Sends lifecycle webhooks (null: LIFECYCLE_WEBHOOK_URL unset). */
  lifecycleSender: ResolutionSender | null;
  lifecycle: LifecycleWebhookSettings;
  delivery?: DeliverySettings;
}

export interface Services {
  remediations: RemediationService;
  bookings: BookingService;
  fires: FireService;
  watch: CalendarWatchService;
  notices: WindowNoticeService;
  lifecycle: LifecycleWebhookService;
  admin: AdminService;
  recovery: StartupRecovery;
  /** Fleet as the source of truth (does nothing without FLEET_URL). */
  fleet: FleetSyncService;
}

/** Builds every service on the same ports: the one place they are wired to each other. */
export function createServices(deps: ServiceDeps, extras: ServiceExtras): Services {
  const runner = new TransitionRunner(deps);
  const remediations = new RemediationService(deps, runner);
  const reschedule = new RescheduleService(deps, runner);
  const fleet = new FleetSyncService(deps, runner, remediations);
  const fires = new FireService(deps, runner, reschedule, extras.delivery, deps.fleet ? fleet : undefined);
  const lifecycle = new LifecycleWebhookService(deps, extras.feedCursor, extras.lifecycleJobs, extras.lifecycleSender, extras.lifecycle);
  const watch = new CalendarWatchService(deps, extras.watchStore, reschedule, extras.echoes);
  return {
    remediations,
    bookings: new BookingService(deps, runner, watch),
    fires,
    watch,
    notices: new WindowNoticeService(deps, runner),
    lifecycle,
    admin: new AdminService(deps, runner, remediations, fires),
    recovery: new StartupRecovery(deps, lifecycle),
    fleet,
  };
}
