/**
 * freeBusy.query: busy intervals of many calendars at once. Calendars that cannot be read are reported inside the
 * 200 answer, with errors and no busy time, exactly like Google.
 */
import { eventInterval } from './event-resource';
import { apiError, invalid, required, timeRangeEmpty } from './google-errors';
import { timeParam } from './query-params';
import { formatUtcMillis, formatUtcSeconds } from './time';
import type { UserCalendar, UserDirectory } from './user-directory';

export interface FreeBusyCalendar {
  errors?: Array<{ domain: 'global'; reason: string }>;
  busy: Array<{ start: string; end: string }>;
}

export interface FreeBusyResponse {
  kind: 'calendar#freeBusy';
  timeMin: string;
  timeMax: string;
  calendars: Record<string, FreeBusyCalendar>;
}

const MAX_CALENDARS = 50;
const MAX_RANGE_MS = 90 * 24 * 3600 * 1000;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseRequest(body: unknown): { timeMin: number; timeMax: number; ids: string[] } {
  const req = isObject(body) ? body : {};
  if (req.timeMin === undefined) throw required('Missing timeMin.');
  if (req.timeMax === undefined) throw required('Missing timeMax.');
  const timeMin = timeParam(req.timeMin) as number;
  const timeMax = timeParam(req.timeMax) as number;
  if (timeMax <= timeMin) throw timeRangeEmpty();
  if (timeMax - timeMin > MAX_RANGE_MS) throw apiError(400, 'timeRangeTooLong', 'The requested time range is too long.');
  const items = req.items ?? [];
  if (!Array.isArray(items) || !items.every((i) => isObject(i) && typeof i.id === 'string')) throw invalid('Invalid value for: items');
  if (items.length > MAX_CALENDARS) throw apiError(400, 'tooManyCalendarsRequested', 'The number of calendars requested is too large.');
  return { timeMin, timeMax, ids: items.map((i) => (i as { id: string }).id) };
}

/** Busy = confirmed/tentative, opaque events overlapping the range; clipped, merged and sorted. */
export function busyIntervals(calendar: UserCalendar, timeMin: number, timeMax: number): Array<{ start: string; end: string }> {
  const intervals = calendar.events
    .all()
    .map((e) => e.resource)
    .filter((e) => e.status !== 'cancelled' && e.transparency !== 'transparent' && e.eventType !== 'workingLocation')
    .map((e) => eventInterval(e, calendar.timeZone))
    .filter(({ startMs, endMs }) => startMs < timeMax && endMs > timeMin)
    .map(({ startMs, endMs }) => [Math.max(startMs, timeMin), Math.min(endMs, timeMax)] as const)
    .sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of intervals) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged.map(([start, end]) => ({ start: formatUtcSeconds(start), end: formatUtcSeconds(end) }));
}

export function queryFreeBusy(body: unknown, requester: UserCalendar, directory: UserDirectory): FreeBusyResponse {
  const { timeMin, timeMax, ids } = parseRequest(body);
  const calendars: Record<string, FreeBusyCalendar> = {};
  for (const id of ids) {
    const calendar = id === 'primary' ? requester : directory.resolve(id);
    // A calendar whose free/busy is not shared with the requester looks like no calendar at all.
    const hidden = calendar !== undefined && calendar !== requester && !calendar.sharesFreeBusy;
    const error = calendar && !hidden ? calendar.calendarError : 'notFound';
    calendars[id] =
      error || !calendar ? { errors: [{ domain: 'global', reason: error ?? 'notFound' }], busy: [] } : { busy: busyIntervals(calendar, timeMin, timeMax) };
  }
  return { kind: 'calendar#freeBusy', timeMin: formatUtcMillis(timeMin), timeMax: formatUtcMillis(timeMax), calendars };
}
