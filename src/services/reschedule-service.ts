import { classifyEventChange, type EventVerdict } from '../domain/reschedule-rules';
import { instantOf } from '../domain/slot-search';
import { isoInZone } from '../domain/time-zone';
import type { Remediation } from '../domain/remediation';
import type { CalendarEvent } from '../ports/calendar';
import type { ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';

/**
 * What the owner did to our event, and what we do about it (Fleet's rules):
 * - moved to a later (future) time → accepted: the window fires at the new start;
 * - deleted, moved into the past, or turned into an all-day event → a new booking on the business day after the
 *   ORIGINAL date (then the day after that, and so on);
 * - anything else (text edits, our own writes echoing back) → nothing.
 */
export class RescheduleService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
  ) {}

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
    const { scheduler, logger, settings } = this.deps;
    const applied = await this.runner.apply(
      booked.id,
      (r) => (r.status === 'booked' && r.calendarEventId === booked.calendarEventId ? { type: 'window_moved', start, end, actor: 'owner' } : null),
      {
        // The jobs for the new start before the new start is recorded (the old ones skip: their start is not current).
        before: async (t) => {
          await scheduler.scheduleFire(t.remediation);
          await scheduler.scheduleUpcoming(t.remediation, settings.notifyBeforeMinutes);
        },
      },
    );
    if (applied.kind !== 'applied') return;
    // Moved out of (or into) the push horizon: the channels follow.
    await scheduler.requestChannelMaintenance();
    logger.info(
      { remediation: booked.id, host: booked.host.id, owner: booked.email, from: applied.before?.start, to: start },
      'owner moved the window: following it',
    );
  }

  private async rebook(booked: Remediation, reason: 'deleted' | 'moved_to_past' | 'all_day', observed: CalendarEvent | null): Promise<void> {
    const { scheduler, logger } = this.deps;
    const applied = await this.runner.apply(
      booked.id,
      (r) => (r.status === 'booked' && r.calendarEventId === booked.calendarEventId ? { type: 'window_lost', reason } : null),
      {
        // A window dragged into the past or made all-day is still on the calendar: it goes, the new one replaces it.
        before: async (_t, r) => {
          if (observed && observed.status !== 'cancelled' && r?.calendarEventId && r.email) {
            await scheduler.withdrawEvent({ remediationId: r.id, owner: r.email, eventId: r.calendarEventId });
          }
        },
      },
    );
    if (applied.kind !== 'applied') return;
    const r = applied.after;
    logger.info(
      { remediation: r.id, host: r.host.id, owner: r.email, reason, originalDate: r.originalDate, rebook: r.rebookCount },
      'owner removed the window: rebooking',
    );
    await scheduler.requestBooking();
  }
}
