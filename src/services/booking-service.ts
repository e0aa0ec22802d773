import { buildEventDescription, EVENT_SUMMARY } from '../domain/event-text';
import { bookingZone, governingRules } from '../domain/maintenance-resolution';
import type { MaintenanceConfig, MaintenanceRules } from '../domain/maintenance-rules';
import { chooseRebookWindow, chooseWindow, deadlineOf, firstAllowedDay, rebookDayFor, windowQueryRange, type WindowChoice } from '../domain/policy-slot-search';
import { policyEventText } from './policy-event-text';
import { eventIdFor } from '../domain/event-id';
import { isoInZone, resolveTimeZone } from '../domain/time-zone';
import { chooseSlot, instantOf, nextBookingDay, queryRange, type BookingDay, type SlotChoice } from '../domain/slot-search';
import { rebookDay } from '../domain/reschedule-rules';
import type { Remediation } from '../domain/remediation';
import { OwnerUnavailableError, type CalendarEvent, type OwnerAvailability, type TimeInterval } from '../ports/calendar';
import { ConcurrencyLimit } from '../lib/concurrency-limit';
import type { ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';

/** Time zones are re-read daily; an unreadable one is retried after an hour. */
const TZ_TTL_SECONDS = 24 * 3600;
const TZ_FALLBACK_TTL_SECONDS = 3600;
/** A booking that could not be made is retried after this long (doubling up to the cap). */
const RETRY_BASE_MS = 30_000;
const RETRY_CAP_MS = 30 * 60_000;

/** A replica books the pending remediations it claimed alone for up to this long (it releases them when done); if it dies, they are next in line again after. */
const BOOKING_LEASE_MS = 20_000;

/** What booking takes from the calendar watch (CalendarWatchService). */
export interface BookingCalendarWatch {
  /** Reads a calendar never read before in full (its cursor kept) and answers its time zone when the listing carries one. */
  readBeforeFirstBooking(owner: string): Promise<string | null>;
  /** A window was just booked on the owner's calendar: its push channel follows (a channel round if one is needed). */
  afterBooking(owner: string, start: string): Promise<void>;
}

interface Plan {
  r: Remediation;
  email: string;
  zone: string;
  day: BookingDay;
  /** With MAINTENANCE_CONFIG_FILE: the rules in force for this remediation, its deadline and freeBusy range. */
  policy?: PolicyPlan;
}

interface PolicyPlan {
  rules: MaintenanceRules;
  /** Exclusive, epoch ms; null = none. */
  deadline: number | null;
  range: { timeMin: string; timeMax: string };
  /** The plan found an allowed day (`day`): a choice on another day means it ran out meanwhile (planned again). */
  onAllowedDay: boolean;
}

/**
 * Inserts of one booking round in flight at once (each for another owner): the round's time is then about
 * ⌈owners ÷ this⌉ inserts instead of one per owner. Google's per-user quota is per owner; the project quota is the
 * request limiter's.
 */
const BOOKING_INSERTS_IN_FLIGHT = 10;

/** Out-of-office days skipped at most in one booking (each costs an events.list and a freeBusy). */
const MAX_OUT_OF_OFFICE_SKIPS = 14;

/** Whether `intervals` together cover [from, to) entirely. */
function covers(intervals: TimeInterval[], from: number, to: number): boolean {
  let reached = from;
  for (const i of intervals.map((x) => ({ s: instantOf(x.start), e: instantOf(x.end) })).sort((a, b) => a.s - b.s)) {
    if (i.s > reached) break;
    reached = Math.max(reached, i.e);
    if (reached >= to) return true;
  }
  return reached >= to;
}

/** The freeBusy range of a batch: the days' windows (today's rules), widened to every maintenance-policy range. */
function batchRange(plans: Plan[]): { timeMin: string; timeMax: string } {
  const legacy = plans.filter((p) => !p.policy);
  const ranges = [...(legacy.length > 0 ? [queryRange(legacy.map((p) => p.day))] : []), ...plans.flatMap((p) => (p.policy ? [p.policy.range] : []))];
  const earliest = ranges.reduce((a, b) => (instantOf(b.timeMin) < instantOf(a.timeMin) ? b : a));
  const latest = ranges.reduce((a, b) => (instantOf(b.timeMax) > instantOf(a.timeMax) ? b : a));
  return { timeMin: earliest.timeMin, timeMax: latest.timeMax };
}

export interface BookingRound {
  booked: number;
  deferred: number;
  /** Due pending bookings left (more than one batch was waiting). */
  more: boolean;
}

/**
 * Books pending remediations: for as many owners at once as one freeBusy request takes (the provider's
 * maxOwnersPerFreeBusy: Google 50), reads their time zones (cached), asks freeBusy in one request, picks each owner's
 * first free slot and creates the event under a key derived from the remediation (a retried create answers the
 * existing event: never two events for one booking).
 */
export class BookingService {
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
    /** The calendar watch (CalendarWatchService): a calendar's first read before its first booking, its channel after. */
    private readonly watch?: BookingCalendarWatch,
  ) {}

  async bookPending(): Promise<BookingRound> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const batch = this.deps.calendar.maxOwnersPerFreeBusy;
    const ids = await store.claimPendingBookings(batch, now, BOOKING_LEASE_MS);
    const round: BookingRound = { booked: 0, deferred: 0, more: false };
    if (ids.length === 0) return round;
    try {
      await this.bookClaimed(ids, now, round);
    } finally {
      await store.releaseBookingLeases(ids);
    }
    round.more = ids.length === batch;
    return round;
  }

  /** Books the claimed remediations that are still pending: one freeBusy, then one insert per owner. */
  private async bookClaimed(ids: string[], now: number, round: BookingRound): Promise<void> {
    const { store } = this.deps;
    const found = await store.getMany(ids);
    const pending: Remediation[] = [];
    for (const id of ids) {
      const r = found.find((x) => x.id === id);
      if (r && r.status === 'pending' && r.email) pending.push(r);
      else await store.removePendingBooking(id);
    }
    const plans = (await Promise.all(pending.map((r) => this.plan(r, now)))).filter((p): p is Plan => p !== null);
    if (plans.length > 0) {
      const availability = await this.availability(plans);
      if (availability) {
        // Each plan is another owner (one host per owner at a time): their inserts go BOOKING_INSERTS_IN_FLIGHT at a
        // time, in plan order.
        const inserts = new ConcurrencyLimit(BOOKING_INSERTS_IN_FLIGHT);
        await Promise.all(
          plans.map((plan) =>
            inserts.run(async () => {
              // The time now, not the round's start: a slot must not have begun by the time its insert goes.
              if (await this.book(plan, availability.get(plan.email), this.deps.clock.now())) round.booked++;
              else round.deferred++;
            }),
          ),
        );
      }
    }
  }

  /** Time zone and day for one remediation; null if the owner turned out to be unavailable. */
  private async plan(r: Remediation, now: number): Promise<Plan | null> {
    const email = r.email as string;
    try {
      const config = this.deps.settings.maintenance?.();
      if (config) return await this.policyPlan(r, email, now, config);
      const zone = await this.timeZoneOf(email);
      const day =
        r.rebookCount > 0 && r.originalDate
          ? rebookDay(r.originalDate, r.rebookCount, now, zone, this.deps.settings.scheduling)
          : nextBookingDay(now, zone, this.deps.settings.scheduling);
      return { r, email, zone, day };
    } catch (err) {
      await this.handleFailure(r, err);
      return null;
    }
  }

  /**
   * MAINTENANCE_CONFIG_FILE: the rules governing r (defaults ← team ← policy; of several policies the earliest
   * deadline's), its zone and deadline (first failure = the remediation's creation), and the day: the first allowed
   * day, or after a delete / move into the past the rebook day; with a deadline and no such day before it, the
   * freeBusy range runs to the deadline (chooseWindow falls back to the latest slot before it).
   */
  private async policyPlan(r: Remediation, email: string, now: number, config: MaintenanceConfig): Promise<Plan> {
    const ownerZone = await this.timeZoneOf(email, config.defaults.fallback_time_zone);
    const firstFailure = Date.parse(r.createdAt);
    const governing = governingRules(config, r.host.teamId, r.policies.map((p) => ({ id: p.id, firstFailure })), ownerZone);
    const rules = governing.rules;
    const zone = bookingZone(rules, ownerZone).zone;
    const deadline = deadlineOf(firstFailure, rules.deadline_days, zone);
    // A delete beyond max_deferrals is rebooked at the earliest allowed slot, not on the rebook day.
    const rebook = r.rebookCount > 0 && r.originalDate !== undefined && !r.rebookEarliest;
    const day = rebook ? rebookDayFor(r.originalDate as string, r.rebookCount, now, zone, rules, deadline) : firstAllowedDay(now, zone, rules, deadline);
    // Without a day before the deadline, the choice may use any day up to it (or, past it, the next allowed day).
    const fallbackDay = day ?? (rebook ? rebookDayFor(r.originalDate as string, r.rebookCount, now, zone, rules, null) : firstAllowedDay(now, zone, rules, null));
    if (!fallbackDay) throw new Error(`no day allowed by the maintenance rules (${rules.window.rrule}) within the search horizon`);
    // An allowed day: its window is all the choice looks at (as without a file). None before the deadline: from now
    // to the deadline (the latest slot before it), or past it to the next allowed day.
    const range = day ? { timeMin: day.windowStart, timeMax: day.windowEnd } : windowQueryRange(now, zone, rules, deadline, null);
    if (!day && instantOf(fallbackDay.windowEnd) > instantOf(range.timeMax)) range.timeMax = fallbackDay.windowEnd;
    return { r, email, zone, day: fallbackDay, policy: { rules, deadline, range, onAllowedDay: day !== null } };
  }

  private async timeZoneOf(email: string, fallback?: string): Promise<string> {
    const { store, calendar, settings, logger } = this.deps;
    const cached = await store.cachedTimeZone(email);
    if (cached) return cached;
    const setting = (await this.readFirst(email)) ?? (await calendar.timeZone(email));
    const resolved = resolveTimeZone(setting, fallback ?? settings.scheduling.fallbackTimeZone);
    if (resolved.usedFallback) {
      logger.warn({ owner: email, reason: resolved.reason, fallback: resolved.zone }, 'calendar time zone unreadable: using the fallback');
    }
    await store.cacheTimeZone(email, resolved.zone, resolved.usedFallback ? TZ_FALLBACK_TTL_SECONDS : TZ_TTL_SECONDS);
    return resolved.zone;
  }

  /** The zone from the first read of a calendar never read before, or null (read before, no zone in it, or failed). */
  private async readFirst(email: string): Promise<string | null> {
    if (!this.watch) return null;
    try {
      return await this.watch.readBeforeFirstBooking(email);
    } catch (err) {
      // The owner's calendar is gone: the booking fails as it would on the zone's own call. Anything else: that call.
      if (err instanceof OwnerUnavailableError) throw err;
      this.deps.logger.warn({ owner: email, err: (err as Error).message }, 'first read of the calendar failed: reading its time zone alone');
      return null;
    }
  }

  /** One freeBusy request for every planned owner. An owner whose token fails is taken out and the rest retried. */
  private async availability(plans: Plan[]): Promise<Map<string, OwnerAvailability> | null> {
    let remaining = plans;
    while (remaining.length > 0) {
      const range = batchRange(remaining);
      try {
        return await this.deps.calendar.freeBusy(
          remaining.map((p) => p.email),
          range.timeMin,
          range.timeMax,
        );
      } catch (err) {
        if (err instanceof OwnerUnavailableError) {
          const gone = remaining.filter((p) => p.email === err.owner);
          if (gone.length === 0) throw err;
          for (const p of gone) await this.handleFailure(p.r, err);
          remaining = remaining.filter((p) => p.email !== err.owner);
          continue;
        }
        for (const p of remaining) await this.handleFailure(p.r, err);
        return null;
      }
    }
    return null;
  }

  private async book(plan: Plan, batchAnswer: OwnerAvailability | undefined, now: number): Promise<boolean> {
    const { r, email, zone, day } = plan;
    const rules = this.deps.settings.scheduling;
    let availability = batchAnswer;
    if (availability?.kind === 'unknown' && /notFound|forbidden/i.test(availability.reason)) {
      // The batch was asked as another owner, who may not see this calendar; or the owner has left. Asking as
      // the owner tells: their own free/busy, or their token refused (unassigned).
      try {
        const range = plan.policy ? plan.policy.range : queryRange([day]);
        availability = (await this.deps.calendar.freeBusy([email], range.timeMin, range.timeMax)).get(email);
      } catch (err) {
        await this.handleFailure(r, err);
        return false;
      }
    }
    if (!availability || availability.kind === 'unknown') {
      await this.handleFailure(r, new Error(`free/busy of ${email} unknown: ${availability?.reason ?? 'missing from the answer'}`));
      return false;
    }
    let windowChoice = plan.policy ? this.chooseByPolicy(plan, availability.busy, now) : null;
    // The planned day ran out between planning and choosing: its freeBusy covers only that day, so plan again.
    if (plan.policy?.onAllowedDay && windowChoice && windowChoice.day.date !== day.date) windowChoice = null;
    if (windowChoice?.onlyTimeLeft && windowChoice.basis === 'allowed_day') {
      try {
        windowChoice = await this.skipOutOfOfficeDays(plan, windowChoice);
      } catch (err) {
        await this.handleFailure(r, err);
        return false;
      }
    }
    const choice: SlotChoice | null = plan.policy
      ? windowChoice && ({ slot: windowChoice.slot, onlyTimeLeft: windowChoice.onlyTimeLeft } as SlotChoice)
      : chooseSlot(day, availability.busy, now, rules);
    if (!choice) {
      // The day ran out between planning and choosing: planned again (the next day, its own freeBusy) right away.
      await this.deps.store.deferPendingBooking(r.id, now);
      await this.deps.scheduler.requestBooking();
      this.deps.logger.info({ remediation: r.id, owner: email, day: day.date }, 'no slot left on the planned day: planning again');
      return false;
    }
    try {
      const event = await this.deps.calendar.createEvent(email, {
        key: eventIdFor(r.id, r.bookingNumber),
        remediationId: r.id,
        bookingNumber: r.bookingNumber,
        start: choice.slot.start,
        end: choice.slot.end,
        timeZone: zone,
        title: plan.policy ? plan.policy.rules.event.title : EVENT_SUMMARY,
        description: plan.policy
          ? this.policyDescription(plan, choice.onlyTimeLeft, windowChoice?.reason ?? null)
          : buildEventDescription({
              orgName: this.deps.settings.orgName,
              hostDisplayName: r.host.displayName,
              policies: r.policies,
              onlyTimeLeft: choice.onlyTimeLeft,
            }),
      });
      if (event.cancelled) {
        // The key answered an event an earlier attempt created and the owner has deleted since: that key is spent.
        await this.skipSpentEventId(r);
        return false;
      }
      return await this.commit(r, plan, choice, event, windowChoice?.day.date);
    } catch (err) {
      await this.handleFailure(r, err);
      return false;
    }
  }

  /** Records the booking and schedules the fire; if the remediation moved on meanwhile, undoes the insert. */
  private async commit(r: Remediation, plan: Plan, choice: SlotChoice, event: CalendarEvent, date = plan.day.date): Promise<boolean> {
    const { store, logger, scheduler, settings } = this.deps;
    // An adopted event (created by an earlier attempt with the same key) keeps the times it was created with.
    const { timing } = event;
    const start = timing.kind === 'timed' ? isoInZone(instantOf(timing.start), plan.zone) : choice.slot.start;
    const end = timing.kind === 'timed' ? isoInZone(instantOf(timing.end), plan.zone) : choice.slot.end;
    let already: Remediation | null = null;
    const applied = await this.runner.apply(
      r.id,
      (cur) => {
        if (cur.status === 'booked' && cur.calendarEventId === event.id) already = cur;
        if (cur.status !== 'pending' || cur.bookingNumber !== r.bookingNumber) return null;
        return {
          type: 'window_booked',
          start,
          end,
          eventId: event.id,
          timeZone: plan.zone,
          onlyTimeLeft: choice.onlyTimeLeft,
          date,
          ...(plan.policy
            ? { policy: { deadline: plan.policy.deadline === null ? null : isoInZone(plan.policy.deadline, plan.zone), maxDeferrals: plan.policy.rules.max_deferrals } }
            : {}),
        };
      },
      {
        // The window's jobs before the booking is saved: a daemon killed between the two leaves a job that finds
        // nothing to fire (the claim checks booking and start), never a booked window with no job to fire it.
        before: async (t) => {
          await scheduler.scheduleWindow(t.remediation, settings.notifyBeforeMinutes);
        },
      },
    );
    if (applied.kind !== 'applied') {
      if (already) {
        // Adopted after a crash: its jobs may be the ones that were never added.
        await scheduler.scheduleWindow(already, settings.notifyBeforeMinutes);
        this.attempts.delete(r.id);
        return true;
      }
      // Resolved or changed while we inserted: the new event goes (a job, so a crash cannot strand it).
      await scheduler.withdrawEvent({ remediationId: r.id, owner: plan.email, eventId: event.id });
      await store.removePendingBooking(r.id);
      logger.info({ remediation: r.id, owner: plan.email, event: event.id }, 'remediation changed while booking: its new event is withdrawn');
      return false;
    }
    this.attempts.delete(r.id);
    if (this.watch) await this.watch.afterBooking(plan.email, start);
    else await scheduler.requestChannelMaintenance();
    logger.info(
      { remediation: r.id, host: r.host.id, owner: plan.email, event: event.id, start, zone: plan.zone, onlyTimeLeft: choice.onlyTimeLeft },
      'maintenance window booked',
    );
    return true;
  }

  /**
   * The chosen day is full: if the owner is out of office across its whole window (one events.list filtered to
   * outOfOffice), the next allowed day instead (its own freeBusy), and so on; otherwise the day's last slot stays,
   * with the "only time left" text. At most a few days are skipped in one booking.
   */
  private async skipOutOfOfficeDays(plan: Plan, first: WindowChoice): Promise<WindowChoice> {
    const { calendar, logger } = this.deps;
    const { rules, deadline } = plan.policy as PolicyPlan;
    let choice = first;
    for (let skipped = 0; skipped < MAX_OUT_OF_OFFICE_SKIPS && calendar.outOfOffice; skipped++) {
      if (!choice.onlyTimeLeft || choice.basis !== 'allowed_day') return choice;
      const { windowStart, windowEnd } = choice.day;
      const away = await calendar.outOfOffice(plan.email, windowStart, windowEnd);
      if (!covers(away, instantOf(windowStart), instantOf(windowEnd))) return choice;
      logger.info({ remediation: plan.r.id, owner: plan.email, day: choice.day.date }, 'owner out of office all day: the next allowed day instead');
      const after = instantOf(windowEnd);
      const nextDay = firstAllowedDay(after, plan.zone, rules, deadline);
      if (!nextDay) return choice;
      const range = windowQueryRange(after, plan.zone, rules, deadline, nextDay);
      const availability = (await calendar.freeBusy([plan.email], range.timeMin, range.timeMax)).get(plan.email);
      if (!availability || availability.kind === 'unknown') return choice;
      const next = chooseWindow({ now: after, zone: plan.zone, rules, busy: availability.busy, deadline });
      if (!next) return choice;
      choice = next;
    }
    return choice;
  }

  /** chooseWindow / chooseRebookWindow under the plan's rules (pure). */
  private chooseByPolicy(plan: Plan, busy: TimeInterval[], now: number): WindowChoice | null {
    const { r, zone } = plan;
    const { rules, deadline } = plan.policy as PolicyPlan;
    if (r.rebookCount > 0 && r.originalDate && !r.rebookEarliest) {
      return chooseRebookWindow({ originalDate: r.originalDate, attempt: r.rebookCount, now, zone, rules, busy, deadline });
    }
    return chooseWindow({ now, zone, rules, busy, deadline });
  }

  /** The event text under maintenance policies (policy-event-text.ts). */
  private policyDescription(plan: Plan, onlyTimeLeft: boolean, reason: string | null): string {
    const { rules, deadline } = plan.policy as PolicyPlan;
    return policyEventText({ orgName: this.deps.settings.orgName, r: plan.r, rules, deadline, zone: plan.zone, onlyTimeLeft, reason }).description;
  }

  /** The next attempt books under a fresh event id (booking number + 1), right away. */
  private async skipSpentEventId(r: Remediation): Promise<void> {
    const { logger, scheduler } = this.deps;
    await this.runner.apply(r.id, (cur) => (cur.status === 'pending' && cur.bookingNumber === r.bookingNumber ? { type: 'event_id_spent' } : null));
    logger.info({ remediation: r.id, owner: r.email }, 'event id already used by a deleted event: booking under a new one');
    await scheduler.requestBooking();
  }

  /** An owner who cannot be impersonated any more is unassigned; anything else is retried later with backoff. */
  private async handleFailure(r: Remediation, err: unknown): Promise<void> {
    const { store, clock, logger } = this.deps;
    if (err instanceof OwnerUnavailableError) {
      // Frees the owner; their queued hosts will meet the same error and be unassigned in turn.
      await this.runner.apply(r.id, (cur) => (cur.status === 'pending' ? { type: 'owner_unavailable', reason: err.message } : null));
      logger.warn({ remediation: r.id, owner: r.email, reason: err.reason }, 'owner calendar unavailable: remediation unassigned');
      return;
    }
    const attempt = (this.attempts.get(r.id) ?? 0) + 1;
    this.attempts.set(r.id, attempt);
    const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
    const message = err instanceof Error ? err.message : String(err);
    await this.runner.apply(r.id, (cur) => (cur.status === 'pending' ? { type: 'booking_deferred', reason: `booking failed, retrying: ${message}` } : null), {
      before: async (t) => store.deferPendingBooking(t.remediation.id, clock.now() + delay),
    });
    logger.warn({ remediation: r.id, owner: r.email, attempt, retryInMs: delay, err: message }, 'booking failed: will retry');
  }
}
