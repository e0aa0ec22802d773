import type { SchedulingRules } from '../domain/scheduling-rules';
import type { Remediation } from '../domain/remediation';
import type { CalendarGateway } from '../ports/calendar';
import type { HostDirectory } from '../fleet/fleet-client';
import type { ResolutionSender } from '../webhook/resolution-webhook';
import type { RemediationStore } from '../store/remediation-store';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';

/** What services ask of the job system (BullMQ in production); services never touch queues directly. */
export interface JobScheduler {
  /** Wake the booking worker: pending remediations are waiting for a slot. */
  requestBooking(): Promise<void>;
  /** A delayed job that fires the window at r.start (idempotent per remediation, booking and start). */
  scheduleFire(r: Remediation): Promise<void>;
  /** Sync one owner's calendar soon; a burst of requests becomes one sync. */
  requestSync(owner: string): Promise<void>;
  /** Re-check which push channels are needed (after a booking, a move, a close). */
  requestChannelMaintenance(): Promise<void>;
  /** A job that delivers (or redelivers) a remediation's resolution webhook. */
  enqueueDelivery(ref: DeliveryRef): Promise<void>;
  /**
   * A job that deletes one of our events once the change that gives it up is saved. Added BEFORE that change is
   * saved, so a daemon killed in between leaves a job, never an event nobody tracks (see withdrawEvent).
   */
  withdrawEvent(w: EventWithdrawal): Promise<void>;
  /** Whether the job carrying a remediation's current delivery is still there to finish it. */
  deliveryJobLive(r: Remediation): Promise<boolean>;
}

/** An event of ours to take off an owner's calendar, and the remediation that gives it up. */
export interface EventWithdrawal {
  remediationId: string;
  owner: string;
  eventId: string;
}

/** Identifies one delivery of a remediation's resolution webhook (1 = the window's firing, then redeliveries). */
export interface DeliveryRef {
  remediationId: string;
  deliveryNumber: number;
}

export interface ServiceSettings {
  /** Only owner emails at this domain get events. */
  domain?: string;
  orgName?: string;
  scheduling: SchedulingRules;
  watch: WatchSettings;
}

export interface WatchSettings {
  /** Where Google sends push notifications: PUBLIC_URL + /v1/google/notifications. */
  notificationUrl: string;
  /** Owners with a window starting within this many ms are watched with a push channel. */
  pushHorizonMs: number;
  /** Lifetime asked for a new channel (Google's maximum: 7 days). */
  channelTtlSeconds: number;
  /** Every calendar with a booked window is synced this often (the poll, and push's safety net). */
  pollIntervalMs: number;
  /** Push channels at all: Google delivers only to HTTPS; without push, the poll is the only watch. */
  push: boolean;
}

/** Everything a service may use: ports only, so tests swap real adapters for the emulator and a test clock. */
export interface ServiceDeps {
  store: RemediationStore;
  calendar: CalendarGateway;
  hosts?: HostDirectory;
  sender: ResolutionSender;
  scheduler: JobScheduler;
  clock: Clock;
  logger: Logger;
  settings: ServiceSettings;
}

/** Name of the lock that guards a remediation's state: its owner's, or its host's while it has no owner. */
export function lockNameFor(r: Pick<Remediation, 'email' | 'host'>): string {
  return r.email ? `owner:${r.email}` : `host:${r.host.id}`;
}
