import { DateTime } from 'luxon';
import type { SchedulingRules } from './scheduling-rules';
import { addDays, firstInstantAt, formatInstant, instantsAt, isoWeekdayOf, localDateOf, zonedDate } from './time-zone';

/** A bookable slot: ISO-8601 instants written with the owner's offset, e.g. "2026-11-24T09:00:00.000-05:00". */
export interface Slot {
  start: string;
  end: string;
}

/** Time the owner is busy (from freeBusy): ISO-8601 instants with any offset or "Z". */
export interface BusyInterval {
  start: string;
  end: string;
}

/** One day on which to book, in the owner's zone. */
export interface BookingDay {
  /** yyyy-MM-dd in `zone`. */
  date: string;
  zone: string;
  /** ISO instants of the rules' dayStart and dayEnd on that date (a wall time in a DST gap moves forward). */
  windowStart: string;
  windowEnd: string;
}

export type SlotChoice =
  | { slot: Slot; onlyTimeLeft: false }
  /** The day is full: the last slot of the day, double-booked. */
  | { slot: Slot; onlyTimeLeft: true };

/** What slot generation needs of the rules: hours and slot length (the day is chosen elsewhere). */
export type SlotRules = Pick<SchedulingRules, 'dayStart' | 'dayEnd' | 'slotMinutes'>;

const MINUTES_PER_DAY = 24 * 60;
const MINUTE_MS = 60_000;

/** An ISO-8601 instant (offset or Z required to be meaningful) as epoch ms; throws on anything unparseable. */
export function instantOf(iso: string): number {
  const parsed = DateTime.fromISO(iso, { setZone: true });
  if (!parsed.isValid) throw new RangeError(`not an ISO-8601 instant: ${iso}`);
  return parsed.toMillis();
}

/** "HH:mm" (00:00 … 24:00) as minutes after local midnight. */
export function minuteOfDay(hhmm: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
  if (!match || Number(match[2]) >= 60 || minutes > MINUTES_PER_DAY) throw new RangeError(`not an "HH:mm" time: ${hhmm}`);
  return minutes;
}

/** The working window of the rules in minutes after local midnight; throws when not even one slot fits. */
function workingWindow(rules: SlotRules): { first: number; end: number } {
  const first = minuteOfDay(rules.dayStart);
  const end = minuteOfDay(rules.dayEnd);
  if (!Number.isInteger(rules.slotMinutes) || rules.slotMinutes <= 0 || first + rules.slotMinutes > end) {
    throw new RangeError(`scheduling rules fit no slot: ${rules.dayStart}–${rules.dayEnd} / ${rules.slotMinutes} min`);
  }
  return { first, end };
}

/** A specific calendar date as a booking day (used for rebooking), e.g. bookingDayOn('2026-11-25', zone, rules). */
export function bookingDayOn(date: string, zone: string, rules: SlotRules): BookingDay {
  const { first, end } = workingWindow(rules);
  const zoned = zonedDate(date, zone);
  return {
    date,
    zone,
    windowStart: formatInstant(firstInstantAt(zoned, first), zoned),
    windowEnd: formatInstant(firstInstantAt(zoned, end), zoned),
  };
}

/**
 * The day to book: the next `rules.weekday` in `zone` on or after `now` — today if it is that weekday and at least
 * one slot still fits (a slot whose start >= now), otherwise the same weekday a week later.
 */
export function nextBookingDay(now: number, zone: string, rules: SchedulingRules): BookingDay {
  const today = localDateOf(now, zone);
  const daysAhead = (rules.weekday - isoWeekdayOf(today) + 7) % 7;
  const day = bookingDayOn(addDays(today, daysAhead), zone, rules);
  return candidateSlots(day, now, rules).length > 0 ? day : bookingDayOn(addDays(today, daysAhead + 7), zone, rules);
}

/**
 * All slots of the day still ahead, in order. Slot k starts at wall time dayStart + k·slotMinutes in the day's zone
 * and lasts slotMinutes real minutes; the last one ends no later than dayEnd. A slot whose start < now is gone (once
 * the workday has started, the first slot is the next aligned boundary). Wall times skipped by a DST gap are left
 * out; a wall time that happens twice (clocks going back) is taken at its first occurrence; a slot that would overlap
 * the previous one (only when a slot is longer than a DST gap) is left out. Slots are strictly increasing and disjoint.
 */
export function candidateSlots(day: BookingDay, now: number, rules: SlotRules): Slot[] {
  const { first, end } = workingWindow(rules);
  const zoned = zonedDate(day.date, day.zone);
  const length = rules.slotMinutes * MINUTE_MS;
  const windowEnd = instantOf(day.windowEnd);
  const slots: Slot[] = [];
  let previousEnd = -Infinity;
  for (let minute = first; minute + rules.slotMinutes <= end; minute += rules.slotMinutes) {
    const [start] = instantsAt(zoned, minute);
    if (start === undefined || start < previousEnd || start + length > windowEnd) continue;
    previousEnd = start + length;
    if (start >= now) slots.push({ start: formatInstant(start, zoned), end: formatInstant(start + length, zoned) });
  }
  return slots;
}

interface Range {
  start: number;
  end: number;
}

function rangeOf(interval: { start: string; end: string }): Range {
  return { start: instantOf(interval.start), end: instantOf(interval.end) };
}

/** Half-open intervals [start, end) overlap; touching edges do not. */
function overlaps(a: Range, b: Range): boolean {
  return a.start < b.end && b.start < a.end;
}

/**
 * The first candidate slot that overlaps no busy interval (touching edges is not overlap). When every candidate is
 * busy: the LAST slot of the day, with onlyTimeLeft (double-booked). Null only when no candidate is left (day over).
 */
export function chooseSlot(day: BookingDay, busy: BusyInterval[], now: number, rules: SlotRules): SlotChoice | null {
  const candidates = candidateSlots(day, now, rules);
  if (candidates.length === 0) return null;
  const busyRanges = busy.map(rangeOf);
  const free = candidates.find((slot) => !busyRanges.some((b) => overlaps(rangeOf(slot), b)));
  return free ? { slot: free, onlyTimeLeft: false } : { slot: candidates[candidates.length - 1], onlyTimeLeft: true };
}

/** The freeBusy query range covering a set of days: earliest windowStart .. latest windowEnd (by instant). */
export function queryRange(days: BookingDay[]): { timeMin: string; timeMax: string } {
  if (days.length === 0) throw new RangeError('queryRange needs at least one day');
  const earliest = days.reduce((a, b) => (instantOf(b.windowStart) < instantOf(a.windowStart) ? b : a));
  const latest = days.reduce((a, b) => (instantOf(b.windowEnd) > instantOf(a.windowEnd) ? b : a));
  return { timeMin: earliest.windowStart, timeMax: latest.windowEnd };
}
