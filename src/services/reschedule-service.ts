import { classifyEventChange, type EventVerdict } from '../domain/reschedule-rules';
import { instantOf } from '../domain/slot-search';
import { isoInZone } from '../domain/time-zone';
import type { Remediation } from '../domain/remediation';
import type { CalendarEvent } from '../ports/calendar';
import { lockNameFor, type ServiceDeps } from './ports';

/**
 * What the owner did to our event, and what we do about it (Fleet's rules):
 * - moved to a later (future) time → accepted: the window fires at the new start;
 * - deleted, moved into the past, or turned into an all-day event → a new booking on the business day after the
 *   ORIGINAL date (then the day after that, and so on);
 * - anything else (text edits, our own writes echoing back) → nothing.
 */
export class RescheduleService {
  constructor(private readonly deps: ServiceDeps) {}

  /** Applies the owner's change to a booked remediation; returns the verdict. */
  async apply(r: Remediation, observed: CalendarEvent | null): Promise<EventVerdict> {
    const { clock } = this.deps;
    if (r.status !== 'booked' || !r.start || !r.end) return { kind: 'unchanged' };
    const verdict = classifyEventChange({ start: r.start, end: r.end }, observed, clock.now());
    if (verdict.kind === 'moved') {
      const zone = r.timeZone ?? 'UTC';
      await this.follow(r, isoInZone(instantOf(verdict.start), zone), isoInZone(instantOf(verdict.end), zone));
    }
    else if (verdict.kind === 'rebook') await this.rebook(r, verdict.reason, observed);
    return verdict;
  }

  private async follow(booked: Remediation, start: string, end: string): Promise<void> {
    const { store, clock, scheduler, logger } = this.deps;
    const moved = await store.withOwnerLock(lockNameFor(booked), async () => {
      const r = await store.get(booked.id);
      if (!r || r.status !== 'booked' || r.calendarEventId !== booked.calendarEventId) return null;
      const from = r.start;
      Object.assign(r, { start, end, updatedAt: new Date(clock.now()).toISOString() });
      // The job for the new start before the new start is recorded (the old job skips: its start is not current).
      await scheduler.scheduleFire(r);
      await store.save(r);
      return { r, from };
    });
    if (!moved) return;
    // Moved out of (or into) the push horizon: the channels follow.
    await scheduler.requestChannelMaintenance();
    logger.info(
      { remediation: moved.r.id, host: moved.r.host.id, owner: moved.r.email, from: moved.from, to: start },
      'owner moved the window: following it',
    );
  }

  private async rebook(booked: Remediation, reason: 'deleted' | 'moved_to_past' | 'all_day', observed: CalendarEvent | null): Promise<void> {
    const { store, clock, scheduler, logger } = this.deps;
    const rebooked = await store.withOwnerLock(lockNameFor(booked), async () => {
      const r = await store.get(booked.id);
      if (!r || r.status !== 'booked' || r.calendarEventId !== booked.calendarEventId) return null;
      const oldEventId = r.calendarEventId;
      Object.assign(r, {
        status: 'pending',
        reason: `owner ${reason.replace(/_/g, ' ')} the window: rebooking`,
        bookingNumber: r.bookingNumber + 1,
        rebookCount: r.rebookCount + 1,
        start: undefined,
        end: undefined,
        calendarEventId: undefined,
        onlyTimeLeft: undefined,
        updatedAt: new Date(clock.now()).toISOString(),
      } satisfies Partial<Remediation>);
      // A window dragged into the past or made all-day is still on the calendar: it goes, the new one replaces it.
      if (observed && observed.status !== 'cancelled' && oldEventId && r.email) {
        await scheduler.withdrawEvent({ remediationId: r.id, owner: r.email, eventId: oldEventId });
      }
      await store.save(r, { pendingSince: clock.now() });
      return r;
    });
    if (!rebooked) return;
    const r = rebooked;
    logger.info(
      { remediation: r.id, host: r.host.id, owner: r.email, reason, originalDate: r.originalDate, rebook: r.rebookCount },
      'owner removed the window: rebooking',
    );
    await scheduler.requestBooking();
  }
}
