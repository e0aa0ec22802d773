/**
 * The calendar port: everything the daemon needs from a calendar provider, in the domain's words.
 * Google Calendar implements it today (src/google); Microsoft 365 is meant to slot in behind the same interface.
 *
 * Times cross this boundary as ISO-8601 strings with an offset (or Z). An "owner" is the email address whose
 * calendar we act on (impersonated through domain-wide delegation for Google).
 */

export interface TimeInterval {
  start: string;
  end: string;
}

/** freeBusy result for one owner: either the busy intervals, or why the calendar could not be read. */
export type OwnerAvailability =
  | { kind: 'known'; busy: TimeInterval[] }
  | { kind: 'unknown'; reason: string };

/** An event as the daemon sees it (a subset of Google's event resource). */
export interface CalendarEvent {
  id: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  /** dateTime with offset for timed events. */
  start: { dateTime?: string; date?: string; timeZone?: string };
  end: { dateTime?: string; date?: string; timeZone?: string };
  summary?: string;
  description?: string;
  etag?: string;
  updated?: string;
  /** Private extended properties (string map). We mark our events here. */
  privateProperties?: Record<string, string>;
}

export interface NewCalendarEvent {
  /** Client-chosen id: base32hex (a-v, 0-9), 5..1024 chars. Re-inserting an id answers 409 at Google. */
  id: string;
  start: string;
  end: string;
  timeZone: string;
  summary: string;
  description: string;
  privateProperties: Record<string, string>;
}

export interface EventPatch {
  /** A new time for the event (both together), written in `timeZone`. */
  start?: string;
  end?: string;
  timeZone?: string;
  summary?: string;
  description?: string;
  privateProperties?: Record<string, string>;
}

export interface EventChanges {
  /** The events changed since the sync token (cancelled ones included), across all pages, that `keep` kept. */
  events: CalendarEvent[];
  /** How many changed events Google listed in all, kept or not. */
  listed: number;
  nextSyncToken: string;
}

export interface WatchRequest {
  channelId: string;
  address: string;
  token: string;
  ttlSeconds: number;
}

export interface WatchChannel {
  channelId: string;
  resourceId: string;
  /** Epoch milliseconds. */
  expiration: number;
}

/** A call that must answer fast or not at all: one attempt (no retries) within `timeoutMs`. */
export interface CallLimits {
  timeoutMs: number;
}

export interface CalendarGateway {
  /** The owner's calendar time zone setting, or null if it cannot be read (caller falls back). */
  getTimeZone(owner: string): Promise<string | null>;
  /** One freeBusy request for up to 50 owners. Owners whose calendar errored come back as `unknown`. */
  freeBusy(owners: string[], timeMin: string, timeMax: string): Promise<Map<string, OwnerAvailability>>;
  /**
   * The owner's out-of-office time in [timeMin, timeMax): one events.list filtered to eventTypes=outOfOffice
   * (maintenance policies ask only when a day is full). Optional: a gateway without it never skips a day.
   */
  outOfOffice?(owner: string, timeMin: string, timeMax: string): Promise<TimeInterval[]>;
  /** Insert with a client-chosen id. If the id already exists (409), returns the existing event instead. */
  insertEvent(owner: string, event: NewCalendarEvent): Promise<CalendarEvent>;
  /** Returns the event (possibly with status "cancelled"), or null if Google does not know it at all. */
  getEvent(owner: string, eventId: string, limits?: CallLimits): Promise<CalendarEvent | null>;
  /** With `limits`: one attempt within that time (for calls made while a lock is held). */
  patchEvent(owner: string, eventId: string, patch: EventPatch, limits?: CallLimits): Promise<CalendarEvent>;
  /** Deletes the event; an already deleted (410) or unknown (404) event is not an error. */
  deleteEvent(owner: string, eventId: string): Promise<void>;
  /**
   * Incremental sync: all changes since `syncToken` (null = full sync of the calendar). Only the events `keep`
   * accepts are held (default: all), so a full sync of a busy calendar does not hold every event in memory.
   * Throws SyncTokenExpiredError on Google's 410 fullSyncRequired.
   */
  listChanges(owner: string, syncToken: string | null, keep?: (e: CalendarEvent) => boolean): Promise<EventChanges>;
  watchEvents(owner: string, request: WatchRequest): Promise<WatchChannel>;
  stopChannel(owner: string, channel: { channelId: string; resourceId: string }): Promise<void>;
}

/** Raised by listChanges when the sync token is no longer valid: drop it and do a full sync. */
export class SyncTokenExpiredError extends Error {
  readonly code = 'SYNC_TOKEN_EXPIRED';
  constructor(owner: string) {
    super(`sync token expired for ${owner}; a full sync is required`);
    this.name = 'SyncTokenExpiredError';
  }
}

/** A Google (or provider) error that is final for this owner, e.g. invalid_grant (user left the company). */
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

/** Any other calendar API failure after retries, with the HTTP status and Google reason when known. */
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
