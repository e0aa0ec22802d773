/**
 * The calendar port: everything the daemon needs from a calendar provider, in the domain's words. Google Calendar
 * (src/google) and Microsoft 365 through Microsoft Graph (src/microsoft) implement it; the services never see a
 * provider's resource shapes, headers or ids scheme.
 *
 * - Times cross this boundary as ISO-8601 instants with an offset (or Z); zones are IANA names.
 * - An "owner" is the email address whose calendar we act on (impersonated through domain-wide delegation for
 *   Google, app-only access to the mailbox for Graph).
 * - Our events carry a marker (the remediation id) so that a sync can tell them from the owner's own events.
 * - Watching is a separate change feed: subscribe, renew, stop, and the changes since a cursor.
 */

export type CalendarProviderName = 'google' | 'microsoft';

export interface TimeInterval {
  start: string;
  end: string;
}

/** Free/busy for one owner: either the busy intervals, or why the calendar could not be read (never "free"). */
export type OwnerAvailability =
  | { kind: 'known'; busy: TimeInterval[] }
  | { kind: 'unknown'; reason: string };

/** When an event happens, as the provider reports it. */
export type EventTiming =
  /** A timed event: instants (ISO-8601 with offset or Z). */
  | { kind: 'timed'; start: string; end: string }
  /** An all-day event: local dates (YYYY-MM-DD), end exclusive. */
  | { kind: 'all_day'; startDate: string; endDate: string }
  /** Neither could be read (the reschedule rules leave such an event as booked). */
  | { kind: 'unreadable' };

/** An event as the daemon sees it, whatever the provider. */
export interface CalendarEvent {
  /** The provider's id for the event (Google: our client-chosen id; Graph: its immutable id). */
  id: string;
  /** Deleted or cancelled: Google's status "cancelled", Graph's `@removed` / `isCancelled`. */
  cancelled: boolean;
  timing: EventTiming;
  /** The remediation id in our marker when the event is ours (Google: private extended property; Graph: single-value extended property). */
  remediationId?: string;
  title?: string;
  description?: string;
}

/** A window event to create. */
export interface NewWindowEvent {
  /**
   * Idempotency key (`eventIdFor(remediationId, bookingNumber)`): creating twice with the same key never makes a
   * second event; the second call answers the first event (possibly `cancelled` if the owner has deleted it since,
   * which spends the key). Google: the client-chosen event id (409 → adopt). Graph: `transactionId` plus a lookup of
   * the marker.
   */
  key: string;
  remediationId: string;
  bookingNumber: number;
  start: string;
  end: string;
  /** The owner's IANA zone: the event is written in it. */
  timeZone: string;
  title: string;
  description: string;
}

export interface EventPatch {
  /** A new time for the event (both together), written in `timeZone`. */
  start?: string;
  end?: string;
  timeZone?: string;
  title?: string;
  description?: string;
}

/** A call that must answer fast or not at all: one attempt (no retries) within `timeoutMs`. */
export interface CallLimits {
  timeoutMs: number;
}

/** What changed on an owner's calendar since a cursor. */
export interface CalendarChanges {
  /** The changed events (cancelled ones included), across all pages, that `keep` kept. */
  events: CalendarEvent[];
  /** How many changed events the provider listed in all, kept or not. */
  listed: number;
  /** Where the next call continues (Google: nextSyncToken; Graph: the deltaLink). */
  cursor: string;
  /** The calendar's own time zone when the provider's change listing carries it (Google's events.list does), IANA. */
  timeZone?: string;
}

/** A subscription to changes of one owner's calendar (Google: a push channel; Graph: a subscription). */
export interface CalendarSubscription {
  /** The provider's id for it (Google: the channel id we chose; Graph: the subscription id it returned). */
  id: string;
  /** What it watches, as the provider names it (Google: X-Goog-Resource-Id; Graph: the resource path). */
  resource: string;
  /** Epoch milliseconds. */
  expiration: number;
}

export interface SubscribeRequest {
  /** Where the provider POSTs notifications. */
  address: string;
  /** Where Graph POSTs lifecycle notifications (Google has none). */
  lifecycleAddress?: string;
  /** A random secret every notification must carry (Google: X-Goog-Channel-Token; Graph: clientState). */
  secret: string;
  ttlSeconds: number;
}

/** The change feed of owners' calendars. */
export interface ChangeFeed {
  /**
   * All changes since `cursor` (null = a full read of the calendar). Only the events `keep` accepts are held (default:
   * all), so a full read of a busy calendar does not hold every event in memory. Throws ChangeCursorExpiredError when
   * the provider no longer knows the cursor (Google 410 fullSyncRequired; Graph 410 / syncStateNotFound).
   */
  changes(owner: string, cursor: string | null, keep?: (e: CalendarEvent) => boolean): Promise<CalendarChanges>;
  subscribe(owner: string, request: SubscribeRequest): Promise<CalendarSubscription>;
  /**
   * Extends a subscription (Graph: PATCH expirationDateTime). Absent when the provider cannot (Google): a new
   * subscription then replaces the old one before it expires.
   */
  renew?(owner: string, subscription: CalendarSubscription, ttlSeconds: number): Promise<CalendarSubscription>;
  /** Ends a subscription; one the provider no longer knows is not an error. */
  stop(owner: string, subscription: CalendarSubscription): Promise<void>;
}

export interface CalendarPort {
  readonly provider: CalendarProviderName;
  /** The most owners one freeBusy call may ask about (Google 50, Graph getSchedule 20). */
  readonly maxOwnersPerFreeBusy: number;
  /** The owner's calendar time zone as an IANA name, or null if it cannot be read or mapped (caller falls back). */
  timeZone(owner: string): Promise<string | null>;
  /** One request for up to `maxOwnersPerFreeBusy` owners. Owners whose calendar errored come back as `unknown`. */
  freeBusy(owners: string[], timeMin: string, timeMax: string): Promise<Map<string, OwnerAvailability>>;
  /**
   * The owner's out-of-office time in [timeMin, timeMax) (maintenance policies ask only when a day is full).
   * Optional: a provider without it never skips a day.
   */
  outOfOffice?(owner: string, timeMin: string, timeMax: string): Promise<TimeInterval[]>;
  /** Creates a window event: busy, no attendees (so no invitation), marked ours. Idempotent on `event.key`. */
  createEvent(owner: string, event: NewWindowEvent): Promise<CalendarEvent>;
  /** The event (possibly `cancelled`), or null if the provider does not know it at all (deleted, for Graph). */
  getEvent(owner: string, eventId: string, limits?: CallLimits): Promise<CalendarEvent | null>;
  /** With `limits`: one attempt within that time (for calls made while a lock is held). */
  updateEvent(owner: string, eventId: string, patch: EventPatch, limits?: CallLimits): Promise<CalendarEvent>;
  /** Deletes the event; one already deleted or unknown is not an error. */
  deleteEvent(owner: string, eventId: string): Promise<void>;
  readonly changeFeed: ChangeFeed;
}

/**
 * A notification as a provider's HTTP route hands it over, in domain terms (the route does the provider's parsing;
 * CalendarWatchService checks it against the subscriptions we hold).
 */
export interface CalendarNotification {
  subscriptionId?: string;
  /** The secret it carries (X-Goog-Channel-Token / clientState). */
  secret?: string;
  /** The resource it names, when the provider names one we can check (Google: X-Goog-Resource-Id). */
  resource?: string;
  /**
   * changed: something changed, sync. handshake: Google's "sync" message on a new channel (nothing to do).
   * reauthorize / missed / removed: Graph's lifecycle notifications (renew now; sync; subscribe again).
   */
  kind: 'changed' | 'handshake' | 'reauthorize' | 'missed' | 'removed';
}

/** Raised by ChangeFeed.changes when the cursor is no longer valid: drop it and read the calendar in full. */
export class ChangeCursorExpiredError extends Error {
  readonly code = 'CHANGE_CURSOR_EXPIRED';
  constructor(owner: string) {
    super(`change cursor expired for ${owner}; a full read is required`);
    this.name = 'ChangeCursorExpiredError';
  }
}

/** A provider error that is final for this owner, e.g. invalid_grant (user left the company), mailbox not found. */
export class OwnerUnavailableError extends Error {
  readonly code = 'OWNER_UNAVAILABLE';
  constructor(
    readonly owner: string,
    readonly reason: string,
  ) {
    super(`calendar of ${owner} is unavailable: ${reason}`);
    this.name = 'OwnerUnavailableError';
  }
}

/** Any other calendar API failure after retries, with the HTTP status and the provider's reason when known. */
export class CalendarApiError extends Error {
  readonly code = 'CALENDAR_API_ERROR';
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'CalendarApiError';
  }
}
