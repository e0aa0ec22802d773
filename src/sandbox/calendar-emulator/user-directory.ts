/**
 * The Workspace domain: which users exist, who may be impersonated or looked up, and each user's calendar
 * (time zone, injected errors, events).
 */
import { randomBytes } from 'node:crypto';
import { EventStore } from './event-store';

export type CalendarErrorReason = 'notFound' | 'internalError';

export class UserCalendar {
  timeZone: string;
  settingsError?: number;
  calendarError: CalendarErrorReason | null = null;
  /** false: other users' freeBusy queries get `notFound` for this calendar (its owner's own query still works). */
  sharesFreeBusy = true;
  /** The watched resource's id in push channels (one per events collection). */
  readonly resourceId = randomBytes(14).toString('base64url');
  readonly events: EventStore;

  constructor(
    readonly email: string,
    timeZone: string,
    now: () => number,
    onChange: (calendar: UserCalendar) => void,
  ) {
    this.timeZone = timeZone;
    this.events = new EventStore(this, now, () => onChange(this));
  }
}

export interface DirectoryOptions {
  domain?: string;
  autoCreateUsers: boolean;
  defaultTimeZone: string;
  now: () => number;
  onChange: (calendar: UserCalendar) => void;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class UserDirectory {
  private readonly users = new Map<string, UserCalendar>();

  constructor(private readonly opts: DirectoryOptions) {}

  add(email: string, timeZone?: string): UserCalendar {
    const key = normalizeEmail(email);
    const existing = this.users.get(key);
    if (existing) {
      if (timeZone) existing.timeZone = timeZone;
      return existing;
    }
    const calendar = new UserCalendar(key, timeZone ?? this.opts.defaultTimeZone, this.opts.now, this.opts.onChange);
    this.users.set(key, calendar);
    return calendar;
  }

  get(email: string): UserCalendar | undefined {
    return this.users.get(normalizeEmail(email));
  }

  inDomain(email: string): boolean {
    const key = normalizeEmail(email);
    if (!EMAIL.test(key)) return false;
    return !this.opts.domain || key.endsWith(`@${this.opts.domain.toLowerCase()}`);
  }

  /**
   * The user's calendar if this address is a user of the domain, creating it on first use when allowed;
   * undefined for unknown or out-of-domain addresses (invalid_grant, notFound).
   */
  resolve(email: string): UserCalendar | undefined {
    const known = this.get(email);
    if (known) return this.inDomain(email) ? known : undefined;
    return this.opts.autoCreateUsers && this.inDomain(email) ? this.add(email) : undefined;
  }

  /** The calendar of a principal that is not a domain user (a service account acting as itself). */
  own(email: string): UserCalendar {
    return this.get(email) ?? this.add(email);
  }
}
