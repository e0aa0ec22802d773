import type { EventTiming } from '../ports/calendar';
import type { SchedulingRules } from './scheduling-rules';
import { bookingDayOn, candidateSlots, instantOf, type BookingDay } from './slot-search';
import { addDays, isoWeekdayOf, localDateOf } from './time-zone';

/** Our event as read back from the owner's calendar (whatever the provider); null when it is not found. */
export type ObservedEvent = { cancelled: boolean; timing: EventTiming } | null;

export type EventVerdict =
  /** Same start and end instants (text edits, our own writes echoing back). */
  | { kind: 'unchanged' }
  /** Moved to a time still in the future: accept it, fire at the new start. */
  | { kind: 'moved'; start: string; end: string }
  | { kind: 'rebook'; reason: 'deleted' | 'moved_to_past' | 'all_day' };

const UNCHANGED: EventVerdict = { kind: 'unchanged' };

function rebook(reason: 'deleted' | 'moved_to_past' | 'all_day'): EventVerdict {
  return { kind: 'rebook', reason };
}

/**
 * What the owner did to our event, compared with what we booked (instants, not strings):
 * cancelled or not found → rebook (deleted); all-day → rebook (all_day); same start and end → unchanged;
 * start moved to now or earlier → rebook (moved_to_past); otherwise → moved (start or end changed, start > now).
 * A window already under way whose start did not change stays unchanged even if its end was dragged.
 * An event without readable times (`unreadable`) is left unchanged: we keep firing as booked.
 */
export function classifyEventChange(booked: { start: string; end: string }, observed: ObservedEvent, now: number): EventVerdict {
  if (observed === null || observed.cancelled) return rebook('deleted');
  const { timing } = observed;
  if (timing.kind === 'all_day') return rebook('all_day');
  if (timing.kind === 'unreadable') return UNCHANGED;
  const { start, end } = timing;
  const startChanged = instantOf(start) !== instantOf(booked.start);
  if (!startChanged && instantOf(end) === instantOf(booked.end)) return UNCHANGED;
  if (instantOf(start) <= now) return startChanged ? rebook('moved_to_past') : UNCHANGED;
  return { kind: 'moved', start, end };
}

/** Monday to Friday. */
function isBusinessDay(date: string): boolean {
  return isoWeekdayOf(date) <= 5;
}

/**
 * Fleet's rebooking date: the `attempt`-th business day (Mon–Fri) after the ORIGINAL booking date, so the first
 * rebook lands on the next business day and each further rebook one business day later. Friday + 1 → Monday;
 * weekends are never returned. `attempt` >= 1.
 */
export function rebookDate(originalDate: string, attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`rebook attempt must be an integer >= 1: ${attempt}`);
  // Count from the Monday of that week: the original's index (0 = Monday; Saturday and Sunday count as Friday, since
  // the business days after a weekend day are those after its Friday) plus `attempt`, five business days a week.
  const weekday = isoWeekdayOf(originalDate);
  const index = Math.min(weekday, 5) - 1 + attempt;
  const monday = addDays(originalDate, 1 - weekday);
  return addDays(monday, Math.floor(index / 5) * 7 + (index % 5));
}

/** Today if it is a business day, else the next one. */
function businessDayOnOrAfter(date: string): string {
  return isBusinessDay(date) ? date : rebookDate(date, 1);
}

/** A later day always has slots; the bound only guards against rules whose whole window falls in DST gaps. */
const MAX_DAYS_SEARCHED = 14;

/**
 * The day of the `attempt`-th rebook, never one already past in the owner's zone: rebookDate(originalDate, attempt)
 * if it is today with a slot left or later; otherwise the first business day from today on that still has a slot.
 */
export function rebookDay(originalDate: string, attempt: number, now: number, zone: string, rules: SchedulingRules): BookingDay {
  const today = localDateOf(now, zone);
  const planned = rebookDate(originalDate, attempt);
  let date = planned < today ? businessDayOnOrAfter(today) : planned;
  for (let searched = 0; searched < MAX_DAYS_SEARCHED; searched++) {
    const day = bookingDayOn(date, zone, rules);
    if (candidateSlots(day, now, rules).length > 0) return day;
    date = rebookDate(date, 1);
  }
  throw new RangeError(`no bookable business day within ${MAX_DAYS_SEARCHED} days of ${today} in ${zone}`);
}
