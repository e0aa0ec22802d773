import { DateTime } from 'luxon';

/** RFC 3339 date-time WITH an offset (or Z), as Google requires for timeMin/timeMax. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Epoch ms of an RFC 3339 timestamp with offset, or null when malformed or offset-less. */
export function parseRfc3339(value: unknown): number | null {
  if (typeof value !== 'string' || !RFC3339.test(value)) return null;
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? null : ms;
}

/** Epoch ms of a local date-time (no offset) in a time zone, or null. */
export function parseLocalInZone(value: string, zone: string): number | null {
  const dt = DateTime.fromISO(value, { zone });
  return dt.isValid ? dt.toMillis() : null;
}

export function isDate(value: unknown): value is string {
  return typeof value === 'string' && DATE.test(value) && DateTime.fromISO(value).isValid;
}

/** Start of an all-day date in a time zone (epoch ms). */
export function startOfDate(date: string, zone: string): number {
  return DateTime.fromISO(date, { zone }).startOf('day').toMillis();
}

export function isValidZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

/** "2026-11-24T14:00:00Z": how Google writes free/busy intervals. */
export function formatUtcSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "2026-11-24T14:00:00.000Z": how Google writes `updated`, `created` and echoed time ranges. */
export function formatUtcMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** "2026-12-01T10:00:00+01:00" (or "...Z" at offset zero): how Google writes event times in a time zone. */
export function formatInZone(ms: number, zone: string): string {
  const iso = DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true }) ?? formatUtcSeconds(ms);
  return iso.replace(/\+00:00$/, 'Z');
}

/** "Tue, 24 Nov 2026 10:00:00 GMT" (push notification expiration header). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
