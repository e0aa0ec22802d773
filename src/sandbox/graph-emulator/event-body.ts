/**
 * Reading an event from a create or update body, with Graph's validation: known properties only (OData's
 * RequestBodyRead for unknown ones), dateTimeTimeZone start/end in a supported zone, end not before start, all-day
 * events on midnight boundaries, showAs / sensitivity / importance enums, single-value extended properties.
 */
import { DateTime } from 'luxon';
import { invalidRequest, requestBodyRead } from './graph-errors';
import { parseDateTimeTimeZone, requireZone } from './graph-time';
import type { FreeBusyStatus } from './types';

export interface EventFields {
  subject?: string;
  body?: { contentType: 'text' | 'html'; content: string };
  start?: { ms: number; zone: string };
  end?: { ms: number; zone: string };
  isAllDay?: boolean;
  showAs?: FreeBusyStatus;
  sensitivity?: 'normal' | 'personal' | 'private' | 'confidential';
  importance?: 'low' | 'normal' | 'high';
  categories?: string[];
  isReminderOn?: boolean;
  reminderMinutesBeforeStart?: number;
  transactionId?: string;
  extendedProperties?: Array<{ id: string; value: string }>;
  /** Only the owner (Outlook) can set this here: a meeting its organizer cancelled. */
  isCancelled?: boolean;
}

const WRITABLE = new Set([
  'subject', 'body', 'start', 'end', 'isAllDay', 'showAs', 'sensitivity', 'importance', 'categories', 'isReminderOn',
  'reminderMinutesBeforeStart', 'transactionId', 'singleValueExtendedProperties', 'location', 'locations', 'attendees',
  'allowNewTimeProposals', 'isOnlineMeeting', 'responseRequested', 'hideAttendees',
]);
/** Read-only properties a client may send back unchanged; Graph ignores them. */
const IGNORED = new Set(['@odata.type', '@odata.etag', '@odata.context', 'id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'iCalUId', 'webLink', 'isOrganizer', 'bodyPreview', 'originalStartTimeZone', 'originalEndTimeZone', 'type', 'organizer', 'responseStatus', 'isDraft', 'hasAttachments', 'seriesMasterId', 'onlineMeetingUrl', 'onlineMeeting', 'onlineMeetingProvider', 'recurrence']);
const SHOW_AS = new Set<FreeBusyStatus>(['free', 'tentative', 'busy', 'oof', 'workingElsewhere', 'unknown']);
const SENSITIVITY = new Set(['normal', 'personal', 'private', 'confidential']);
const IMPORTANCE = new Set(['low', 'normal', 'high']);
/** `String {GUID} Name x`, `String 0x0037` and the other single-value property id forms Graph documents. */
const EXTENDED_ID = /^(String|Integer|Boolean|SystemTime|Binary|Double|Currency|Long|Short)\s+(\{[0-9a-f-]{36}\}\s+(Name\s+\S.*|Id\s+0x[0-9a-f]+)|0x[0-9a-f]{4})$/i;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function enumValue<T extends string>(value: unknown, allowed: Set<T>, property: string): T {
  if (typeof value !== 'string' || !allowed.has(value as T)) throw requestBodyRead(`Requested value '${String(value)}' was not found for property '${property}'.`);
  return value as T;
}

export function parseEventBody(body: unknown, mode: 'create' | 'update'): EventFields {
  if (!isObject(body)) throw requestBodyRead('Empty Payload. JSON content expected.');
  for (const key of Object.keys(body)) {
    if (!WRITABLE.has(key) && !IGNORED.has(key) && !key.includes('@odata.')) {
      throw requestBodyRead(`The property '${key}' does not exist on type 'microsoft.graph.event'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    }
  }
  const fields: EventFields = {};
  if (body.subject !== undefined) fields.subject = String(body.subject ?? '');
  if (body.body !== undefined) {
    if (!isObject(body.body)) throw requestBodyRead("Cannot read the value of property 'body'.");
    const contentType = body.body.contentType === undefined ? 'text' : enumValue(String(body.body.contentType).toLowerCase(), new Set(['text', 'html'] as const), 'contentType');
    fields.body = { contentType, content: String(body.body.content ?? '') };
  }
  for (const side of ['start', 'end'] as const) {
    const value = body[side];
    if (value === undefined) continue;
    const ms = parseDateTimeTimeZone(value, side);
    const zoneName = isObject(value) && typeof value.timeZone === 'string' && value.timeZone !== '' ? value.timeZone : 'UTC';
    requireZone(zoneName);
    fields[side] = { ms, zone: zoneName };
  }
  if (body.isAllDay !== undefined) fields.isAllDay = body.isAllDay === true;
  if (body.showAs !== undefined) fields.showAs = enumValue(body.showAs, SHOW_AS, 'showAs');
  if (body.sensitivity !== undefined) fields.sensitivity = enumValue(body.sensitivity, SENSITIVITY as Set<'normal'>, 'sensitivity');
  if (body.importance !== undefined) fields.importance = enumValue(body.importance, IMPORTANCE as Set<'normal'>, 'importance');
  if (body.categories !== undefined) {
    if (!Array.isArray(body.categories)) throw requestBodyRead("Cannot read the value of property 'categories'.");
    fields.categories = body.categories.map(String);
  }
  if (body.isReminderOn !== undefined) fields.isReminderOn = body.isReminderOn === true;
  if (body.reminderMinutesBeforeStart !== undefined) fields.reminderMinutesBeforeStart = Number(body.reminderMinutesBeforeStart);
  if (body.transactionId !== undefined && body.transactionId !== null) {
    if (mode === 'update') throw invalidRequest('The property transactionId can only be set when the event is created.');
    fields.transactionId = String(body.transactionId);
  }
  if (body.singleValueExtendedProperties !== undefined) {
    if (!Array.isArray(body.singleValueExtendedProperties)) throw requestBodyRead("Cannot read the value of property 'singleValueExtendedProperties'.");
    fields.extendedProperties = body.singleValueExtendedProperties.map((p) => {
      if (!isObject(p) || typeof p.id !== 'string' || !EXTENDED_ID.test(p.id.trim())) {
        throw invalidRequest(`The extended property id '${isObject(p) ? String(p.id) : ''}' is not valid.`);
      }
      if (p.value === undefined || p.value === null) throw invalidRequest('The extended property value is required.');
      return { id: p.id.trim(), value: String(p.value) };
    });
  }
  return fields;
}

/** Checks a whole event's times (after a create, or a patch merged onto the stored event). */
export function checkTimes(startMs: number, endMs: number, isAllDay: boolean, startZone: string): void {
  if (endMs < startMs) throw invalidRequest('The end time of the event must be later than or equal to its start time.');
  if (isAllDay) {
    const zone = requireZone(startZone);
    const midnight = (ms: number) => {
      const dt = DateTime.fromMillis(ms, { zone });
      return dt.hour === 0 && dt.minute === 0 && dt.second === 0 && dt.millisecond === 0;
    };
    if (!midnight(startMs) || !midnight(endMs) || endMs === startMs) {
      throw invalidRequest('Your request can\'t be completed. If an event is all day, the start and end times must be midnight and the end must be at least one day after the start.');
    }
  }
}
