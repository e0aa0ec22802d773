import { DateTime } from 'luxon';
import type { MaintenanceRules, WindowRules } from './maintenance-rules';
import { matchingDates } from './rrule-days';
import { bookingDayOn, candidateSlots, instantOf, type BookingDay, type BusyInterval, type Slot, type SlotRules } from './slot-search';
import { addDays, isoInZone, localDateOf } from './time-zone';

/** How far ahead (days) an allowed day is looked for when no deadline bounds the search. */
export const MAX_DAYS_AHEAD = 400;

export function slotRulesOf(window: WindowRules): SlotRules {
  return { dayStart: window.start, dayEnd: window.end, slotMinutes: window.slot_minutes };
}

/**
 * The deadline of a failure: the end of local day (first failure's local date + deadlineDays) in `zone`, i.e. the
 * next local midnight, as epoch ms (windows must END by it). Null when deadlineDays is null.
 */
export function deadlineOf(firstFailure: number, deadlineDays: number | null, zone: string): number | null {
  if (deadlineDays === null) return null;
  const day = DateTime.fromMillis(firstFailure, { zone }).startOf('day');
  return day.plus({ days: deadlineDays + 1 }).startOf('day').toMillis();
}

/** The candidate slots of `day` not begun at `now` and ending by `deadline` (null = no deadline). */
export function slotsWithin(day: BookingDay, now: number, window: WindowRules, deadline: number | null): Slot[] {
  const slots = candidateSlots(day, now, slotRulesOf(window));
  return deadline === null ? slots : slots.filter((s) => instantOf(s.end) <= deadline);
}

function lastSearchDate(today: string, zone: string, deadline: number | null): string {
  const horizon = addDays(today, MAX_DAYS_AHEAD);
  if (deadline === null) return horizon;
  const last = localDateOf(deadline - 1, zone);
  return last < horizon ? last : horizon;
}

/** First date >= from matching `rrule`, not blacked out, with a slot left (not begun, ending by the deadline). */
function firstFittingDate(rrule: string, from: string, to: string, now: number, zone: string, rules: MaintenanceRules, deadline: number | null): BookingDay | null {
  const blackout = new Set(rules.blackout_dates);
  for (const date of matchingDates(rrule, from, to, MAX_DAYS_AHEAD + 1)) {
    if (blackout.has(date)) continue;
    const day = bookingDayOn(date, zone, slotRulesOf(rules.window));
    if (slotsWithin(day, now, rules.window, deadline).length > 0) return day;
  }
  return null;
}

/**
 * The booking day: the first local date >= today (in `zone`) matching `window.rrule`, not blacked out, on which a
 * slot still fits (not begun; ending by the deadline when there is one). Null when none (before the deadline, or
 * within MAX_DAYS_AHEAD days).
 */
export function firstAllowedDay(now: number, zone: string, rules: MaintenanceRules, deadline: number | null = null): BookingDay | null {
  const today = localDateOf(now, zone);
  return firstFittingDate(rules.window.rrule, today, lastSearchDate(today, zone, deadline), now, zone, rules, deadline);
}

export interface WindowChoice {
  day: BookingDay;
  slot: Slot;
  /** Every candidate was busy: double-booked (the "no remaining availability" text). */
  onlyTimeLeft: boolean;
  /** 'allowed_day': by the rules; 'deadline': no allowed day fitted before the deadline (see reason). */
  basis: 'allowed_day' | 'deadline';
  /** Why the window is where it is when not simply by the rules; null otherwise. For the event description. */
  reason: string | null;
}

interface Range {
  start: number;
  end: number;
}

function isFree(slot: Slot, busy: Range[]): boolean {
  const s = instantOf(slot.start);
  const e = instantOf(slot.end);
  return !busy.some((b) => s < b.end && b.start < e);
}

function rangesOf(busy: BusyInterval[]): Range[] {
  return busy.map((b) => ({ start: instantOf(b.start), end: instantOf(b.end) }));
}

/** On an allowed day: the first free slot, else the last one with onlyTimeLeft (as today). */
function onDay(day: BookingDay, busy: Range[], now: number, rules: MaintenanceRules, deadline: number | null): WindowChoice {
  const slots = slotsWithin(day, now, rules.window, deadline);
  const free = slots.find((s) => isFree(s, busy));
  return free
    ? { day, slot: free, onlyTimeLeft: false, basis: 'allowed_day', reason: null }
    : { day, slot: slots[slots.length - 1], onlyTimeLeft: true, basis: 'allowed_day', reason: null };
}

function describeDeadline(deadline: number, zone: string): string {
  return isoInZone(deadline - 1, zone).slice(0, 10);
}

/**
 * No allowed day fits before the deadline: the LATEST free slot ending by it, within the window hours, on any day
 * from today (blackout dates are still avoided when any other day has a slot); all busy → the latest slot, double-
 * booked. Null only when no slot at all fits between now and the deadline.
 */
function beforeDeadline(now: number, zone: string, rules: MaintenanceRules, busy: Range[], deadline: number, rrule: string): WindowChoice | null {
  const today = localDateOf(now, zone);
  const last = lastSearchDate(today, zone, deadline);
  const blackout = new Set(rules.blackout_dates);
  const reason =
    `No day allowed by the maintenance rules (${rrule}) has a slot before the deadline (end of ` +
    `${describeDeadline(deadline, zone)}), so this is the latest time before it.`;
  let latestAny: { day: BookingDay; slot: Slot } | null = null;
  for (const skipBlackout of [true, false]) {
    for (let date = last; date >= today; date = addDays(date, -1)) {
      if (skipBlackout && blackout.has(date)) continue;
      const day = bookingDayOn(date, zone, slotRulesOf(rules.window));
      const slots = slotsWithin(day, now, rules.window, deadline);
      for (let i = slots.length - 1; i >= 0; i--) {
        latestAny ??= { day, slot: slots[i] };
        if (isFree(slots[i], busy)) return { day, slot: slots[i], onlyTimeLeft: false, basis: 'deadline', reason };
      }
    }
    const latest = latestAny as { day: BookingDay; slot: Slot } | null;
    if (latest) return { day: latest.day, slot: latest.slot, onlyTimeLeft: true, basis: 'deadline', reason };
  }
  return null;
}

/**
 * Where a new window goes under `rules` (pure): on the first allowed day (firstAllowedDay) the first slot free of
 * `busy`, else that day's last slot with onlyTimeLeft. With a deadline and no allowed day fitting before it, the
 * latest free slot before it within the window hours on any day (basis 'deadline', with the reason). When the
 * deadline has passed (no slot fits before it), the rules apply without it and the reason says the deadline passed.
 * Null only when no allowed day exists within MAX_DAYS_AHEAD days.
 * `busy` must cover [now, the returned day's end] (use windowQueryRange).
 */
export function chooseWindow(input: { now: number; zone: string; rules: MaintenanceRules; busy: BusyInterval[]; deadline: number | null }): WindowChoice | null {
  const { now, zone, rules, deadline } = input;
  const busy = rangesOf(input.busy);
  const day = firstAllowedDay(now, zone, rules, deadline);
  if (day) return onDay(day, busy, now, rules, deadline);
  if (deadline === null) return null;
  const fallback = beforeDeadline(now, zone, rules, busy, deadline, rules.window.rrule);
  if (fallback) return fallback;
  return pastDeadline(firstAllowedDay(now, zone, rules, null), busy, now, rules, deadline, zone);
}

function pastDeadline(day: BookingDay | null, busy: Range[], now: number, rules: MaintenanceRules, deadline: number, zone: string): WindowChoice | null {
  if (!day) return null;
  const choice = onDay(day, busy, now, rules, null);
  return { ...choice, reason: `The deadline (end of ${describeDeadline(deadline, zone)}) has passed: this is the earliest time allowed.` };
}

/** The freeBusy range chooseWindow / chooseRebookWindow may need: now .. the allowed day's end, or the deadline. */
export function windowQueryRange(now: number, zone: string, rules: MaintenanceRules, deadline: number | null, day: BookingDay | null): { timeMin: string; timeMax: string } {
  const end = day ? instantOf(day.windowEnd) : (deadline ?? now);
  return { timeMin: isoInZone(now, zone), timeMax: isoInZone(Math.max(end, now), zone) };
}

/**
 * The planned date of the `attempt`-th rebook: the attempt-th date strictly after `originalDate` matching
 * `rebook_rrule` and not blacked out. With the default (Mon–Fri, no blackout) this is reschedule-rules' rebookDate.
 */
export function plannedRebookDate(rules: MaintenanceRules, originalDate: string, attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`rebook attempt must be an integer >= 1: ${attempt}`);
  const blackout = new Set(rules.blackout_dates);
  let from = addDays(originalDate, 1);
  let found = 0;
  for (let round = 0; round < 50; round++) {
    const to = addDays(from, MAX_DAYS_AHEAD);
    for (const date of matchingDates(rules.rebook_rrule, from, to, MAX_DAYS_AHEAD + 1)) {
      if (blackout.has(date)) continue;
      if (++found === attempt) return date;
    }
    from = addDays(to, 1);
  }
  throw new RangeError(`no rebook date for attempt ${attempt} after ${originalDate}`);
}

/**
 * The day of the `attempt`-th rebook, never one already past: plannedRebookDate if it is today with a slot left
 * or later, otherwise the first rebook_rrule date (not blacked out) from today on with a slot left; with a deadline,
 * only days with a slot ending by it. Null when none (then chooseRebookWindow falls back to the deadline rule).
 */
export function rebookDayFor(originalDate: string, attempt: number, now: number, zone: string, rules: MaintenanceRules, deadline: number | null = null): BookingDay | null {
  const today = localDateOf(now, zone);
  const planned = plannedRebookDate(rules, originalDate, attempt);
  const from = planned < today ? today : planned;
  return firstFittingDate(rules.rebook_rrule, from, lastSearchDate(from, zone, deadline), now, zone, rules, deadline);
}

/** chooseWindow for a rebook: the rebook day's first free slot (day full: last slot), deadline fallback as chooseWindow. */
export function chooseRebookWindow(input: {
  originalDate: string;
  attempt: number;
  now: number;
  zone: string;
  rules: MaintenanceRules;
  busy: BusyInterval[];
  deadline: number | null;
}): WindowChoice | null {
  const { now, zone, rules, deadline } = input;
  const busy = rangesOf(input.busy);
  const day = rebookDayFor(input.originalDate, input.attempt, now, zone, rules, deadline);
  if (day) return onDay(day, busy, now, rules, deadline);
  if (deadline === null) return null;
  const fallback = beforeDeadline(now, zone, rules, busy, deadline, rules.rebook_rrule);
  if (fallback) return fallback;
  return pastDeadline(rebookDayFor(input.originalDate, input.attempt, now, zone, rules, null), busy, now, rules, deadline, zone);
}

/**
 * For clamp_to_deadline (deferral-rules): the latest free slot ending by the deadline within the window hours on any
 * day from today (blackout dates avoided while another day has room; all busy → the latest slot, onlyTimeLeft).
 * Null when no slot fits between now and the deadline.
 */
export function latestSlotBeforeDeadline(input: { now: number; zone: string; rules: MaintenanceRules; busy: BusyInterval[]; deadline: number }): WindowChoice | null {
  const choice = beforeDeadline(input.now, input.zone, input.rules, rangesOf(input.busy), input.deadline, input.rules.window.rrule);
  return choice && { ...choice, reason: `The window was moved past the deadline (end of ${describeDeadline(input.deadline, input.zone)}), so it was put back to the latest time before it.` };
}
