import { DateTime, IANAZone } from 'luxon';

export interface ResolvedTimeZone {
  /** The IANA zone to book in. */
  zone: string;
  /** True when `candidate` could not be used and `fallback` was returned. */
  usedFallback: boolean;
  /** Why the fallback was used: 'missing' or 'invalid: <value>'. Absent when the candidate was used. */
  reason?: string;
}

/**
 * The zone an owner's windows are booked in: their calendar's `timezone` setting when it is a valid IANA zone
 * (surrounding whitespace ignored), otherwise `fallback` with the reason ('missing' for null/empty, 'invalid: <value>').
 */
export function resolveTimeZone(candidate: string | null | undefined, fallback: string): ResolvedTimeZone {
  const trimmed = candidate?.trim() ?? '';
  if (trimmed === '') return { zone: fallback, usedFallback: true, reason: 'missing' };
  if (!IANAZone.isValidZone(trimmed)) return { zone: fallback, usedFallback: true, reason: `invalid: ${candidate}` };
  return { zone: trimmed, usedFallback: false };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

function ianaZone(zone: string): IANAZone {
  const iana = IANAZone.create(zone);
  if (!iana.isValid) throw new RangeError(`not a valid IANA time zone: ${zone}`);
  return iana;
}

/** Calendar dates are "yyyy-MM-dd" strings (they compare correctly as strings); this is their midnight in UTC, in ms. */
function utcMidnightOf(date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || new Date(ms).toISOString().slice(0, 10) !== date) throw new RangeError(`not a yyyy-MM-dd date: ${date}`);
  return ms;
}

/** The calendar date ("yyyy-MM-dd") of instant `now` (epoch ms) in `zone`. */
export function localDateOf(now: number, zone: string): string {
  return DateTime.fromMillis(now, { zone: ianaZone(zone) }).toISODate() as string;
}

/** The date `days` calendar days after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  return new Date(utcMidnightOf(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** ISO weekday of a date: 1 = Monday … 7 = Sunday. */
export function isoWeekdayOf(date: string): number {
  return new Date(utcMidnightOf(date)).getUTCDay() || 7;
}

/**
 * One calendar date in a zone, ready to turn local wall times into instants. `offsets` are the UTC offsets (minutes)
 * in force at some instant whose local date may be this date (from 14 h before its midnight to 12 h after the
 * next): one value on ordinary days, two on a DST change day. Read at the start, middle and end of that span, so
 * only a zone changing offset twice within a day would be misread (then its wall times are skipped, never misplaced).
 */
export interface ZonedDate {
  date: string;
  zone: string;
  offsets: number[];
}

export function zonedDate(date: string, zone: string): ZonedDate {
  const iana = ianaZone(zone);
  const midnight = utcMidnightOf(date);
  const probes = [midnight - 14 * HOUR_MS, midnight + 12 * HOUR_MS, midnight + 36 * HOUR_MS];
  return { date, zone, offsets: [...new Set(probes.map((ms) => iana.offset(ms)))] };
}

/**
 * The instants at which local time `minuteOfDay` (0 … 1440; 1440 is the next midnight) occurs on the date: none when
 * a DST gap skips it, two (ascending) when clocks go back and it happens twice, otherwise one.
 */
export function instantsAt(day: ZonedDate, minuteOfDay: number): number[] {
  const wall = utcMidnightOf(day.date) + minuteOfDay * MINUTE_MS;
  if (day.offsets.length === 1) return [wall - day.offsets[0] * MINUTE_MS];
  const iana = ianaZone(day.zone);
  return day.offsets
    .filter((offset) => iana.offset(wall - offset * MINUTE_MS) === offset)
    .map((offset) => wall - offset * MINUTE_MS)
    .sort((a, b) => a - b);
}

/**
 * The first instant of local time `minuteOfDay` on the date; a time skipped by a DST gap moves forward by the
 * length of the gap (02:30 on a 02:00→03:00 night is 03:30), as clocks and calendars do.
 */
export function firstInstantAt(day: ZonedDate, minuteOfDay: number): number {
  const [first] = instantsAt(day, minuteOfDay);
  return first ?? utcMidnightOf(day.date) + minuteOfDay * MINUTE_MS - Math.min(...day.offsets) * MINUTE_MS;
}

/** ISO-8601 of instant `ms` written with the zone's offset at that moment, e.g. "2026-11-24T09:00:00.000-05:00". */
export function formatInstant(ms: number, day: ZonedDate): string {
  const offset = day.offsets.length === 1 ? day.offsets[0] : ianaZone(day.zone).offset(ms);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${new Date(ms + offset * MINUTE_MS).toISOString().slice(0, 23)}${sign}${hhmm}`;
}

/** An instant written in the owner's zone, the one format remediations store: "2026-11-24T09:00:00.000-05:00". */
export function isoInZone(ms: number, zone: string): string {
  return formatInstant(ms, zonedDate(localDateOf(ms, zone), zone));
}
