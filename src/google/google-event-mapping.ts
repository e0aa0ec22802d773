import type { calendar_v3 } from '@googleapis/calendar';
import { OWNED_BY_PROPERTY } from '../domain/event-id';
import type { CalendarEvent, EventPatch, EventTiming, NewWindowEvent } from '../ports/calendar';

/**
 * Google's event resource ↔ the port's CalendarEvent. Our marker is a private extended property
 * (OWNED_BY_PROPERTY = the remediation id, plus the booking number); the event id is the client-chosen key; times are
 * `{dateTime}` (timed) or `{date}` (all-day).
 */

/** The private extended properties that mark a window event as ours. */
export function markerOf(event: Pick<NewWindowEvent, 'remediationId' | 'bookingNumber'>): Record<string, string> {
  return { [OWNED_BY_PROPERTY]: event.remediationId, bookingNumber: String(event.bookingNumber) };
}

/** events.insert's body: the key as the client-chosen id, busy (Google's default), no attendees, default reminders. */
export function insertBody(event: NewWindowEvent): calendar_v3.Schema$Event {
  return {
    id: event.key,
    start: { dateTime: event.start, timeZone: event.timeZone },
    end: { dateTime: event.end, timeZone: event.timeZone },
    summary: event.title,
    description: event.description,
    extendedProperties: { private: markerOf(event) },
    reminders: { useDefault: true },
  };
}

/** events.patch's body: only what the patch names (the marker is left as it is). */
export function patchBody(patch: EventPatch): calendar_v3.Schema$Event {
  const body: calendar_v3.Schema$Event = {};
  if (patch.start !== undefined) body.start = { dateTime: patch.start, timeZone: patch.timeZone };
  if (patch.end !== undefined) body.end = { dateTime: patch.end, timeZone: patch.timeZone };
  if (patch.title !== undefined) body.summary = patch.title;
  if (patch.description !== undefined) body.description = patch.description;
  return body;
}

export function toCalendarEvent(event: calendar_v3.Schema$Event): CalendarEvent {
  const remediationId = event.extendedProperties?.private?.[OWNED_BY_PROPERTY];
  return {
    id: event.id ?? '',
    // Google lists a deleted event with status "cancelled" (often with its id and status only).
    cancelled: event.status === 'cancelled',
    timing: timingOf(event.start, event.end),
    ...(remediationId !== undefined && remediationId !== null ? { remediationId } : {}),
    ...(event.summary !== undefined && event.summary !== null ? { title: event.summary } : {}),
    ...(event.description !== undefined && event.description !== null ? { description: event.description } : {}),
  };
}

/**
 * `{dateTime}` on both ends: timed. A start with a `date` and no `dateTime`: all-day (an end without a date is taken
 * as the start's date: only the kind matters to the rules). Anything else cannot be read.
 */
export function timingOf(
  start: calendar_v3.Schema$EventDateTime | undefined,
  end: calendar_v3.Schema$EventDateTime | undefined,
): EventTiming {
  if (start?.dateTime && end?.dateTime) return { kind: 'timed', start: start.dateTime, end: end.dateTime };
  if (!start?.dateTime && start?.date) return { kind: 'all_day', startDate: start.date, endDate: end?.date ?? start.date };
  return { kind: 'unreadable' };
}
