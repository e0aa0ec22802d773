import { classifyEventChange, type EventVerdict } from '../domain/reschedule-rules';
import { instantOf } from '../domain/slot-search';
import { isoInZone } from '../domain/time-zone';
import type { Remediation } from '../domain/remediation';
import type { CalendarEvent } from '../ports/calendar';
import type { ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';
import { decideDeferral } from '../domain/deferral-rules';
import type { MaintenanceConfig } from '../domain/maintenance-rules';
import { latestSlotBeforeDeadline } from '../domain/policy-slot-search';
import { deadlineLabel, policyEventText, rulesOfBooked } from './policy-event-text';

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
    const config = this.deps.settings.maintenance?.();
    if (config) {
      await this.applyWithPolicies(r, verdict, observed, config);
      return verdict;
    }
    if (verdict.kind === 'moved') {
      const zone = r.timeZone ?? 'UTC';
      await this.follow(r, isoInZone(instantOf(verdict.start), zone), isoInZone(instantOf(verdict.end), zone));
    }
    else if (verdict.kind === 'rebook') await this.rebook(r, verdict.reason, observed);
    return verdict;
  }

  /**
   * MAINTENANCE_CONFIG_FILE: deferrals (deferral-rules.ts). A move later or a delete is one deferral; up to
   * max_deferrals they are followed. Beyond, a move later is patched back to the accepted time and a delete is
   * rebooked at the earliest allowed slot; a move past the deadline is put back to the latest slot before it.
   */
  private async applyWithPolicies(r: Remediation, verdict: EventVerdict, observed: CalendarEvent | null, config: MaintenanceConfig): Promise<void> {
    const zone = r.timeZone ?? 'UTC';
    const deadline = r.deadline ? instantOf(r.deadline) : null;
    const input = {
      maxDeferrals: r.maxDeferrals ?? null,
      deferralsUsed: r.deferralsUsed ?? 0,
      accepted: { start: r.start as string, end: r.end as string },
      deadline,
      ...(deadline !== null ? { deadlineLabel: deadlineLabel(deadline, zone) } : {}),
    };
    if (verdict.kind === 'moved') {
      const start = isoInZone(instantOf(verdict.start), zone);
      const end = isoInZone(instantOf(verdict.end), zone);
      const decision = decideDeferral({ ...input, change: { kind: 'moved', start, end } });
      if (decision.action === 'follow') return this.follow(r, start, end, decision.deferralsUsed);
      if (decision.action === 'undo_move') return this.undoMove(r, { start, end }, decision.reason, config);
      return this.clampToDeadline(r, { start, end }, decision.deferralsUsed, decision.reason, deadline as number, config);
    }
    if (verdict.kind !== 'rebook') return;
    if (verdict.reason !== 'deleted') return this.rebook(r, verdict.reason, observed);
    const decision = decideDeferral({ ...input, change: { kind: 'deleted' } });
    if (decision.action === 'rebook_earliest') return this.rebook(r, 'deleted', observed, { earliest: { note: decision.reason } });
    return this.rebook(r, 'deleted', observed, { deferralsUsed: decision.deferralsUsed });
  }

  /** Beyond max_deferrals: the event is patched back to the accepted time (not re-created), and the text says so. */
  private async undoMove(booked: Remediation, owners: { start: string; end: string }, reason: string, config: MaintenanceConfig): Promise<void> {
    const { calendar, logger } = this.deps;
    if (!booked.email || !booked.calendarEventId) return;
    const text = this.eventText({ ...booked, deferralsExhausted: reason }, config, reason);
    await calendar.updateEvent(booked.email, booked.calendarEventId, { start: booked.start, end: booked.end, timeZone: booked.timeZone, ...text });
    const applied = await this.runner.apply(booked.id, (r) =>
      r.status === 'booked' && r.calendarEventId === booked.calendarEventId && r.start === booked.start
        ? { type: 'move_undone', ownerStart: owners.start, ownerEnd: owners.end, reason }
        : null,
    );
    if (applied.kind !== 'applied') return;
    logger.info({ remediation: booked.id, host: booked.host.id, owner: booked.email, to: owners.start, kept: booked.start }, 'owner moved the window beyond the deferrals allowed: put back');
  }

  /** A move past the deadline: the window goes to the latest free slot before it (freeBusy), patched, and followed. */
  private async clampToDeadline(
    booked: Remediation,
    owners: { start: string; end: string },
    deferralsUsed: number,
    reason: string,
    deadline: number,
    config: MaintenanceConfig,
  ): Promise<void> {
    const { calendar, clock, scheduler, settings, logger } = this.deps;
    if (!booked.email || !booked.calendarEventId) return;
    const zone = booked.timeZone ?? 'UTC';
    const now = clock.now();
    const rules = rulesOfBooked(config, booked);
    const availability = (await calendar.freeBusy([booked.email], isoInZone(now, zone), isoInZone(Math.max(now, deadline), zone))).get(booked.email);
    const busy = availability?.kind === 'known' ? availability.busy : [];
    const choice = latestSlotBeforeDeadline({ now, zone, rules, busy, deadline });
    if (!choice) return this.follow(booked, owners.start, owners.end, deferralsUsed);
    const text = this.eventText(booked, config, reason);
    await calendar.updateEvent(booked.email, booked.calendarEventId, { start: choice.slot.start, end: choice.slot.end, timeZone: zone, ...text });
    const applied = await this.runner.apply(
      booked.id,
      (r) =>
        r.status === 'booked' && r.calendarEventId === booked.calendarEventId
          ? { type: 'window_moved', start: choice.slot.start, end: choice.slot.end, actor: 'system', reason, deferralsUsed }
          : null,
      {
        before: async (t) => {
          await scheduler.scheduleWindow(t.remediation, settings.notifyBeforeMinutes);
        },
      },
    );
    if (applied.kind !== 'applied') return;
    await scheduler.requestChannelMaintenance();
    logger.info({ remediation: booked.id, owner: booked.email, to: owners.start, put: choice.slot.start }, 'owner moved the window past its deadline: put back before it');
  }

  private eventText(r: Remediation, config: MaintenanceConfig, reason: string): { title: string; description: string } {
    const zone = r.timeZone ?? 'UTC';
    return policyEventText({
      orgName: this.deps.settings.orgName,
      r,
      rules: rulesOfBooked(config, r),
      deadline: r.deadline ? instantOf(r.deadline) : null,
      zone,
      onlyTimeLeft: false,
      reason,
    });
  }

  private async follow(booked: Remediation, start: string, end: string, deferralsUsed?: number): Promise<void> {
    const { scheduler, logger, settings } = this.deps;
    const applied = await this.runner.apply(
      booked.id,
      (r) =>
        r.status === 'booked' && r.calendarEventId === booked.calendarEventId
          ? { type: 'window_moved', start, end, actor: 'owner', ...(deferralsUsed !== undefined ? { deferralsUsed } : {}) }
          : null,
      {
        // The jobs for the new start before the new start is recorded (the old ones skip: their start is not current).
        before: async (t) => {
          await scheduler.scheduleWindow(t.remediation, settings.notifyBeforeMinutes);
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

  private async rebook(
    booked: Remediation,
    reason: 'deleted' | 'moved_to_past' | 'all_day',
    observed: CalendarEvent | null,
    deferral: { deferralsUsed?: number; earliest?: { note: string } } = {},
  ): Promise<void> {
    const { scheduler, logger } = this.deps;
    const applied = await this.runner.apply(
      booked.id,
      (r) => (r.status === 'booked' && r.calendarEventId === booked.calendarEventId ? { type: 'window_lost', reason, ...deferral } : null),
      {
        // A window dragged into the past or made all-day is still on the calendar: it goes, the new one replaces it.
        before: async (_t, r) => {
          if (observed && !observed.cancelled && r?.calendarEventId && r.email) {
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
