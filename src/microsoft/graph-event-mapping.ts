import { DateTime } from 'luxon';
import { OWNED_BY_PROPERTY } from '../domain/event-id';
import type { CalendarEvent, EventPatch, NewWindowEvent } from '../ports/calendar';
import { isIanaZone, windowsToIana, WINDOWS_TO_IANA } from './windows-zones';

/**
 * Our events in Graph's shapes, and Graph's events in the port's: the marker (single-value extended properties),
 * the idempotency key (`transactionId`), `dateTimeTimeZone` times, `isAllDay`, `@removed`.
 */

/** Our property set: a GUID of our own, fixed forever (the marker's id must never change once events carry it). */
const PROPERTY_SET = '{6b1d0f9e-3c2a-4e57-8f14-9a7d5c3e2b60}';
/** The marker: its value is the remediation id. */
export const REMEDIATION_PROPERTY = `String ${PROPERTY_SET} Name ${OWNED_BY_PROPERTY}`;
/** The idempotency key of the create (what a lost answer is found again by). */
export const KEY_PROPERTY = `String ${PROPERTY_SET} Name maintenanceWindowsKey`;

/**
 * The create's `transactionId`: Graph answers a repeated create with the same transactionId with the first event
 * instead of a second one. It carries the remediation id and booking number readably, so that a delta listing
 * (which cannot $expand extended properties) still tells our events from the owner's.
 */
export function transactionIdFor(remediationId: string, bookingNumber: number): string {
  return `mw:${remediationId}:${bookingNumber}`;
}

/** The remediation id in a transactionId we set, if it is one of ours. */
export function remediationOfTransaction(transactionId: unknown): string | undefined {
  if (typeof transactionId !== 'string') return undefined;
  return /^mw:([A-Za-z0-9_-]{1,64}):\d+$/.exec(transactionId)?.[1];
}

export interface GraphDateTime {
  dateTime: string;
  timeZone: string;
}

/** An event as Graph answers it (the fields we read). */
export interface GraphEventJson {
  id: string;
  '@removed'?: { reason?: string };
  subject?: string | null;
  body?: { contentType?: string; content?: string } | null;
  start?: GraphDateTime | null;
  end?: GraphDateTime | null;
  isAllDay?: boolean;
  isCancelled?: boolean;
  transactionId?: string | null;
  singleValueExtendedProperties?: Array<{ id: string; value: string }>;
}

/** IANA → a Windows name Exchange stores natively (the first Windows zone mapped to it), if any. */
const WINDOWS_BY_IANA = new Map<string, string>();
for (const [windows, iana] of Object.entries(WINDOWS_TO_IANA)) if (!WINDOWS_BY_IANA.has(iana)) WINDOWS_BY_IANA.set(iana, windows);

/**
 * An instant as Graph's dateTimeTimeZone in the owner's zone: the Windows name when the zone has one (what Exchange
 * stores, and what Outlook shows as the event's zone), otherwise UTC (the same instant; Outlook shows it in the
 * viewer's zone either way).
 */
export function toGraphDateTime(instant: string, ianaZone: string): GraphDateTime {
  const windows = WINDOWS_BY_IANA.get(ianaZone);
  const at = DateTime.fromISO(instant, { setZone: true });
  if (windows && isIanaZone(ianaZone)) return { dateTime: at.setZone(ianaZone).toFormat("yyyy-MM-dd'T'HH:mm:ss"), timeZone: windows };
  return { dateTime: at.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss"), timeZone: 'UTC' };
}

/** Graph's dateTimeTimeZone (UTC with our Prefer header; any Windows or IANA zone read too) as an ISO instant. */
export function fromGraphDateTime(value: GraphDateTime | null | undefined): string | null {
  if (!value?.dateTime) return null;
  const name = value.timeZone?.trim() || 'UTC';
  const zone = name.toUpperCase() === 'UTC' ? 'UTC' : (windowsToIana(name) ?? (isIanaZone(name) ? name : null));
  if (!zone) return null;
  const at = DateTime.fromISO(value.dateTime.replace(/(\.\d{3})\d+$/, '$1'), { zone });
  return at.isValid ? (at.toUTC().toISO({ suppressMilliseconds: true }) as string) : null;
}

export function createBody(e: NewWindowEvent): Record<string, unknown> {
  return {
    subject: e.title,
    body: { contentType: 'text', content: e.description },
    start: toGraphDateTime(e.start, e.timeZone),
    end: toGraphDateTime(e.end, e.timeZone),
    // The window blocks the slot; no attendees, so Exchange sends no invitation (the owner is the organizer).
    showAs: 'busy',
    isReminderOn: true,
    reminderMinutesBeforeStart: 15,
    allowNewTimeProposals: false,
    attendees: [],
    transactionId: transactionIdFor(e.remediationId, e.bookingNumber),
    singleValueExtendedProperties: [
      { id: REMEDIATION_PROPERTY, value: e.remediationId },
      { id: KEY_PROPERTY, value: e.key },
    ],
  };
}

export function patchBody(p: EventPatch): Record<string, unknown> {
  const zone = p.timeZone ?? 'UTC';
  return {
    ...(p.title !== undefined ? { subject: p.title } : {}),
    ...(p.description !== undefined ? { body: { contentType: 'text', content: p.description } } : {}),
    ...(p.start !== undefined ? { start: toGraphDateTime(p.start, zone) } : {}),
    ...(p.end !== undefined ? { end: toGraphDateTime(p.end, zone) } : {}),
  };
}

export function toCalendarEvent(g: GraphEventJson): CalendarEvent {
  if (g['@removed']) return { id: g.id, cancelled: true, timing: { kind: 'unreadable' } };
  const marker = g.singleValueExtendedProperties?.find((p) => p.id.toLowerCase() === REMEDIATION_PROPERTY.toLowerCase())?.value;
  const remediationId = marker ?? remediationOfTransaction(g.transactionId);
  let timing: CalendarEvent['timing'] = { kind: 'unreadable' };
  if (g.isAllDay && g.start?.dateTime && g.end?.dateTime) {
    // All-day events are floating dates: Graph gives midnight to midnight whatever zone it renders in.
    timing = { kind: 'all_day', startDate: g.start.dateTime.slice(0, 10), endDate: g.end.dateTime.slice(0, 10) };
  } else {
    const start = fromGraphDateTime(g.start);
    const end = fromGraphDateTime(g.end);
    if (start && end) timing = { kind: 'timed', start, end };
  }
  return {
    id: g.id,
    cancelled: g.isCancelled === true,
    timing,
    ...(remediationId !== undefined ? { remediationId } : {}),
    ...(g.subject != null ? { title: g.subject } : {}),
    ...(g.body?.content != null ? { description: g.body.content } : {}),
  };
}
