import type { LoadModelOptions } from './load-model';
/** The emulator's public types: Google's resource shapes and the test-control vocabulary. */

export type EmulatorMethod =
  | 'token'
  | 'settings.get'
  | 'calendars.get'
  | 'freebusy.query'
  | 'events.insert'
  | 'events.get'
  | 'events.patch'
  | 'events.update'
  | 'events.delete'
  | 'events.list'
  | 'events.watch'
  | 'channels.stop';

/** One request the emulator served. `owner` is the impersonated user (the token's subject). */
export interface EmulatorCall {
  method: EmulatorMethod;
  owner?: string;
  quotaUser?: string;
  status: number;
  at: number;
  /** The client's TCP port (tells which connection carried the request: direct, or a proxy's). */
  peerPort?: number;
}

/**
 * A failure to inject. Matches requests by method (none = every method, the token endpoint included) and owner.
 * A status below 400 only delays the request (with delayMs), which is then served normally.
 */
export interface EmulatorFault {
  method?: EmulatorMethod;
  owner?: string;
  status: number;
  reason?: string;
  message?: string;
  /** How many matching requests fail; unlimited until clearFaults() when absent. */
  times?: number;
  /** Chance (0..1) that a matching request fails; always when absent. */
  probability?: number;
  /** Answer only after this delay (to provoke client timeouts). */
  delayMs?: number;
}

export interface EventDateTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}

export interface EventAttendee {
  email: string;
  displayName?: string;
  responseStatus?: 'needsAction' | 'declined' | 'tentative' | 'accepted';
  optional?: boolean;
  organizer?: boolean;
  self?: boolean;
}

export interface GoogleEventResource {
  kind: 'calendar#event';
  id: string;
  etag: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  htmlLink: string;
  created: string;
  updated: string;
  summary?: string;
  description?: string;
  location?: string;
  creator: { email: string; self?: boolean };
  organizer: { email: string; self?: boolean };
  start: EventDateTime;
  end: EventDateTime;
  transparency?: 'opaque' | 'transparent';
  iCalUID: string;
  sequence: number;
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  reminders: { useDefault: boolean };
  eventType: 'default' | 'outOfOffice' | 'focusTime' | 'workingLocation';
  attendees?: EventAttendee[];
}

export interface EmulatorLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  debug?(o: object, msg?: string): void;
}

export interface CalendarEmulatorOptions {
  /** The world's time (epoch ms): event timestamps, channel expirations. Default Date.now. */
  now?: () => number;
  /**
   * The clock for JWT assertion checks and access-token lifetimes. Default Date.now: google-auth-library signs
   * assertions and caches tokens on the real clock, even when the rest of the world runs on a shifted test clock.
   */
  authNow?: () => number;
  /** If set, only emails at this domain can be impersonated or auto-created. */
  domain?: string;
  /** Default true: any (in-domain) email gets a calendar on first use. */
  autoCreateUsers?: boolean;
  /** Time zone of auto-created calendars; default 'Etc/GMT' (Google's default). */
  defaultTimeZone?: string;
  logger?: EmulatorLogger;
  /** Benchmark load conditions (per-call latency, project and per-user quotas, counters): see load-model.ts. */
  load?: LoadModelOptions;
}

export interface ChannelInfo {
  id: string;
  resourceId: string;
  owner: string;
  address: string;
  token?: string;
  expiration: number;
}
