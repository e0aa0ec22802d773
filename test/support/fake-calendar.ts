import {
  CalendarApiError,
  OwnerUnavailableError,
  SyncTokenExpiredError,
  type CalendarEvent,
  type CalendarGateway,
  type CallLimits,
  type EventChanges,
  type EventPatch,
  type NewCalendarEvent,
  type OwnerAvailability,
  type TimeInterval,
  type WatchChannel,
  type WatchRequest,
} from '../../src/ports/calendar';
import { systemClock, type Clock } from '../../src/lib/clock';

interface StoredEvent {
  event: CalendarEvent;
  /** Position in the calendar's change log (what sync tokens count). */
  changedAt: number;
}

interface OwnerCalendar {
  timeZone: string | null;
  events: Map<string, StoredEvent>;
  /** Busy time that is not one of our events (meetings). */
  busy: TimeInterval[];
  /** The last change's number; a sync token is `<owner>|<number>`. */
  changes: number;
  /** Sync tokens older than this are expired (410). */
  tokensValidFrom: number;
  unavailable: string | null;
}

export type CalendarMethod = keyof CalendarGateway;

/**
 * A small calendar in memory behind the CalendarGateway port, with Google's semantics where the daemon relies on
 * them: client-chosen ids (inserting an existing id returns the existing event, even a deleted one), deletes that
 * leave a `cancelled` event behind, free/busy from confirmed events and meetings, incremental sync with tokens
 * (cancelled events included; a full sync lists only live ones), push channels. Owners act on it with the
 * `…AsOwner` helpers; `setUnavailable` makes an owner's token refused (OwnerUnavailableError).
 */
export class FakeCalendar implements CalendarGateway {
  private readonly owners = new Map<string, OwnerCalendar>();
  readonly channels = new Map<string, { owner: string; resourceId: string; expiration: number; address: string }>();
  /** Every call, in order. */
  readonly calls: Array<{ method: CalendarMethod; owner: string }> = [];
  private etag = 0;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly defaultTimeZone: string | null = 'UTC',
  ) {}

  addOwner(email: string, opts: { timeZone?: string | null } = {}): this {
    this.calendar(email).timeZone = opts.timeZone === undefined ? this.defaultTimeZone : opts.timeZone;
    return this;
  }

  /** A meeting: busy time on the owner's calendar. */
  addBusy(email: string, start: string, end: string): void {
    this.calendar(email).busy.push({ start, end });
  }

  setUnavailable(email: string, reason: string | null): void {
    this.calendar(email).unavailable = reason;
  }

  /** Every sync token issued so far for this owner answers 410 from now on. */
  expireSyncTokens(email: string): void {
    const c = this.calendar(email);
    c.tokensValidFrom = c.changes + 1;
  }

  /** The owner's events (deleted ones only when asked), as stored. */
  events(email: string, opts: { includeCancelled?: boolean } = {}): CalendarEvent[] {
    return [...this.calendar(email).events.values()]
      .map((s) => clone(s.event))
      .filter((e) => opts.includeCancelled || e.status !== 'cancelled');
  }

  event(email: string, id: string): CalendarEvent | null {
    const s = this.calendar(email).events.get(id);
    return s ? clone(s.event) : null;
  }

  /** How many calls of a method (for one owner, if given). */
  callCount(method: CalendarMethod, owner?: string): number {
    return this.calls.filter((c) => c.method === method && (owner === undefined || c.owner === owner)).length;
  }

  // ─── what owners do in their calendar UI ────────────────────────────────────────────────────────────────────

  moveEventAsOwner(email: string, id: string, start: string, end: string): CalendarEvent {
    return this.change(email, id, (e) => ({ ...e, start: { dateTime: start, timeZone: e.start.timeZone }, end: { dateTime: end, timeZone: e.end.timeZone } }));
  }

  makeAllDayAsOwner(email: string, id: string, date: string, endDate: string): CalendarEvent {
    return this.change(email, id, (e) => ({ ...e, start: { date }, end: { date: endDate } }));
  }

  deleteEventAsOwner(email: string, id: string): void {
    this.change(email, id, (e) => ({ ...e, status: 'cancelled' }));
  }

  // ─── CalendarGateway ────────────────────────────────────────────────────────────────────────────────────────

  async getTimeZone(owner: string): Promise<string | null> {
    this.calls.push({ method: 'getTimeZone', owner });
    this.usable(owner);
    return this.calendar(owner).timeZone;
  }

  async freeBusy(owners: string[], timeMin: string, timeMax: string): Promise<Map<string, OwnerAvailability>> {
    const answer = new Map<string, OwnerAvailability>();
    for (const owner of owners) {
      this.calls.push({ method: 'freeBusy', owner });
      // One refused token fails the request (Google: the impersonated caller); the gateway names the owner.
      this.usable(owner);
      const c = this.calendar(owner);
      const min = Date.parse(timeMin);
      const max = Date.parse(timeMax);
      const intervals = [
        ...c.busy,
        ...[...c.events.values()]
          .map((s) => s.event)
          .filter((e) => e.status !== 'cancelled' && e.start.dateTime && e.end.dateTime)
          .map((e) => ({ start: e.start.dateTime as string, end: e.end.dateTime as string })),
      ].filter((b) => Date.parse(b.start) < max && Date.parse(b.end) > min);
      answer.set(owner, { kind: 'known', busy: intervals.sort((a, b) => Date.parse(a.start) - Date.parse(b.start)) });
    }
    return answer;
  }

  async insertEvent(owner: string, e: NewCalendarEvent): Promise<CalendarEvent> {
    this.calls.push({ method: 'insertEvent', owner });
    this.usable(owner);
    const c = this.calendar(owner);
    const existing = c.events.get(e.id);
    if (existing) return clone(existing.event);
    const event: CalendarEvent = {
      id: e.id,
      status: 'confirmed',
      start: { dateTime: e.start, timeZone: e.timeZone },
      end: { dateTime: e.end, timeZone: e.timeZone },
      summary: e.summary,
      description: e.description,
      privateProperties: { ...e.privateProperties },
    };
    this.store(c, event);
    return clone(event);
  }

  async getEvent(owner: string, eventId: string, _limits?: CallLimits): Promise<CalendarEvent | null> {
    this.calls.push({ method: 'getEvent', owner });
    this.usable(owner);
    return this.event(owner, eventId);
  }

  async patchEvent(owner: string, eventId: string, patch: EventPatch): Promise<CalendarEvent> {
    this.calls.push({ method: 'patchEvent', owner });
    this.usable(owner);
    return this.change(owner, eventId, (e) => ({
      ...e,
      ...(patch.start ? { start: { dateTime: patch.start, timeZone: patch.timeZone ?? e.start.timeZone } } : {}),
      ...(patch.end ? { end: { dateTime: patch.end, timeZone: patch.timeZone ?? e.end.timeZone } } : {}),
      ...(patch.summary !== undefined ? { summary: patch.summary } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.privateProperties ? { privateProperties: { ...e.privateProperties, ...patch.privateProperties } } : {}),
    }));
  }

  async deleteEvent(owner: string, eventId: string): Promise<void> {
    this.calls.push({ method: 'deleteEvent', owner });
    this.usable(owner);
    const s = this.calendar(owner).events.get(eventId);
    if (!s || s.event.status === 'cancelled') return;
    this.change(owner, eventId, (e) => ({ ...e, status: 'cancelled' }));
  }

  async listChanges(owner: string, syncToken: string | null, keep: (e: CalendarEvent) => boolean = () => true): Promise<EventChanges> {
    this.calls.push({ method: 'listChanges', owner });
    this.usable(owner);
    const c = this.calendar(owner);
    let since = 0;
    if (syncToken !== null) {
      const [tokenOwner, n] = syncToken.split('|');
      since = Number(n);
      if (tokenOwner !== owner || !Number.isInteger(since) || since < c.tokensValidFrom - 1) throw new SyncTokenExpiredError(owner);
    }
    const changed = [...c.events.values()]
      .filter((s) => (syncToken === null ? s.event.status !== 'cancelled' : s.changedAt > since))
      .map((s) => clone(s.event));
    return { events: changed.filter(keep), listed: changed.length, nextSyncToken: `${owner}|${c.changes}` };
  }

  async watchEvents(owner: string, request: WatchRequest): Promise<WatchChannel> {
    this.calls.push({ method: 'watchEvents', owner });
    this.usable(owner);
    const expiration = this.clock.now() + request.ttlSeconds * 1000;
    const resourceId = `resource-${owner}`;
    this.channels.set(request.channelId, { owner, resourceId, expiration, address: request.address });
    return { channelId: request.channelId, resourceId, expiration };
  }

  async stopChannel(owner: string, channel: { channelId: string; resourceId: string }): Promise<void> {
    this.calls.push({ method: 'stopChannel', owner });
    this.channels.delete(channel.channelId);
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────────────────────────────

  private calendar(email: string): OwnerCalendar {
    let c = this.owners.get(email);
    if (!c) {
      c = { timeZone: this.defaultTimeZone, events: new Map(), busy: [], changes: 0, tokensValidFrom: 0, unavailable: null };
      this.owners.set(email, c);
    }
    return c;
  }

  private usable(owner: string): void {
    const reason = this.owners.get(owner)?.unavailable;
    if (reason) throw new OwnerUnavailableError(owner, reason);
  }

  private store(c: OwnerCalendar, event: CalendarEvent): void {
    c.changes++;
    c.events.set(event.id, { event: { ...event, etag: `"${++this.etag}"`, updated: new Date(this.clock.now()).toISOString() }, changedAt: c.changes });
  }

  private change(owner: string, id: string, fn: (e: CalendarEvent) => CalendarEvent): CalendarEvent {
    const c = this.calendar(owner);
    const s = c.events.get(id);
    if (!s || s.event.status === 'cancelled') throw new CalendarApiError(`event ${id} not found in ${owner}'s calendar`, 404, 'notFound');
    this.store(c, fn(clone(s.event)));
    return clone((c.events.get(id) as StoredEvent).event);
  }
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
