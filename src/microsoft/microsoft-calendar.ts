import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { RequestLimiter } from '../google/request-rate-limiter';
import type {
  CalendarEvent,
  CalendarPort,
  CallLimits,
  EventPatch,
  NewWindowEvent,
  OwnerAvailability,
  TimeInterval,
} from '../ports/calendar';
import { GraphChangeFeed } from './graph-change-feed';
import { GraphClient, type GraphRetryOptions } from './graph-client';
import { createBody, fromGraphDateTime, KEY_PROPERTY, patchBody, REMEDIATION_PROPERTY, toCalendarEvent, type GraphDateTime, type GraphEventJson } from './graph-event-mapping';
import { GraphRequestError, hasGraphStatus, toPortError } from './graph-request-error';
import { GraphTokenProvider, type MicrosoftCredential } from './graph-token-provider';
import { resolveGraphTimeZone } from './windows-zones';

export { readClientCertificate } from './client-certificate';
export type { MicrosoftCredential } from './graph-token-provider';

export interface MicrosoftCalendarOptions {
  tenantId: string;
  clientId: string;
  credential: MicrosoftCredential;
  /** With a trailing slash: MICROSOFT_GRAPH_URL (requests go under `v1.0/`). */
  graphUrl: string;
  /** With a trailing slash: MICROSOFT_LOGIN_URL (the authority is `${loginUrl}${tenantId}`). */
  loginUrl: string;
  /** For Graph and Entra alike: the outbound proxy, or (tests) an agent trusting the emulator's CA. */
  dispatcher?: Dispatcher;
  /** The shared request budget: one slot per Graph request (token requests take none). */
  limiter?: RequestLimiter;
  timeoutMs?: number;
  logger?: Logger;
  onCall?: (method: string, status: number) => void;
  now?: () => number;
  retry?: GraphRetryOptions;
}

export interface MicrosoftReachability {
  ok: boolean;
  lastSuccessAt: string | null;
  error?: string;
}

/** getSchedule's limit on mailboxes per request. */
export const GET_SCHEDULE_MAX_OWNERS = 20;
/** A call that succeeded within this long answers readiness without a probe. */
const FRESH_MS = 60_000;
const PROBE_FAILURE_HOLD_MS = 10_000;

/**
 * getSchedule's statuses that make a slot unusable, and why:
 * - busy: the owner is in a meeting;
 * - oof: the owner is away (out of office): nobody would be at the device;
 * - tentative: the owner may attend something there: a window would likely be moved, costing a deferral;
 * - workingElsewhere: the owner is working from another place (often travelling, or on site without the device's
 *   usual network): Fleet's own rule books only time the calendar shows free.
 * `free` and `unknown` do not block.
 */
const BLOCKING = new Set(['busy', 'oof', 'tentative', 'workingElsewhere']);

interface ScheduleInformation {
  scheduleId: string;
  scheduleItems?: Array<{ status?: string; start?: GraphDateTime; end?: GraphDateTime }>;
  error?: { message?: string; responseCode?: string };
}

/**
 * Microsoft 365 calendars through Graph, app-only (src/microsoft): the CalendarPort in Graph's terms. Mechanics
 * stay here and in the files it uses: MSAL tokens (graph-token-provider.ts), requests with ImmutableId, the budget,
 * 4 in flight per mailbox and retries (graph-client.ts), the marker and transactionId (graph-event-mapping.ts),
 * delta and subscriptions (graph-change-feed.ts).
 */
export class MicrosoftCalendar implements CalendarPort {
  readonly provider = 'microsoft' as const;
  readonly maxOwnersPerFreeBusy = GET_SCHEDULE_MAX_OWNERS;
  readonly changeFeed: GraphChangeFeed;
  private readonly graph: GraphClient;
  private readonly tokens: GraphTokenProvider;
  private readonly logger?: Logger;
  private readonly now: () => number;
  private lastSuccessAt: number | null = null;
  private lastProbe: { at: number; error: string } | null = null;
  private probing: Promise<void> | null = null;

  constructor(o: MicrosoftCalendarOptions) {
    this.now = o.now ?? Date.now;
    this.logger = o.logger;
    this.tokens = new GraphTokenProvider({ ...o, timeoutMs: o.timeoutMs });
    this.graph = new GraphClient({
      graphUrl: o.graphUrl,
      tokens: this.tokens,
      dispatcher: o.dispatcher,
      limiter: o.limiter,
      timeoutMs: o.timeoutMs,
      retry: o.retry,
      logger: o.logger,
      onCall: o.onCall,
      onSuccess: () => {
        this.lastSuccessAt = this.now();
      },
    });
    this.changeFeed = new GraphChangeFeed(this.graph, this.now);
  }

  /**
   * The mailbox's zone (`mailboxSettings/timeZone`): a Windows name mapped to IANA, or an IANA name. A custom or
   * unknown zone → null with a warning (the caller uses the fallback zone). The mailbox's working hours are not
   * read: the maintenance policy decides the hours.
   */
  async timeZone(owner: string): Promise<string | null> {
    let answer: { value?: unknown };
    try {
      answer = await this.graph.send({ operation: 'mailboxSettings.get', method: 'GET', path: `users/${encodeURIComponent(owner)}/mailboxSettings/timeZone`, mailbox: owner });
    } catch (err) {
      const portError = toPortError(err, owner);
      if (portError.name === 'OwnerUnavailableError') throw portError;
      this.logger?.info({ owner, err: (err as Error).message }, 'could not read the mailbox time zone');
      return null;
    }
    const resolved = resolveGraphTimeZone(answer.value, 'UTC');
    if (resolved.source === 'fallback') {
      this.logger?.warn({ owner, timeZone: resolved.name, reason: resolved.reason }, 'mailbox time zone not usable: the fallback zone applies');
      return null;
    }
    return resolved.zone;
  }

  async freeBusy(owners: string[], timeMin: string, timeMax: string): Promise<Map<string, OwnerAvailability>> {
    const unique = [...new Map(owners.map((o) => [o.toLowerCase(), o])).values()];
    if (unique.length > GET_SCHEDULE_MAX_OWNERS) throw new RangeError(`getSchedule takes at most ${GET_SCHEDULE_MAX_OWNERS} mailboxes, got ${unique.length}`);
    const result = new Map<string, OwnerAvailability>();
    if (unique.length === 0) return result;
    const schedules = await this.schedule(unique, timeMin, timeMax);
    for (const owner of unique) {
      const info = schedules.find((s) => s.scheduleId.toLowerCase() === owner.toLowerCase());
      if (!info) result.set(owner, { kind: 'unknown', reason: 'not in the getSchedule answer' });
      else if (info.error) result.set(owner, { kind: 'unknown', reason: `${info.error.responseCode ?? 'error'}: ${info.error.message ?? ''}`.trim() });
      else result.set(owner, { kind: 'known', busy: intervals(info, (status) => BLOCKING.has(status)) });
    }
    return result;
  }

  /** The owner's `oof` time, from getSchedule (one request). */
  async outOfOffice(owner: string, timeMin: string, timeMax: string): Promise<TimeInterval[]> {
    const [info] = await this.schedule([owner], timeMin, timeMax);
    if (!info || info.error) return [];
    return intervals(info, (status) => status === 'oof');
  }

  private async schedule(owners: string[], timeMin: string, timeMax: string): Promise<ScheduleInformation[]> {
    const utc = (iso: string) => ({ dateTime: new Date(iso).toISOString().replace(/Z$/, ''), timeZone: 'UTC' });
    try {
      // Asked as the first owner: any mailbox's free/busy is readable with Calendars.Read(Write) app-only.
      const answer = await this.graph.send<{ value?: ScheduleInformation[] }>({
        operation: 'calendar.getSchedule',
        method: 'POST',
        path: `users/${encodeURIComponent(owners[0])}/calendar/getSchedule`,
        mailbox: owners[0],
        body: { schedules: owners, startTime: utc(timeMin), endTime: utc(timeMax), availabilityViewInterval: 30 },
      });
      return answer.value ?? [];
    } catch (err) {
      throw toPortError(err, owners.length === 1 ? owners[0] : undefined);
    }
  }

  /**
   * Creates the window once: the `transactionId` makes Graph answer a repeated create (our retry after a lost
   * answer) with the first event. If the create still fails, the event is looked for by its key marker before the
   * error is given up: an earlier attempt may have got through.
   */
  async createEvent(owner: string, event: NewWindowEvent): Promise<CalendarEvent> {
    try {
      const created = await this.graph.send<GraphEventJson>({ operation: 'events.create', method: 'POST', path: `users/${encodeURIComponent(owner)}/events`, mailbox: owner, body: createBody(event) });
      return toCalendarEvent(created);
    } catch (err) {
      const ambiguous = err instanceof GraphRequestError && (err.status === 0 || err.status === 409 || err.status >= 500 || err.status === 429);
      if (ambiguous) {
        const existing = await this.findByKey(owner, event.key).catch(() => null);
        if (existing) {
          this.logger?.info({ owner, key: event.key, eventId: existing.id }, 'create failed but an earlier attempt got through: adopted');
          return existing;
        }
      }
      throw toPortError(err, owner);
    }
  }

  /** Our event with this create key, if any (one request: $filter on the key marker). */
  private async findByKey(owner: string, key: string): Promise<CalendarEvent | null> {
    const filter = `singleValueExtendedProperties/Any(ep: ep/id eq '${KEY_PROPERTY}' and ep/value eq '${key.replace(/'/g, "''")}')`;
    const expand = `singleValueExtendedProperties($filter=id eq '${REMEDIATION_PROPERTY}')`;
    const answer = await this.graph.send<{ value?: GraphEventJson[] }>({
      operation: 'events.list',
      method: 'GET',
      path: `users/${encodeURIComponent(owner)}/events?$filter=${encodeURIComponent(filter)}&$expand=${encodeURIComponent(expand)}&$top=2`,
      mailbox: owner,
    });
    const found = answer.value?.[0];
    return found ? toCalendarEvent(found) : null;
  }

  async getEvent(owner: string, eventId: string, limits?: CallLimits): Promise<CalendarEvent | null> {
    try {
      const event = await this.graph.send<GraphEventJson>({
        operation: 'events.get',
        method: 'GET',
        path: `${eventPath(owner, eventId)}?$expand=${encodeURIComponent(`singleValueExtendedProperties($filter=id eq '${REMEDIATION_PROPERTY}')`)}`,
        mailbox: owner,
        ...(limits ? { onceWithinMs: limits.timeoutMs } : {}),
      });
      return toCalendarEvent(event);
    } catch (err) {
      // Graph answers a deleted event (or one the owner moved to Deleted Items) with 404 ErrorItemNotFound.
      if (hasGraphStatus(err, 404) && isItemNotFound(err)) return null;
      throw toPortError(err, owner);
    }
  }

  async updateEvent(owner: string, eventId: string, patch: EventPatch, limits?: CallLimits): Promise<CalendarEvent> {
    try {
      const event = await this.graph.send<GraphEventJson>({
        operation: 'events.update',
        method: 'PATCH',
        path: eventPath(owner, eventId),
        mailbox: owner,
        body: patchBody(patch),
        ...(limits ? { onceWithinMs: limits.timeoutMs } : {}),
      });
      return toCalendarEvent(event);
    } catch (err) {
      throw toPortError(err, owner);
    }
  }

  async deleteEvent(owner: string, eventId: string): Promise<void> {
    try {
      await this.graph.send({ operation: 'events.delete', method: 'DELETE', path: eventPath(owner, eventId), mailbox: owner });
    } catch (err) {
      if (hasGraphStatus(err, 404) && isItemNotFound(err)) return;
      throw toPortError(err, owner);
    }
  }

  /**
   * Readiness: does Graph answer? Yes when a request succeeded within a minute; otherwise one probe (a token from
   * Entra: no mailbox, no budget), shared by concurrent callers, a failure held for 10 s. Resolves within `boundMs`.
   */
  async reachability(boundMs = 3000): Promise<MicrosoftReachability> {
    const fresh = () => this.lastSuccessAt !== null && this.now() - this.lastSuccessAt <= FRESH_MS;
    if (!fresh() && !(this.lastProbe && this.now() - this.lastProbe.at < PROBE_FAILURE_HOLD_MS)) {
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
      await this.tokens.token();
      this.lastSuccessAt = this.now();
      this.lastProbe = null;
    } catch (err) {
      this.lastProbe = { at: this.now(), error: (err as { errorCode?: string }).errorCode ?? (err as Error).message.slice(0, 200) };
    }
  }
}

export function createMicrosoftCalendar(o: MicrosoftCalendarOptions): MicrosoftCalendar {
  return new MicrosoftCalendar(o);
}

function eventPath(owner: string, eventId: string): string {
  return `users/${encodeURIComponent(owner)}/events/${encodeURIComponent(eventId)}`;
}

function isItemNotFound(err: GraphRequestError): boolean {
  return err.graphCode === undefined || err.graphCode === 'ErrorItemNotFound' || err.graphCode === 'ResourceNotFound';
}

function intervals(info: ScheduleInformation, blocks: (status: string) => boolean): TimeInterval[] {
  const out: TimeInterval[] = [];
  for (const item of info.scheduleItems ?? []) {
    if (!item.status || !blocks(item.status)) continue;
    const start = fromGraphDateTime(item.start);
    const end = fromGraphDateTime(item.end);
    if (start && end) out.push({ start, end });
  }
  return out;
}
