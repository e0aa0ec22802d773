/**
 * Graph's date-time vocabulary: `dateTimeTimeZone` objects (a local "2026-12-01T09:00:00.0000000" plus a Windows or
 * IANA zone name), UTC stamps with seven fractional digits, and the zone names Graph accepts.
 */
import { DateTime } from 'luxon';
import { isIanaZone, windowsToIana } from '../../microsoft/windows-zones';
import { invalidRequest, timeZoneNotSupported } from './graph-errors';
import type { DateTimeTimeZone } from './types';

/** The IANA zone for a zone name Graph accepts (Windows name, IANA name, "UTC"), or undefined. */
export function zoneOf(name: string): string | undefined {
  if (/^utc$/i.test(name.trim())) return 'UTC';
  return windowsToIana(name) ?? (isIanaZone(name.trim()) ? name.trim() : undefined);
}

/** Like zoneOf, but Graph's 400 TimeZoneNotSupportedException for a name it does not know. */
export function requireZone(name: string): string {
  const zone = zoneOf(name);
  if (!zone) throw timeZoneNotSupported(name);
  return zone;
}

const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch ms of a dateTimeTimeZone (an offset in dateTime wins over timeZone, as in Exchange). */
export function parseDateTimeTimeZone(value: unknown, field: string): number {
  if (typeof value !== 'object' || value === null) throw invalidRequest(`${field} is required.`);
  const { dateTime, timeZone } = value as Partial<DateTimeTimeZone>;
  if (typeof dateTime !== 'string' || !(LOCAL.test(dateTime) || WITH_OFFSET.test(dateTime))) {
    throw invalidRequest(`Cannot convert the literal '${String(dateTime)}' to the expected type 'Edm.DateTimeOffset'.`);
  }
  const trimmed = dateTime.replace(/(\.\d{3})\d+/, '$1');
  if (WITH_OFFSET.test(dateTime)) return DateTime.fromISO(trimmed, { setZone: true }).toMillis();
  const zone = requireZone(typeof timeZone === 'string' && timeZone !== '' ? timeZone : 'UTC');
  const dt = DateTime.fromISO(trimmed, { zone });
  if (!dt.isValid) throw invalidRequest(`Cannot convert the literal '${dateTime}' to the expected type 'Edm.DateTimeOffset'.`);
  return dt.toMillis();
}

/** "2026-12-01T09:00:00.0000000" in the zone, with the zone name echoed as the client gave it. */
export function toDateTimeTimeZone(ms: number, zoneName: string): DateTimeTimeZone {
  const zone = zoneOf(zoneName) ?? 'UTC';
  const local = DateTime.fromMillis(ms, { zone });
  return { dateTime: `${local.toFormat("yyyy-MM-dd'T'HH:mm:ss")}.${String(local.millisecond).padStart(3, '0')}0000`, timeZone: zoneName };
}

/** "2026-12-03T06:10:00.1234567Z": how Graph writes createdDateTime, lastModifiedDateTime, expirations. */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '0000Z');
}

/** An ISO 8601 query value (startDateTime=2026-12-01T00:00:00Z, or local = UTC as Graph reads it), or undefined. */
export function parseQueryTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.replace(/(\.\d{3})\d+/, '$1');
  const dt = WITH_OFFSET.test(value) ? DateTime.fromISO(trimmed, { setZone: true }) : LOCAL.test(value) ? DateTime.fromISO(trimmed, { zone: 'UTC' }) : null;
  if (!dt?.isValid) throw invalidRequest(`The parameter value '${value}' is not a valid DateTime.`);
  return dt.toMillis();
}
