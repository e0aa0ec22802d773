import type { SchedulingRules } from '../domain/scheduling-rules';
import type { MaintenanceConfig } from '../domain/maintenance-rules';
import type { LifecycleEvent } from '../domain/lifecycle-event';
import type { Remediation } from '../domain/remediation';
import type { CalendarPort } from '../ports/calendar';
import type { HostDirectory, PolicyResults } from '../fleet/fleet-client';
import type { ResolutionSender } from '../webhook/resolution-webhook';
import type { WebhookPacer } from '../webhook/webhook-pacer';
import type { ArmedWindow, FeedQuery, ListFilter, StateWrite } from '../store/remediation-store';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';

import type { ChannelRecord } from '../store/watch-store';

export type { ArmedWindow, FeedQuery, ListFilter, StateWrite } from '../store/remediation-store';
export type { ChannelRecord } from '../store/watch-store';

/**
 * Where remediations, their indexes and their events are kept (Redis in production: RemediationStore; an
 * in-memory fake in service tests). Every state change goes through `commit`, with the events it produced.
 */
export interface RemediationRepository {
  /** Runs fn while holding a named lock (an owner's, an ownerless host's, a channel's). */
  withOwnerLock<T>(lockName: string, fn: () => Promise<T>): Promise<T>;
  /** Takes the locks of `lockNames` that are free now (waits for none), runs fn with those held, releases them. */
  withOwnerLocks<T>(lockNames: string[], fn: (held: ReadonlySet<string>) => Promise<T>): Promise<T>;
  /** A window whose last look is done, to be claimed by the fire loop at its start. */
  armWindow(w: ArmedWindow): Promise<void>;
  /** Takes (removes) up to `limit` armed windows starting by `dueBy`, earliest first. */
  takeArmedWindows(dueBy: number, limit: number): Promise<ArmedWindow[]>;
  /** The next place among the windows booked at `startMs` (0, 1, 2 …; never the same twice). */
  nextRankAt(startMs: number): Promise<number>;
  get(id: string): Promise<Remediation | null>;
  getMany(ids: string[]): Promise<Remediation[]>;
  /** A new remediation's id: every remediation has one from here (a store may list a host's remediations by it). */
  nextId(hostId: number): Promise<string>;
  /** New states, their pointer changes and their events, in one transaction; returns the stored events. */
  commit(writes: StateWrite[], occurredAt: number): Promise<LifecycleEvent[]>;
  history(id: string): Promise<LifecycleEvent[]>;
  readFeed(q: FeedQuery): Promise<{ events: LifecycleEvent[]; next: string | null }>;
  /** The cursor of the newest event in the feed (null: empty). */
  feedHead(): Promise<string | null>;
  /** Where a cursor stands: within the feed, older than what is kept (trimmed), or past the newest event. */
  feedPosition(cursor: string): Promise<'within' | 'trimmed' | 'ahead'>;
  list(filter: ListFilter): Promise<{ remediations: Remediation[]; next: string | null }>;
  /** Booked remediations `offset`…`offset + limit − 1`, earliest first (a pass over them all, page by page). */
  bookedPage(offset: number, limit: number): Promise<Remediation[]>;
  allFiring(): Promise<Remediation[]>;
  /** Ids of every open remediation (the Fleet sync's work list). */
  openIds(): Promise<string[]>;
  /** Adds open remediations stored before that index existed (once); returns how many. */
  indexOpenRemediations(): Promise<number>;
  /** Windows that fired, ended by `endedBy` and not yet followed up in Fleet (see REBOOK_AFTER_FIRE_MINUTES). */
  firedUnchecked(endedBy: number, limit: number): Promise<Remediation[]>;
  openForHost(hostId: number): Promise<Remediation | null>;
  openIdForHost(hostId: number): Promise<string | null>;
  activeForOwner(email: string): Promise<string | null>;
  firstWaiting(email: string): Promise<string | null>;
  removeWaiting(email: string, id: string): Promise<void>;
  claimPendingBookings(limit: number, notAfter: number, leaseMs: number): Promise<string[]>;
  releaseBookingLeases(ids: string[]): Promise<void>;
  deferPendingBooking(id: string, at: number): Promise<void>;
  removePendingBooking(id: string): Promise<void>;
  countPendingBookings(): Promise<number>;
  statusCounts(): Promise<Partial<Record<Remediation['status'], number>>>;
  recountStatusesIfMissing(): Promise<boolean>;
  markLatestEvent(hostId: number, policyId: number, occurredAt: number, ttlSeconds: number): Promise<boolean>;
  cachedTimeZone(email: string): Promise<string | null>;
  cacheTimeZone(email: string, zone: string, ttlSeconds: number): Promise<void>;
}

/** Push channels and sync state of owners' calendars (Redis in production: WatchStore). */
export interface WatchRepository {
  saveChannel(c: ChannelRecord): Promise<void>;
  channel(channelId: string): Promise<ChannelRecord | null>;
  currentChannel(owner: string): Promise<ChannelRecord | null>;
  /** Each owner's current channel (null: none), in owners' order: a channel round reads a page of owners at once. */
  currentChannels(owners: string[]): Promise<Array<ChannelRecord | null>>;
  /** Each owner's current channel id (null: none), in owners' order, without reading the records. */
  currentChannelIds(owners: string[]): Promise<Array<string | null>>;
  removeChannel(c: ChannelRecord): Promise<void>;
  /** Channels we hold, earliest expiration first: `limit` of them from `offset` (fewer only past the end, or where a listed record is gone). */
  channelPage(offset: number, limit: number): Promise<ChannelRecord[]>;
  syncToken(owner: string): Promise<string | null>;
  setSyncToken(owner: string, token: string | null): Promise<void>;
  lastSync(owner: string): Promise<number>;
  markSynced(owner: string, at: number): Promise<void>;
}

/** What services ask of the job system (BullMQ in production); services never touch queues directly. */
export interface JobScheduler {
  /** Wake the booking worker: pending remediations are waiting for a slot. */
  requestBooking(): Promise<void>;
  /**
   * The jobs of r's booked window: the one that fires it at its start and, `notifyBeforeMinutes` ahead (0: none),
   * its window.upcoming notice (idempotent per remediation, booking and start).
   */
  scheduleWindow(r: Remediation, notifyBeforeMinutes: number): Promise<void>;
  /** Sync one owner's calendar soon; a burst of requests becomes one sync. */
  requestSync(owner: string): Promise<void>;
  /** Re-check which push channels are needed (after a booking, a move, a close). */
  requestChannelMaintenance(): Promise<void>;
  /** A job that delivers (or redelivers) a remediation's resolution webhook; `delayMs`: not before then (a retry). */
  enqueueDelivery(ref: DeliveryRef, delayMs?: number): Promise<void>;
  /**
   * A job that deletes one of our events once the change that gives it up is saved. Added BEFORE that change is
   * saved, so a daemon killed in between leaves a job, never an event nobody tracks (see withdrawEvent).
   */
  withdrawEvent(w: EventWithdrawal): Promise<void>;
  /** Whether the job carrying a remediation's current delivery is still there to finish it. */
  deliveryJobLive(r: Remediation): Promise<boolean>;
  /** Soon: new lifecycle events are waiting to be sent as lifecycle webhooks (a burst becomes one job). */
  requestLifecycleDispatch(): Promise<void>;
  /**
   * The fire and window.upcoming jobs of booked windows that have none (a start-up check: jobs are added before
   * the booking is saved, so normally none is missing); answers how many fire jobs were added.
   */
  ensureWindowJobs(rs: Remediation[], notifyBeforeMinutes: number): Promise<number>;
  /** `window.ended` at r's end, for the window that just started (idempotent). */
  scheduleWindowEnd(r: Remediation): Promise<void>;
  /** One lifecycle webhook job per event (job id = event id). */
  enqueueLifecycleWebhooks(events: LifecycleEvent[]): Promise<void>;
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
  /**
   * WEBHOOK_MAX_PER_SECOND: the next attempt's send slot was taken and the job waited for it; it sends at once
   * (a later retry takes a new slot).
   */
  paced?: boolean;
}

export interface ServiceSettings {
  /** Only owner emails at this domain get events. */
  domain?: string;
  orgName?: string;
  scheduling: SchedulingRules;
  watch: WatchSettings;
  /** `window.upcoming` this many minutes before each start (0 = none). */
  notifyBeforeMinutes: number;
  /** Fleet as the source of truth (used with `fleet` in ServiceDeps). */
  fleetSync?: FleetSyncSettings;
  /**
   * MAINTENANCE_CONFIG_FILE's configuration in force, read at each use (SIGHUP may replace it). Unset: no file,
   * today's rules (`scheduling`) exactly, by the code paths that predate maintenance policies.
   */
  maintenance?: () => MaintenanceConfig;
  /** RESOLUTION_WEBHOOK_URL (or the sandbox's sink): the URL of policies without their own resolution_webhook_url. */
  resolutionWebhookUrl?: string;
}

export interface FleetSyncSettings {
  /** FLEET_REQUIRE_ONLINE: an offline host's window waits for it until the window's end, then is rebooked. */
  requireOnline: boolean;
  /** REBOOK_AFTER_FIRE_MINUTES: this long after a fired window's end, Fleet is asked which policies still fail. */
  rebookAfterFireMs: number;
}

export interface WatchSettings {
  /** Where the provider sends notifications: PUBLIC_URL + /v1/google/notifications (Google). */
  notificationUrl: string;
  /** Where the provider sends lifecycle notifications (Graph: PUBLIC_URL + /v1/microsoft/lifecycle); Google has none. */
  lifecycleNotificationUrl?: string;
  /** Owners with a window starting within this many ms are watched with a push channel. */
  pushHorizonMs: number;
  /** Lifetime asked for a new channel or subscription (Google's maximum: 7 days). */
  channelTtlSeconds: number;
  /** Every calendar with a booked window is synced this often (the poll, and push's safety net). */
  pollIntervalMs: number;
  /** Push channels at all: Google delivers only to HTTPS; without push, the poll is the only watch. */
  push: boolean;
}

/**
 * Where services report what they did, for metrics: the lifecycle events they stored, delivery attempts, push
 * notifications. No identifiers: outcomes and reasons only.
 */
export interface Telemetry {
  events(events: LifecycleEvent[]): void;
  deliveryAttempt(webhook: 'resolution' | 'lifecycle', outcome: 'delivered' | 'retry' | 'failed'): void;
  /** A window's resolution webhook (delivery 1) was accepted this long after the window's start. */
  resolutionLateness?(ms: number): void;
  notification(verdict: string): void;
}

/** Telemetry that records nothing (tests, tools). */
export const noTelemetry: Telemetry = { events: () => undefined, deliveryAttempt: () => undefined, notification: () => undefined };

/** Everything a service may use: ports only, so tests swap real adapters for the emulator and a test clock. */
export interface ServiceDeps {
  store: RemediationRepository;
  calendar: CalendarPort;
  hosts?: HostDirectory;
  /** Fleet's policy results (FLEET_URL): re-checked by the sync and before each window fires. */
  fleet?: PolicyResults;
  sender: ResolutionSender;
  /** A sender to another URL (maintenance policies' resolution_webhook_url); unset: parts cannot be delivered. */
  senderFor?: (url: string) => ResolutionSender;
  /** WEBHOOK_MAX_PER_SECOND: send slots per receiver URL; unset: resolution webhooks are not paced. */
  pacer?: WebhookPacer;
  scheduler: JobScheduler;
  clock: Clock;
  logger: Logger;
  settings: ServiceSettings;
  /** Metrics (default: none). */
  telemetry?: Telemetry;
}

/** Name of the lock that guards a remediation's state: its owner's, or its host's while it has no owner. */
export function lockNameFor(r: Pick<Remediation, 'email' | 'host'>): string {
  return r.email ? `owner:${r.email}` : `host:${r.host.id}`;
}
