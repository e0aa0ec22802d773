import { Frequency, RRule } from 'rrule';
import { addDays } from './time-zone';

/**
 * RRULEs here describe local calendar DATES. The rrule package works on "floating" UTC values, so a local date
 * yyyy-MM-dd is represented by its UTC midnight and read back with toISOString(); no zone is ever involved.
 *
 * Accepted: FREQ = YEARLY | MONTHLY | WEEKLY | DAILY, with INTERVAL, BYDAY (with ordinals: 1MO, -1FR), BYMONTHDAY,
 * BYMONTH, BYYEARDAY, BYWEEKNO, BYSETPOS, WKST. Rejected: no FREQ; HOURLY/MINUTELY/SECONDLY; BYHOUR/BYMINUTE/
 * BYSECOND (times of day are the window's start/end); COUNT/UNTIL (a rule must not run out); DTSTART/TZID lines.
 * INTERVAL counts from the anchor Monday 2024-01-01 (e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU: the Tuesdays of the
 * even weeks counted from that Monday; FREQ=MONTHLY;INTERVAL=2: January, March, …).
 */
export const RRULE_ANCHOR_DATE = '2024-01-01';
const ANCHOR = new Date(`${RRULE_ANCHOR_DATE}T00:00:00Z`);
const DAY_FREQUENCIES = new Set([Frequency.YEARLY, Frequency.MONTHLY, Frequency.WEEKLY, Frequency.DAILY]);

/** Why `rrule` is not an acceptable day rule, or null when it is. */
export function rruleProblem(rrule: string): string | null {
  const text = rrule.trim().replace(/^RRULE:/i, '');
  if (text === '') return 'must not be empty';
  if (/[\r\n]/.test(text) || /(^|;)\s*(DTSTART|TZID)\b/i.test(text)) return 'must be one RRULE without DTSTART or TZID';
  const keys = text.split(';').map((part) => part.split('=')[0].trim().toUpperCase());
  if (!keys.includes('FREQ')) return 'must have FREQ (e.g. "FREQ=WEEKLY;BYDAY=TU")';
  for (const key of ['BYHOUR', 'BYMINUTE', 'BYSECOND']) {
    if (keys.includes(key)) return `${key} is not allowed: the rule gives days, the window's start/end give the hours`;
  }
  for (const key of ['COUNT', 'UNTIL']) if (keys.includes(key)) return `${key} is not allowed: the rule must not run out`;
  let options;
  try {
    options = RRule.parseString(text);
  } catch (error) {
    return `not a valid RRULE: ${(error as Error).message}`;
  }
  if (options.freq === undefined || !DAY_FREQUENCIES.has(options.freq)) return 'FREQ must be YEARLY, MONTHLY, WEEKLY or DAILY';
  if (options.interval !== undefined && (!Number.isInteger(options.interval) || options.interval < 1)) return 'INTERVAL must be a positive integer';
  let rule: RRule;
  try {
    rule = new RRule({ ...options, dtstart: ANCHOR });
    // A rule that matches nothing within ~10 years of the anchor (e.g. BYMONTHDAY=31;BYMONTH=2) is useless.
    if (rule.between(ANCHOR, new Date(Date.UTC(2034, 0, 1)), true, (_, i) => i < 1).length === 0) {
      return 'matches no date';
    }
  } catch (error) {
    return `not a valid RRULE: ${(error as Error).message}`;
  }
  return null;
}

const cache = new Map<string, RRule>();

function ruleOf(rrule: string): RRule {
  let rule = cache.get(rrule);
  if (!rule) {
    const problem = rruleProblem(rrule);
    if (problem) throw new RangeError(`invalid day rule "${rrule}": ${problem}`);
    rule = new RRule({ ...RRule.parseString(rrule.trim().replace(/^RRULE:/i, '')), dtstart: ANCHOR });
    if (cache.size > 1000) cache.clear();
    cache.set(rrule, rule);
  }
  return rule;
}

function floating(date: string): Date {
  return new Date(`${date}T00:00:00Z`);
}

/** Does the local date (yyyy-MM-dd) match the day rule? */
export function matchesDate(rrule: string, date: string): boolean {
  const d = floating(date);
  return ruleOf(rrule).between(d, d, true).length > 0;
}

/** The dates matching the rule in [from, to] (yyyy-MM-dd, inclusive), ascending; at most `limit`. */
export function matchingDates(rrule: string, from: string, to: string, limit = 1000): string[] {
  if (to < from) return [];
  return ruleOf(rrule)
    .between(floating(from), floating(to), true, (_, i) => i < limit)
    .map((d) => d.toISOString().slice(0, 10));
}

/** The first matching date >= from (yyyy-MM-dd), or null when none within `maxDays`. */
export function nextMatchingDate(rrule: string, from: string, maxDays = 3660): string | null {
  const next = ruleOf(rrule).after(floating(from), true);
  if (!next) return null;
  const date = next.toISOString().slice(0, 10);
  return date <= addDays(from, maxDays) ? date : null;
}
