import { createHash } from 'node:crypto';
import { calendar, type calendar_v3, type MethodOptions } from '@googleapis/calendar';
import type { Logger } from 'pino';
import {
  OwnerUnavailableError,
  type CalendarEvent,
  type CalendarPort,
  type CallLimits,
  type ChangeFeed,
  type EventPatch,
  type NewWindowEvent,
  type OwnerAvailability,
  type TimeInterval,
} from '../ports/calendar';
import type { OwnerAuthProvider } from './google-auth';
import { hasApiStatus, type GoogleRequest } from './google-call';
import { GoogleChangeFeed } from './google-change-feed';
import { describeGoogleError, toPortError } from './google-errors';
import { insertBody, patchBody, toCalendarEvent } from './google-event-mapping';
import { RetryPolicy, type RetryOptions } from './google-retry';

export interface GoogleCalendarGatewayOptions {
  /** Owners' clients; every request (retries too) goes through them, and so through their request budget. */
  auth: OwnerAuthProvider;
  /** API root with a trailing slash: https://www.googleapis.com/ or an emulator's base URL. */
  rootUrl: string;
  retry?: RetryOptions;
  logger?: Logger;
  /** Per-request timeout in ms. Default 30,000. */
  timeoutMs?: number;
  /** Told of every request's outcome (metrics): method and HTTP status, 0 when none came. */
  onCall?: (method: string, status: number) => void;
  /** Wall clock of the readiness state (ms). Default Date.now. */
  now?: () => number;
}

/** Whether Google answers (readiness): a token and a call succeeded within the freshness window. */
export interface GoogleReachability {
  ok: boolean;
  /** When a call last succeeded (ISO-8601), if ever. */
  lastSuccessAt: string | null;
  /** Why the last probe failed (no secret: status, reason, message). */
  error?: string;
}

/** A Google call that succeeded within this long answers readiness without a probe. */
export const GOOGLE_FRESH_MS = 60_000;
/** A failed probe is not repeated within this long (readiness is polled every few seconds). */
const PROBE_FAILURE_HOLD_MS = 10_000;

/** Google's limit on calendars per freeBusy request. */
export const FREEBUSY_MAX_OWNERS = 50;
const PAGE_SIZE = 2500;
const PRIMARY = 'primary';

/**
 * `quotaUser` must be <= 40 characters. Longer owners get a deterministic prefix + hash, so each owner keeps its
 * own per-user quota bucket instead of sharing the service account's.
 */
export function quotaUserFor(owner: string): string {
  if (owner.length <= 40) return owner;
  return `${owner.slice(0, 27)}~${createHash('sha256').update(owner).digest('hex').slice(0, 12)}`;
}

/**
 * The Google Calendar implementation of the calendar port: a thin translation, no domain decisions. Google's
 * mechanics stay here: the idempotency key is the client-chosen event id (a 409 adopts the existing event), our
 * marker is a private extended property, the change feed is events.list with sync tokens and push channels
 * (google-change-feed.ts).
 */
export class GoogleCalendarGateway implements CalendarPort {
  readonly provider = 'google' as const;
  readonly maxOwnersPerFreeBusy = FREEBUSY_MAX_OWNERS;
  readonly changeFeed: ChangeFeed;
  private readonly api: calendar_v3.Calendar;
  private readonly retry: RetryPolicy;
  /** For calls that must answer fast or not at all (see CallLimits). */
  private readonly once: RetryPolicy;
  private readonly auth: OwnerAuthProvider;
  private readonly logger?: Logger;
  private readonly timeoutMs: number;
  private readonly onCall: (method: string, status: number) => void;
  private readonly now: () => number;
  /** When a Google call (token and API) last succeeded; readiness reads it. */
  private lastSuccessAt: number | null = null;
  private lastProbe: { at: number; error: string } | null = null;
  private probing: Promise<void> | null = null;

  constructor(options: GoogleCalendarGatewayOptions) {
    this.onCall = options.onCall ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.api = calendar({ version: 'v3', rootUrl: options.rootUrl });
    this.retry = new RetryPolicy(options.retry);
    this.once = new RetryPolicy({ ...options.retry, maxAttempts: 1 });
    this.auth = options.auth;
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.changeFeed = new GoogleChangeFeed(this.api, (owner, operation, request, limits) => this.call(owner, operation, request, limits));
  }

  /** settings.get timezone: already an IANA name. */
  async timeZone(owner: string): Promise<string | null> {
    try {
      const setting = await this.call(owner, 'settings.get', (p, o) => this.api.settings.get({ ...p, setting: 'timezone' }, o));
      return setting.value ?? null;
    } catch (err) {
      if (err instanceof OwnerUnavailableError) throw err;
      this.logger?.info({ owner, err: errorSummary(err) }, 'could not read the calendar time zone setting');
      return null;
    }
  }

  async freeBusy(owners: string[], timeMin: string, timeMax: string): Promise<Map<string, OwnerAvailability>> {
    const unique = [...new Set(owners)];
    if (unique.length > FREEBUSY_MAX_OWNERS) {
      throw new RangeError(`freeBusy takes at most ${FREEBUSY_MAX_OWNERS} owners, got ${unique.length}`);
    }
    const result = new Map<string, OwnerAvailability>();
    if (unique.length === 0) return result;
    // Authenticated as the first owner: free/busy of the other users of the domain is visible to them.
    const response = await this.call(unique[0], 'freebusy.query', (p, o) =>
      this.api.freebusy.query({ ...p, requestBody: { timeMin, timeMax, items: unique.map((id) => ({ id })) } }, o),
    );
    for (const owner of unique) result.set(owner, availabilityOf(findCalendar(response.calendars, owner)));
    return result;
  }

  /** events.insert with the key as the client-chosen id; a 409 (an earlier attempt got through) adopts that event. */
  async createEvent(owner: string, event: NewWindowEvent): Promise<CalendarEvent> {
    const requestBody = insertBody(event);
    try {
      const created = await this.call(owner, 'events.insert', (p, o) =>
        this.api.events.insert({ ...p, calendarId: PRIMARY, sendUpdates: 'none', requestBody }, o),
      );
      return toCalendarEvent(created);
    } catch (err) {
      if (!hasApiStatus(err, 409)) throw err;
      // The id exists already (typically our own earlier attempt got through): inserting is idempotent.
      const existing = await this.getEvent(owner, event.key);
      if (!existing) throw err;
      return existing;
    }
  }

  async getEvent(owner: string, eventId: string, limits?: CallLimits): Promise<CalendarEvent | null> {
    try {
      return toCalendarEvent(
        await this.call(owner, 'events.get', (p, o) => this.api.events.get({ ...p, calendarId: PRIMARY, eventId }, o), limits),
      );
    } catch (err) {
      if (hasApiStatus(err, 404)) return null;
      throw err;
    }
  }

  async updateEvent(owner: string, eventId: string, patch: EventPatch, limits?: CallLimits): Promise<CalendarEvent> {
    const requestBody = patchBody(patch);
    const patched = await this.call(owner, 'events.patch', (p, o) =>
      this.api.events.patch({ ...p, calendarId: PRIMARY, eventId, sendUpdates: 'none', requestBody }, o),
      limits,
    );
    return toCalendarEvent(patched);
  }

  async deleteEvent(owner: string, eventId: string): Promise<void> {
    try {
      await this.call(owner, 'events.delete', (p, o) => this.api.events.delete({ ...p, calendarId: PRIMARY, eventId, sendUpdates: 'none' }, o));
    } catch (err) {
      if (!hasApiStatus(err, 404, 410)) throw err;
    }
  }

  async outOfOffice(owner: string, timeMin: string, timeMax: string): Promise<TimeInterval[]> {
    const page = await this.call(owner, 'events.list', (p, o) =>
      this.api.events.list(
        { ...p, calendarId: PRIMARY, eventTypes: ['outOfOffice'], timeMin, timeMax, singleEvents: true, showDeleted: false, maxResults: PAGE_SIZE },
        o,
      ),
    );
    const intervals: TimeInterval[] = [];
    for (const item of page.items ?? []) {
      if (item.status === 'cancelled' || item.eventType !== 'outOfOffice') continue;
      const start = item.start?.dateTime;
      const end = item.end?.dateTime;
      if (start && end) intervals.push({ start, end });
    }
    return intervals;
  }

  /**
   * Readiness: does Google answer? Yes when a call succeeded within GOOGLE_FRESH_MS; otherwise one cheap probe
   * (a token for the service account itself, then `settings.get timezone` as it: no owner, no delegation, one
   * request of the budget), shared by concurrent callers, and a failure is held for 10 s before the next probe.
   * Resolves within `boundMs` whatever Google does (a slower probe finishes in the background).
   */
  async reachability(boundMs = 3000): Promise<GoogleReachability> {
    const now = this.now();
    const fresh = () => this.lastSuccessAt !== null && this.now() - this.lastSuccessAt <= GOOGLE_FRESH_MS;
    if (!fresh() && !(this.lastProbe && now - this.lastProbe.at < PROBE_FAILURE_HOLD_MS)) {
      this.probing ??= this.probe().finally(() => {
        this.probing = null;
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.probing, new Promise<void>((r) => (timer = setTimeout(r, boundMs)))]);
      clearTimeout(timer);
    }
    const ok = fresh();
    return {
      ok,
      lastSuccessAt: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
      ...(ok ? {} : { error: this.lastProbe?.error ?? (this.probing ? 'no answer yet' : 'no successful call yet') }),
    };
  }

  private async probe(): Promise<void> {
    try {
      const auth = this.auth.serviceAccountClient();
      await this.api.settings.get({ auth, setting: 'timezone' }, { retry: false, timeout: Math.min(this.timeoutMs, 10_000) });
      this.lastSuccessAt = this.now();
      this.lastProbe = null;
    } catch (err) {
      const { status, reason, message } = describeGoogleError(err);
      this.lastProbe = { at: this.now(), error: [status, reason, message].filter((v) => v !== undefined && v !== '').join(' ') };
      this.logger?.warn({ err: errorSummary(err) }, 'Google readiness probe failed');
    }
  }

  /**
   * One Google call as `owner`, under the retry policy (gaxios' retry off); failures leave as port errors.
   * A 401 drops the owner's cached token once so the next attempt authenticates afresh.
   */
  private async call<T>(owner: string, operation: string, request: GoogleRequest<T>, limits?: CallLimits): Promise<T> {
    const options: MethodOptions = { retry: false, timeout: limits?.timeoutMs ?? this.timeoutMs };
    const policy = limits?.timeoutMs !== undefined ? this.once : this.retry;
    try {
      return await policy.run(
        async () => {
          const auth = await this.auth.authorizedClient(owner);
          try {
            const response = await request({ auth, quotaUser: quotaUserFor(owner) }, options);
            this.onCall(operation, (response as { status?: number }).status ?? 200);
            this.lastSuccessAt = this.now();
            return response.data;
          } catch (err) {
            const status = describeGoogleError(err).status ?? 0;
            this.onCall(operation, status);
            // A token was granted and the API answered about the resource (gone, exists, changed): Google works.
            if ([404, 409, 410, 412].includes(status)) this.lastSuccessAt = this.now();
            throw err;
          }
        },
        {
          refreshAuth: () => this.auth.invalidate(owner),
          onRetry: ({ attempt, delayMs, error }) =>
            this.logger?.warn({ owner, operation, attempt, delayMs, err: errorSummary(error) }, 'Google Calendar call failed: retrying'),
        },
      );
    } catch (err) {
      throw toPortError(err, owner, operation);
    }
  }
}

/** What is safe to log about a failure: never the request (it carries the bearer token). */
function errorSummary(err: unknown): { status?: number; reason?: string; message: string } {
  const { status, reason, message } = describeGoogleError(err);
  return { status, reason, message };
}

function findCalendar(
  calendars: calendar_v3.Schema$FreeBusyResponse['calendars'],
  owner: string,
): calendar_v3.Schema$FreeBusyCalendar | undefined {
  if (!calendars) return undefined;
  if (calendars[owner]) return calendars[owner];
  const lower = owner.toLowerCase();
  return Object.entries(calendars).find(([id]) => id.toLowerCase() === lower)?.[1];
}

function availabilityOf(calendar: calendar_v3.Schema$FreeBusyCalendar | undefined): OwnerAvailability {
  if (!calendar) return { kind: 'unknown', reason: 'missing from the freeBusy response' };
  if (calendar.errors?.length) {
    return { kind: 'unknown', reason: calendar.errors.map((e) => e.reason ?? 'unknown error').join(', ') };
  }
  return { kind: 'known', busy: (calendar.busy ?? []).map((b) => ({ start: b.start ?? '', end: b.end ?? '' })) };
}
