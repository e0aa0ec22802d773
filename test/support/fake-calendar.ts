import {
  CalendarApiError,
  ChangeCursorExpiredError,
  OwnerUnavailableError,
  type CalendarChanges,
  type CalendarEvent,
  type CalendarPort,
  type CalendarSubscription,
  type CallLimits,
  type ChangeFeed,
  type EventPatch,
  type NewWindowEvent,
  type OwnerAvailability,
  type SubscribeRequest,
  type TimeInterval,
} from '../../src/ports/calendar';
import { systemClock, type Clock } from '../../src/lib/clock';

interface StoredEvent {
  event: CalendarEvent;
  /** Position in the calendar's change log (what change cursors count). */
  changedAt: number;
}

interface OwnerCalendar {
  timeZone: string | null;
  events: Map<string, StoredEvent>;
  /** Busy time that is not one of our events (meetings). */
  busy: TimeInterval[];
  /** The last change's number; a cursor is `<owner>|<number>`. */
  changes: number;
  /** Cursors older than this are expired (ChangeCursorExpiredError). */
  tokensValidFrom: number;
  unavailable: string | null;
}

/** A subscription the fake holds (what the provider would). */
export interface FakeSubscription {
  owner: string;
  resource: string;
  expiration: number;
  address: string;
  lifecycleAddress?: string;
  secret: string;
}

export type CalendarMethod = Exclude<keyof CalendarPort, 'provider' | 'maxOwnersPerFreeBusy' | 'changeFeed'> | keyof ChangeFeed;

/**
 * A small calendar in memory behind the CalendarPort, with Google's semantics where the daemon relies on them:
 * the create key is the event id (creating an existing key returns the existing event, even a deleted one), deletes
 * that leave a `cancelled` event behind, free/busy from live timed events and meetings, a change feed with cursors
 * (cancelled events included; a full read lists only live ones) and subscriptions. `{ renew: true }` gives the
 * change feed a `renew` (as Graph has). Owners act on it with the `…AsOwner` helpers; `setUnavailable` makes an
 * owner's token refused (OwnerUnavailableError).
 */
export class FakeCalendar implements CalendarPort {
  readonly provider = 'google' as const;
  readonly maxOwnersPerFreeBusy = 50;
  readonly changeFeed: ChangeFeed;
  private readonly owners = new Map<string, OwnerCalendar>();
  readonly subscriptions = new Map<string, FakeSubscription>();
  /** Every subscription the daemon stopped, as it named it. */
  readonly stopped: CalendarSubscription[] = [];
  /** Every call, in order. */
  readonly calls: Array<{ method: CalendarMethod; owner: string }> = [];
  /** Failures the next calls of a method will throw (one each). */
  private readonly failures = new Map<CalendarMethod, Error[]>();
  private subscriptionCount = 0;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly defaultTimeZone: string | null = 'UTC',
    options: { renew?: boolean } = {},
  ) {
    const feed: ChangeFeed = {
      changes: (owner, cursor, keep) => this.changes(owner, cursor, keep),
      subscribe: (owner, request) => this.subscribe(owner, request),
      stop: (owner, subscription) => this.stop(owner, subscription),
    };
    if (options.renew) feed.renew = (owner, subscription, ttlSeconds) => this.renew(owner, subscription, ttlSeconds);
    this.changeFeed = feed;
  }

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

  /** Every cursor issued so far for this owner is expired from now on. */
  expireSyncTokens(email: string): void {
    const c = this.calendar(email);
    c.tokensValidFrom = c.changes + 1;
  }

  /** The next call of `method` throws `err` (queued: one failure per call). */
  failNext(method: CalendarMethod, err: Error): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), err]);
  }

  /** The provider drops a subscription on its own (as Graph may: subscriptionRemoved). */
  removeSubscription(id: string): void {
    this.subscriptions.delete(id);
  }

  /** The owner's events (deleted ones only when asked), as stored. */
  events(email: string, opts: { includeCancelled?: boolean } = {}): CalendarEvent[] {
    return [...this.calendar(email).events.values()].map((s) => clone(s.event)).filter((e) => opts.includeCancelled || !e.cancelled);
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
    return this.change(email, id, (e) => ({ ...e, timing: { kind: 'timed', start, end } }));
  }

  makeAllDayAsOwner(email: string, id: string, date: string, endDate: string): CalendarEvent {
    return this.change(email, id, (e) => ({ ...e, timing: { kind: 'all_day', startDate: date, endDate } }));
  }

  deleteEventAsOwner(email: string, id: string): void {
    this.change(email, id, (e) => ({ ...e, cancelled: true }));
  }

  // ─── CalendarPort ───────────────────────────────────────────────────────────────────────────────────────────

  async timeZone(owner: string): Promise<string | null> {
    this.called('timeZone', owner);
    this.usable(owner);
    return this.calendar(owner).timeZone;
  }

  async freeBusy(owners: string[], timeMin: string, timeMax: string): Promise<Map<string, OwnerAvailability>> {
    if (new Set(owners).size > this.maxOwnersPerFreeBusy) throw new RangeError(`freeBusy takes at most ${this.maxOwnersPerFreeBusy} owners`);
    const answer = new Map<string, OwnerAvailability>();
    for (const owner of owners) {
      this.called('freeBusy', owner);
      // One refused token fails the request (Google: the impersonated caller); the adapter names the owner.
      this.usable(owner);
      const c = this.calendar(owner);
      const min = Date.parse(timeMin);
      const max = Date.parse(timeMax);
      const intervals = [
        ...c.busy,
        ...[...c.events.values()]
          .map((s) => s.event)
          .flatMap((e) => (!e.cancelled && e.timing.kind === 'timed' ? [{ start: e.timing.start, end: e.timing.end }] : [])),
      ].filter((b) => Date.parse(b.start) < max && Date.parse(b.end) > min);
      answer.set(owner, { kind: 'known', busy: intervals.sort((a, b) => Date.parse(a.start) - Date.parse(b.start)) });
    }
    return answer;
  }

  async createEvent(owner: string, e: NewWindowEvent): Promise<CalendarEvent> {
    this.called('createEvent', owner);
    this.usable(owner);
    const c = this.calendar(owner);
    const existing = c.events.get(e.key);
    if (existing) return clone(existing.event);
    const event: CalendarEvent = {
      id: e.key,
      cancelled: false,
      timing: { kind: 'timed', start: e.start, end: e.end },
      remediationId: e.remediationId,
      title: e.title,
      description: e.description,
    };
    this.store(c, event);
    return clone(event);
  }

  async getEvent(owner: string, eventId: string, _limits?: CallLimits): Promise<CalendarEvent | null> {
    this.called('getEvent', owner);
    this.usable(owner);
    return this.event(owner, eventId);
  }

  async updateEvent(owner: string, eventId: string, patch: EventPatch): Promise<CalendarEvent> {
    this.called('updateEvent', owner);
    this.usable(owner);
    return this.change(owner, eventId, (e) => {
      const timed = e.timing.kind === 'timed' ? e.timing : null;
      const start = patch.start ?? timed?.start;
      const end = patch.end ?? timed?.end;
      return {
        ...e,
        ...(start !== undefined && end !== undefined && (patch.start !== undefined || patch.end !== undefined) ? { timing: { kind: 'timed', start, end } } : {}),
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
      };
    });
  }

  async deleteEvent(owner: string, eventId: string): Promise<void> {
    this.called('deleteEvent', owner);
    this.usable(owner);
    const s = this.calendar(owner).events.get(eventId);
    if (!s || s.event.cancelled) return;
    this.change(owner, eventId, (e) => ({ ...e, cancelled: true }));
  }

  // ─── ChangeFeed ─────────────────────────────────────────────────────────────────────────────────────────────

  private async changes(owner: string, cursor: string | null, keep: (e: CalendarEvent) => boolean = () => true): Promise<CalendarChanges> {
    this.called('changes', owner);
    this.usable(owner);
    const c = this.calendar(owner);
    let since = 0;
    if (cursor !== null) {
      const [cursorOwner, n] = cursor.split('|');
      since = Number(n);
      if (cursorOwner !== owner || !Number.isInteger(since) || since < c.tokensValidFrom - 1) throw new ChangeCursorExpiredError(owner);
    }
    const changed = [...c.events.values()]
      .filter((s) => (cursor === null ? !s.event.cancelled : s.changedAt > since))
      .map((s) => clone(s.event));
    return {
      events: changed.filter(keep),
      listed: changed.length,
      cursor: `${owner}|${c.changes}`,
      ...(c.timeZone ? { timeZone: c.timeZone } : {}),
    };
  }

  private async subscribe(owner: string, request: SubscribeRequest): Promise<CalendarSubscription> {
    this.called('subscribe', owner);
    this.usable(owner);
    const id = `sub-${++this.subscriptionCount}`;
    const expiration = this.clock.now() + request.ttlSeconds * 1000;
    const resource = `resource-${owner}`;
    this.subscriptions.set(id, {
      owner,
      resource,
      expiration,
      address: request.address,
      ...(request.lifecycleAddress ? { lifecycleAddress: request.lifecycleAddress } : {}),
      secret: request.secret,
    });
    return { id, resource, expiration };
  }

  private async renew(owner: string, subscription: CalendarSubscription, ttlSeconds: number): Promise<CalendarSubscription> {
    this.called('renew', owner);
    this.usable(owner);
    const held = this.subscriptions.get(subscription.id);
    if (!held || held.owner !== owner || held.expiration <= this.clock.now()) {
      throw new CalendarApiError(`subscription ${subscription.id} not found`, 404, 'notFound');
    }
    held.expiration = this.clock.now() + ttlSeconds * 1000;
    return { id: subscription.id, resource: held.resource, expiration: held.expiration };
  }

  private async stop(owner: string, subscription: CalendarSubscription): Promise<void> {
    this.called('stop', owner);
    this.stopped.push({ ...subscription });
    this.subscriptions.delete(subscription.id);
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────────────────────────────

  private called(method: CalendarMethod, owner: string): void {
    this.calls.push({ method, owner });
    const failure = this.failures.get(method)?.shift();
    if (failure) throw failure;
  }

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
    c.events.set(event.id, { event, changedAt: c.changes });
  }

  private change(owner: string, id: string, fn: (e: CalendarEvent) => CalendarEvent): CalendarEvent {
    const c = this.calendar(owner);
    const s = c.events.get(id);
    if (!s || s.event.cancelled) throw new CalendarApiError(`event ${id} not found in ${owner}'s calendar`, 404, 'notFound');
    this.store(c, fn(clone(s.event)));
    return clone((c.events.get(id) as StoredEvent).event);
  }
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
