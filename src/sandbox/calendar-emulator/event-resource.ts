/**
 * The event resource: what a client may write, how Google validates and normalizes it, patch/update semantics.
 * Pure functions; the event store adds identity, etags and change tracking.
 */
import { randomBytes } from 'node:crypto';
import { invalid, required, timeRangeEmpty } from './google-errors';
import { formatInZone, isDate, isValidZone, parseLocalInZone, parseRfc3339, startOfDate } from './time';
import type { EventAttendee, EventDateTime, GoogleEventResource } from './types';

/** The fields a client (or the owner in the UI) may set. */
export interface EventFields {
  status?: GoogleEventResource['status'];
  summary?: string;
  description?: string;
  location?: string;
  start?: EventDateTime;
  end?: EventDateTime;
  transparency?: 'opaque' | 'transparent';
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  attendees?: EventAttendee[];
  eventType?: GoogleEventResource['eventType'];
  reminders?: { useDefault: boolean };
}

type Nullable<T> = { [K in keyof T]?: T[K] | null };

/** extendedProperties as a request carries them: a null value removes that key in a patch. */
export interface PropertiesPatch {
  private?: Record<string, string | null>;
  shared?: Record<string, string | null>;
}

/** A request body: the writable fields, possibly null (a patch clears those), and a client-chosen id. */
export interface EventBody extends Nullable<Omit<EventFields, 'extendedProperties'>> {
  id?: string;
  extendedProperties?: PropertiesPatch | null;
}

const EVENT_ID = /^[a-v0-9]{5,1024}$/;
const STATUSES = new Set(['confirmed', 'tentative', 'cancelled']);
const EVENT_TYPES = new Set(['default', 'outOfOffice', 'focusTime', 'workingLocation']);

export function isValidEventId(id: string): boolean {
  return EVENT_ID.test(id);
}

/** A server-generated id: 26 base32hex characters, like Google's. */
export function generateEventId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  return Array.from(randomBytes(26), (b) => alphabet[b & 31]).join('');
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(body: Json, key: string): string | null | undefined {
  const v = body[key];
  if (v === undefined || v === null || typeof v === 'string') return v;
  throw invalid(`Invalid value for: ${key}`);
}

function oneOf<T extends string>(body: Json, key: string, allowed: Set<string>): T | null | undefined {
  const v = optionalString(body, key);
  if (typeof v === 'string' && !allowed.has(v)) throw invalid(`Invalid value for: ${key}`);
  return v as T | null | undefined;
}

function dateTimeBody(body: Json, key: 'start' | 'end'): EventDateTime | null | undefined {
  const v = body[key];
  if (v === undefined || v === null) return v;
  if (!isObject(v)) throw invalid(`Invalid value for: ${key}`);
  const out: EventDateTime = {};
  for (const field of ['dateTime', 'date', 'timeZone'] as const) {
    const f = v[field];
    if (typeof f === 'string') out[field] = f;
    else if (f !== undefined && f !== null) throw invalid(`Invalid value for: ${key}.${field}`);
  }
  return out;
}

function stringMap(v: unknown, key: string): Record<string, string | null> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalid(`Invalid value for: ${key}`);
  for (const [k, value] of Object.entries(v)) {
    if (value !== null && typeof value !== 'string') throw invalid(`Invalid value for: ${key}.${k}`);
  }
  return v as Record<string, string | null>;
}

/** Validates the shape of a JSON event body (types only; times are checked by normalizeTimes). */
export function parseEventBody(raw: unknown): EventBody {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw invalid('Invalid value for: event');
  const body: EventBody = {};
  const id = optionalString(raw, 'id');
  if (typeof id === 'string') body.id = id;
  for (const key of ['summary', 'description', 'location'] as const) {
    const v = optionalString(raw, key);
    if (v !== undefined) body[key] = v;
  }
  const status = oneOf<NonNullable<EventFields['status']>>(raw, 'status', STATUSES);
  if (status !== undefined) body.status = status;
  const transparency = oneOf<'opaque' | 'transparent'>(raw, 'transparency', new Set(['opaque', 'transparent']));
  if (transparency !== undefined) body.transparency = transparency;
  const eventType = oneOf<NonNullable<EventFields['eventType']>>(raw, 'eventType', EVENT_TYPES);
  if (eventType !== undefined) body.eventType = eventType;
  for (const key of ['start', 'end'] as const) {
    const v = dateTimeBody(raw, key);
    if (v !== undefined) body[key] = v;
  }
  const ext = raw.extendedProperties;
  if (ext === null) body.extendedProperties = null;
  else if (ext !== undefined) {
    if (!isObject(ext)) throw invalid('Invalid value for: extendedProperties');
    const props: PropertiesPatch = {};
    const priv = stringMap(ext.private, 'extendedProperties.private');
    const shared = stringMap(ext.shared, 'extendedProperties.shared');
    if (priv) props.private = priv;
    if (shared) props.shared = shared;
    body.extendedProperties = props;
  }
  if (raw.attendees === null) body.attendees = null;
  else if (raw.attendees !== undefined) {
    if (!Array.isArray(raw.attendees) || !raw.attendees.every((a) => isObject(a) && typeof a.email === 'string')) {
      throw invalid('Invalid value for: attendees');
    }
    body.attendees = raw.attendees as EventAttendee[];
  }
  if (isObject(raw.reminders) && typeof raw.reminders.useDefault === 'boolean') body.reminders = { useDefault: raw.reminders.useDefault };
  return body;
}

function withoutNulls<T extends object>(body: Nullable<T>): T {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null && v !== undefined)) as T;
}

/** The fields of a full replacement (insert, update). */
export function fieldsOf(body: EventBody): EventFields {
  const { id: _id, extendedProperties, ...rest } = body;
  const fields = withoutNulls<EventFields>(rest);
  const props = extendedProperties ? mergeProperties(undefined, extendedProperties) : undefined;
  if (props) fields.extendedProperties = props;
  return fields;
}

function mergeMap(current: Record<string, string> | undefined, patch: Record<string, string | null> | undefined): Record<string, string> | undefined {
  if (!patch) return current && { ...current };
  const merged: Record<string, string> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  return merged;
}

/** extendedProperties.private/shared are merged key by key (a null value removes the key), like Google's patch. */
function mergeProperties(current: EventFields['extendedProperties'], patch: PropertiesPatch): EventFields['extendedProperties'] {
  const priv = mergeMap(current?.private, patch?.private);
  const shared = mergeMap(current?.shared, patch?.shared);
  const out: NonNullable<EventFields['extendedProperties']> = {};
  if (priv && Object.keys(priv).length) out.private = priv;
  if (shared && Object.keys(shared).length) out.shared = shared;
  return out.private || out.shared ? out : undefined;
}

/** start/end objects merge field-wise, but a new `date` drops the old `dateTime` and vice versa. */
function mergeTime(current: EventDateTime | undefined, patch: EventDateTime): EventDateTime {
  const merged: EventDateTime = { ...current, ...patch };
  if (patch.date !== undefined && patch.dateTime === undefined) delete merged.dateTime;
  if (patch.dateTime !== undefined && patch.date === undefined) delete merged.date;
  return merged;
}

/** Patch semantics: given fields replace, null clears, objects merge (see mergeTime, mergeProperties). */
export function mergePatch(current: EventFields, patch: EventBody): EventFields {
  const { id: _id, ...fields } = patch;
  const next: EventFields = { ...current };
  for (const [key, value] of Object.entries(fields) as Array<[keyof EventFields, unknown]>) {
    if (value === undefined) continue;
    if (value === null) delete next[key];
    else if (key === 'start' || key === 'end') next[key] = mergeTime(current[key], value as EventDateTime);
    else if (key === 'extendedProperties') {
      const merged = mergeProperties(current.extendedProperties, value as PropertiesPatch);
      if (merged) next.extendedProperties = merged;
      else delete next.extendedProperties;
    } else Object.assign(next, { [key]: value });
  }
  return next;
}

export interface NormalizedTimes {
  start: EventDateTime;
  end: EventDateTime;
  startMs: number;
  endMs: number;
}

function normalizeTime(time: EventDateTime | undefined, which: 'start' | 'end', calendarZone: string): { value: EventDateTime; ms: number; allDay: boolean } {
  if (!time || (time.date === undefined && time.dateTime === undefined)) throw required(`Missing ${which} time.`);
  if (time.timeZone !== undefined && !isValidZone(time.timeZone)) throw invalid(`Invalid time zone definition for ${which} time.`);
  if (time.date !== undefined && time.dateTime !== undefined) throw invalid(`Invalid ${which} time.`);
  if (time.date !== undefined) {
    if (!isDate(time.date)) throw invalid(`Invalid ${which} time.`);
    const value: EventDateTime = { date: time.date };
    if (time.timeZone) value.timeZone = time.timeZone;
    return { value, ms: startOfDate(time.date, time.timeZone ?? calendarZone), allDay: true };
  }
  const raw = time.dateTime as string;
  let ms = parseRfc3339(raw);
  if (ms === null && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(raw)) {
    if (!time.timeZone) throw required(`Missing time zone definition for ${which} time.`);
    ms = parseLocalInZone(raw, time.timeZone);
  }
  if (ms === null) throw invalid(`Invalid ${which} time.`);
  const value: EventDateTime = { dateTime: formatInZone(ms, time.timeZone ?? calendarZone) };
  if (time.timeZone) value.timeZone = time.timeZone;
  return { value, ms, allDay: false };
}

/** Validates start/end like Google (required, same kind, end after start) and writes them Google's way. */
export function normalizeTimes(fields: EventFields, calendarZone: string): NormalizedTimes {
  const start = normalizeTime(fields.start, 'start', calendarZone);
  const end = normalizeTime(fields.end, 'end', calendarZone);
  if (start.allDay !== end.allDay) throw invalid('Start and end times must either both be date or both be dateTime.');
  if (end.ms <= start.ms) throw timeRangeEmpty();
  return { start: start.value, end: end.value, startMs: start.ms, endMs: end.ms };
}

/** Start and end of a stored event in epoch ms (all-day events span whole days in the calendar's zone). */
export function eventInterval(event: Pick<GoogleEventResource, 'start' | 'end'>, calendarZone: string): { startMs: number; endMs: number } {
  const at = (t: EventDateTime) =>
    t.date !== undefined ? startOfDate(t.date, t.timeZone ?? calendarZone) : (parseRfc3339(t.dateTime) ?? Number.NaN);
  return { startMs: at(event.start), endMs: at(event.end) };
}

export function sameTimes(a: Pick<EventFields, 'start' | 'end'>, b: Pick<EventFields, 'start' | 'end'>): boolean {
  return JSON.stringify([a.start, a.end]) === JSON.stringify([b.start, b.end]);
}
