/**
 * POST /users/{id}/calendar/getSchedule: free/busy of up to 20 mailboxes (configurable). Per mailbox: the
 * availabilityView digits (0 free, 1 tentative, 2 busy, 3 oof, 4 workingElsewhere; the strongest status in each
 * interval), scheduleItems (events not shown as free, overlapping the window), workingHours; an unknown address
 * gets only `scheduleId` and `error` (as Graph answers: microsoft-graph-docs issue #11225), the request still 200.
 */
import { invalidParameter, requestBodyRead, tooManySchedules } from './graph-errors';
import { parseDateTimeTimeZone, toDateTimeTimeZone } from './graph-time';
import type { MailboxDirectory } from './mailbox-directory';
import type { FreeBusyStatus } from './types';

const DIGIT: Record<FreeBusyStatus, number> = { free: 0, tentative: 1, busy: 2, oof: 3, workingElsewhere: 4, unknown: 0 };
/** Which status wins when several events share an interval (Exchange's order). */
const STRENGTH: Record<FreeBusyStatus, number> = { free: 0, unknown: 0, workingElsewhere: 1, tentative: 2, busy: 3, oof: 4 };
const MAX_WINDOW_MS = 62 * 86_400_000;

export interface ScheduleOptions {
  maxSchedules: number;
  /** `Prefer: outlook.timezone` (default UTC). */
  timeZone?: string;
  /** Mailboxes whose free/busy fails inside the answer (test helper), by address. */
  scheduleErrors: Map<string, { message: string; responseCode: string }>;
}

export function getSchedule(body: unknown, directory: MailboxDirectory, opts: ScheduleOptions): object {
  if (typeof body !== 'object' || body === null) throw requestBodyRead('Empty Payload. JSON content expected.');
  const { schedules, startTime, endTime, availabilityViewInterval } = body as Record<string, unknown>;
  if (!Array.isArray(schedules) || schedules.length === 0) throw invalidParameter('Schedules is required and must contain at least one entry.');
  if (schedules.length > opts.maxSchedules) throw tooManySchedules(schedules.length, opts.maxSchedules);
  const start = parseDateTimeTimeZone(startTime, 'startTime');
  const end = parseDateTimeTimeZone(endTime, 'endTime');
  if (end <= start) throw invalidParameter('The end time must be later than the start time.');
  if (end - start >= MAX_WINDOW_MS) throw invalidParameter('The requested time window must be shorter than 62 days.');
  const interval = availabilityViewInterval === undefined ? 30 : Number(availabilityViewInterval);
  if (!Number.isInteger(interval) || interval < 5 || interval > 1440) {
    throw invalidParameter('AvailabilityViewInterval must be between 5 and 1440 minutes.');
  }
  const zone = opts.timeZone ?? 'UTC';
  const slotMs = interval * 60_000;
  const slots = Math.ceil((end - start) / slotMs);

  const value = schedules.map((raw) => {
    const scheduleId = String(raw);
    const mailbox = directory.get(scheduleId);
    // VERIFY what getSchedule answers for a user without a mailbox; treated here like an unknown address.
    if (!mailbox || !mailbox.mailboxEnabled) {
      return { scheduleId, error: { message: `Unable to resolve e-mail address ${scheduleId} to an Active Directory object.`, responseCode: '5009' } };
    }
    const failure = opts.scheduleErrors.get(mailbox.address);
    if (failure) return { scheduleId, error: { ...failure } };
    const items = mailbox.events
      .live()
      .filter((e) => e.showAs !== 'free' && !e.isCancelled && e.startMs < end && e.endMs > start && e.endMs > e.startMs)
      .sort((a, b) => a.startMs - b.startMs);
    const view = Array.from({ length: slots }, (_, i) => {
      const from = start + i * slotMs;
      const to = Math.min(from + slotMs, end);
      let strongest: FreeBusyStatus = 'free';
      for (const e of items) if (e.startMs < to && e.endMs > from && STRENGTH[e.showAs] > STRENGTH[strongest]) strongest = e.showAs;
      return String(DIGIT[strongest]);
    }).join('');
    return {
      scheduleId,
      availabilityView: view,
      scheduleItems: items.map((e) => ({
        isPrivate: e.sensitivity === 'private',
        status: e.showAs,
        subject: e.sensitivity === 'private' ? '' : e.subject,
        location: '',
        isMeeting: false,
        isRecurring: false,
        isException: false,
        isReminderSet: e.isReminderOn,
        start: toDateTimeTimeZone(e.startMs, zone),
        end: toDateTimeTimeZone(e.endMs, zone),
      })),
      workingHours: structuredClone(mailbox.workingHours),
    };
  });
  return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)', value };
}
