import { CalendarEmulator, createServiceAccountKey, type ServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { OwnerAuthProvider } from '../../src/google/google-auth';
import { GoogleCalendarGateway } from '../../src/google/google-calendar-gateway';
import type { RetryOptions } from '../../src/google/google-retry';
import type { NewWindowEvent } from '../../src/ports/calendar';

export const DOMAIN = 'example.com';

/** The project's Google Calendar emulator with a trusted service account, shared by one test file. */
export class GatewayFixture {
  emulator!: CalendarEmulator;
  key!: ServiceAccountKey;
  baseUrl = '';
  /** Backoff delays the gateways asked for (the sleep itself is instant). */
  sleeps: number[] = [];
  private counter = 0;

  async start(options: { autoCreateUsers?: boolean } = {}): Promise<this> {
    this.emulator = new CalendarEmulator({ domain: DOMAIN, autoCreateUsers: options.autoCreateUsers ?? true, defaultTimeZone: 'Etc/GMT' });
    this.key = createServiceAccountKey();
    this.emulator.trustServiceAccount(this.key, { delegation: true });
    this.emulator.dropNotifications(true); // push delivery is not the adapter's business
    this.baseUrl = await this.emulator.listen(0);
    return this;
  }

  async stop(): Promise<void> {
    if (!this.emulator) return;
    await this.emulator.close();
  }

  reset(): void {
    this.emulator.clearFaults();
    this.emulator.resetCalls();
    this.sleeps = [];
  }

  /** A fresh owner per test, so tests do not see each other's calendars or tokens. */
  owner(prefix = 'owner'): string {
    this.counter += 1;
    const email = `${prefix}${this.counter}@${DOMAIN}`;
    this.emulator.addUser(email, { timeZone: 'Europe/Zurich' });
    return email;
  }

  /** A client-chosen event id: base32hex (a-v, 0-9). */
  eventId(): string {
    this.counter += 1;
    return `mm${Date.now().toString(32)}${this.counter.toString(32)}`;
  }

  auth(key: ServiceAccountKey = this.key, tokenUrl: string = this.emulator.tokenUrl): OwnerAuthProvider {
    return new OwnerAuthProvider({ clientEmail: key.client_email, privateKey: key.private_key, tokenUrl });
  }

  gateway(options: { auth?: OwnerAuthProvider; retry?: RetryOptions; timeoutMs?: number } = {}): GoogleCalendarGateway {
    return new GoogleCalendarGateway({
      auth: options.auth ?? this.auth(),
      rootUrl: this.baseUrl,
      timeoutMs: options.timeoutMs,
      retry: { sleep: async (ms) => void this.sleeps.push(ms), ...options.retry },
    });
  }

  /** Calls the emulator saw, token calls included, optionally for one owner and method. */
  calls(filter: { owner?: string; method?: string } = {}) {
    return this.emulator.calls.filter((c) => (!filter.owner || c.owner === filter.owner) && (!filter.method || c.method === filter.method));
  }
}

/** A maintenance window as the booking service creates it; `key` is the Google event id. */
export function newEvent(key: string, start = '2026-12-01T10:00:00+01:00', end = '2026-12-01T10:30:00+01:00'): NewWindowEvent {
  return {
    key,
    remediationId: 'r-1',
    bookingNumber: 0,
    start,
    end,
    timeZone: 'Europe/Zurich',
    title: 'Maintenance window',
    description: 'Your laptop needs an update.',
  };
}
