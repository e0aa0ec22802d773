/** Which OAuth scopes let a token call which Calendar API method (from Google's discovery document). */
import { insufficientPermissions } from './google-errors';
import type { EmulatorMethod } from './types';

const AUTH = 'https://www.googleapis.com/auth/';
const scopes = (...names: string[]): ReadonlySet<string> => new Set(names.map((n) => AUTH + n));

const READ_EVENTS = scopes('calendar', 'calendar.readonly', 'calendar.events', 'calendar.events.readonly');
const WRITE_EVENTS = scopes('calendar', 'calendar.events');

const ALLOWED: Record<Exclude<EmulatorMethod, 'token' | 'channels.stop'>, ReadonlySet<string>> = {
  'settings.get': scopes('calendar', 'calendar.readonly', 'calendar.settings.readonly'),
  'calendars.get': scopes('calendar', 'calendar.readonly', 'calendar.calendars', 'calendar.calendars.readonly'),
  'freebusy.query': scopes('calendar', 'calendar.readonly', 'calendar.freebusy', 'calendar.events.freebusy'),
  'events.get': READ_EVENTS,
  'events.list': READ_EVENTS,
  'events.watch': READ_EVENTS,
  'events.insert': WRITE_EVENTS,
  'events.patch': WRITE_EVENTS,
  'events.update': WRITE_EVENTS,
  'events.delete': WRITE_EVENTS,
};

/** Throws Google's 403 insufficientPermissions unless one of the token's scopes allows the method. */
export function requireScope(method: EmulatorMethod, granted: ReadonlySet<string>): void {
  if (method === 'token') return;
  const ok =
    method === 'channels.stop'
      ? [...granted].some((s) => s.startsWith(`${AUTH}calendar`))
      : [...granted].some((s) => ALLOWED[method].has(s));
  if (!ok) throw insufficientPermissions();
}
