/**
 * What an end-to-end test does to the calendars "as the owner" (or as the provider), whatever the provider: the same
 * scenario drives the Google Calendar emulator or the Microsoft Graph emulator through this one interface, so the
 * cross-provider suite is written once. Each provider's mechanics (Google's {dateTime,date} and private properties,
 * Graph's dateTimeTimeZone, isAllDay and single-value extended properties) stay in its half of this file.
 */
import type { CalendarEmulator } from '../../src/sandbox/calendar-emulator';
import type { GraphEmulator } from '../../src/sandbox/graph-emulator';
import { WINDOWS_TO_IANA } from '../../src/microsoft/windows-zones';

export type ProviderName = 'google' | 'microsoft';

/** One of our window events as the owner's calendar holds it. */
export interface WindowEventView {
  id: string;
  /** Epoch ms. */
  start: number;
  end: number;
  title: string;
  description: string;
}

/** A subscription (Google: a push channel) the daemon opened on an owner's calendar. */
export interface SubscriptionView {
  id: string;
  owner: string;
  address: string;
  secret: string | null;
}

export interface CalendarHarness {
  readonly provider: ProviderName;
  /** A new owner whose calendar is in `timeZone` (IANA; the Graph mailbox gets its Windows name when there is one). */
  addOwner(email: string, timeZone?: string): string;
  /** A busy meeting on the owner's calendar. */
  addBusy(email: string, startIso: string, endIso: string, title?: string): void;
  /** Our window events on the owner's calendar (not cancelled), by start. */
  windows(email: string): WindowEventView[];
  deleteAsOwner(email: string, eventId: string): void;
  moveAsOwner(email: string, eventId: string, startIso: string, endIso: string): void;
  /** The owner makes our event an all-day event on `date` (YYYY-MM-DD). */
  makeAllDayAsOwner(email: string, eventId: string, date: string): void;
  /** The owner leaves (Google: their calendar answers 404; Graph: the mailbox is gone). */
  removeOwner(email: string): void;
  /** The next `times` requests that create events fail with `status` (Retry-After when given). */
  failCreates(status: number, times: number, retryAfterSeconds?: number): void;
  clearFaults(): void;
  subscriptions(email?: string): SubscriptionView[];
  /** Resolves once every notification the emulator queued was delivered (or given up). */
  notificationsSettled(): Promise<void>;
  /** How many notifications the emulator has sent so far (each attempt). */
  notificationsSent(): number;
  /** How many calls the daemon made to the provider about this owner, by the emulator's method names (tokens excluded). */
  callsFor(email: string): number;
}

export function googleHarness(emulator: CalendarEmulator): CalendarHarness {
  return {
    provider: 'google',
    addOwner(email, timeZone = 'UTC') {
      emulator.addUser(email, { timeZone });
      return email;
    },
    addBusy(email, startIso, endIso, title = 'Busy') {
      emulator.createEventAsOwner(email, { summary: title, start: { dateTime: startIso }, end: { dateTime: endIso } });
    },
    windows(email) {
      return emulator
        .events(email)
        .filter((e) => e.status !== 'cancelled' && e.extendedProperties?.private !== undefined && Object.keys(e.extendedProperties.private).length > 0)
        .map((e) => ({
          id: e.id,
          start: Date.parse(e.start.dateTime ?? `${e.start.date}T00:00:00Z`),
          end: Date.parse(e.end.dateTime ?? `${e.end.date}T00:00:00Z`),
          title: e.summary ?? '',
          description: e.description ?? '',
        }))
        .sort((a, b) => a.start - b.start);
    },
    deleteAsOwner(email, eventId) {
      emulator.deleteEventAsOwner(email, eventId);
    },
    moveAsOwner(email, eventId, startIso, endIso) {
      emulator.patchEventAsOwner(email, eventId, { start: { dateTime: startIso }, end: { dateTime: endIso } });
    },
    makeAllDayAsOwner(email, eventId, date) {
      const next = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      emulator.patchEventAsOwner(email, eventId, { start: { date }, end: { date: next } });
    },
    removeOwner(email) {
      emulator.setCalendarError(email, 'notFound');
    },
    failCreates(status, times) {
      emulator.injectFault({ method: 'events.insert', status, times });
    },
    clearFaults() {
      emulator.clearFaults();
    },
    subscriptions(email) {
      return emulator
        .channels()
        .filter((c) => email === undefined || c.owner === email)
        .map((c) => ({ id: c.id, owner: c.owner, address: c.address, secret: c.token ?? null }));
    },
    notificationsSettled: () => emulator.notificationsSettled(),
    notificationsSent: () => emulator.notificationsSent,
    callsFor(email) {
      return emulator.calls.filter((c) => c.owner === email && c.method !== 'token').length;
    },
  };
}

/** The Windows name CLDR maps to this IANA zone, if any (what Exchange would store for it). */
function windowsNameOf(iana: string): string | undefined {
  return Object.entries(WINDOWS_TO_IANA).find(([, zone]) => zone === iana)?.[0];
}

export function microsoftHarness(emulator: GraphEmulator): CalendarHarness {
  const utc = (iso: string) => ({ dateTime: new Date(Date.parse(iso)).toISOString().replace(/Z$/, ''), timeZone: 'UTC' });
  return {
    provider: 'microsoft',
    addOwner(email, timeZone = 'UTC') {
      // Exchange stores Windows names by default: the daemon must map them back.
      emulator.addMailbox(email, { timeZone: timeZone === 'UTC' ? 'UTC' : (windowsNameOf(timeZone) ?? timeZone) });
      return email;
    },
    addBusy(email, startIso, endIso, title = 'Busy') {
      emulator.addBusy(email, startIso, endIso, 'busy', title);
    },
    windows(email) {
      return emulator
        .events(email, { immutableIds: true })
        .filter((e) => !e.isCancelled && (e.singleValueExtendedProperties ?? []).length > 0)
        .map((e) => ({
          id: e.id,
          start: Date.parse(`${e.start.dateTime}Z`),
          end: Date.parse(`${e.end.dateTime}Z`),
          title: e.subject ?? '',
          description: e.body?.content ?? '',
        }))
        .sort((a, b) => a.start - b.start);
    },
    deleteAsOwner(email, eventId) {
      emulator.deleteEventAsOwner(email, eventId);
    },
    moveAsOwner(email, eventId, startIso, endIso) {
      emulator.updateEventAsOwner(email, eventId, { start: utc(startIso), end: utc(endIso) });
    },
    makeAllDayAsOwner(email, eventId, date) {
      const next = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      emulator.updateEventAsOwner(email, eventId, {
        isAllDay: true,
        start: { dateTime: `${date}T00:00:00.0000000`, timeZone: 'UTC' },
        end: { dateTime: `${next}T00:00:00.0000000`, timeZone: 'UTC' },
      });
    },
    removeOwner(email) {
      emulator.removeMailbox(email);
    },
    failCreates(status, times, retryAfterSeconds) {
      emulator.injectFault({ method: 'events.create', status, times, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
    },
    clearFaults() {
      emulator.clearFaults();
    },
    subscriptions(email) {
      return emulator
        .subscriptions()
        .filter((s) => email === undefined || s.mailbox === email)
        .map((s) => ({ id: s.id, owner: s.mailbox, address: s.notificationUrl, secret: s.clientState }));
    },
    notificationsSettled: () => emulator.notificationsSettled(),
    notificationsSent: () => emulator.notifications.length,
    callsFor(email) {
      return emulator.calls.filter((c) => c.mailbox === email && c.method !== 'token').length;
    },
  };
}
