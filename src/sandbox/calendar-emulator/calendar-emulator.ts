/**
 * A Google Calendar API v3 emulator for tests and the sandbox, driven through the real googleapis and
 * google-auth-library clients: OAuth JWT bearer tokens with domain-wide delegation, settings, calendars,
 * freeBusy, events (sync tokens, paging), push channels, Google's error bodies, injected faults and call accounting.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { CallLog } from './call-log';
import { EventLister } from './event-list';
import { eventInterval, parseEventBody } from './event-resource';
import { FaultInjector } from './faults';
import { LoadModel } from './load-model';
import { buildServer } from './http-server';
import { PushDelivery } from './push-delivery';
import { PageTokens, SyncTokens } from './sync-tokens';
import { isValidZone } from './time';
import { TokenService, type TrustedKey } from './token-endpoint';
import type { CalendarEmulatorOptions, ChannelInfo, EmulatorCall, EmulatorFault, EmulatorMethod, GoogleEventResource } from './types';
import { UserDirectory, type CalendarErrorReason, type UserCalendar } from './user-directory';
import { WatchChannels } from './watch-channels';

export class CalendarEmulator {
  private readonly now: () => number;
  private readonly directory: UserDirectory;
  private readonly tokens: TokenService;
  private readonly faults = new FaultInjector();
  private readonly callLog = new CallLog();
  private readonly syncTokens = new SyncTokens();
  private readonly delivery: PushDelivery;
  private readonly watchChannels: WatchChannels;
  private readonly lister: EventLister;
  /** Benchmark load conditions: only when `opts.load` was given (see load-model.ts). */
  readonly load?: LoadModel;
  private shutdown = new AbortController();
  private server?: FastifyInstance;
  private url?: string;

  constructor(private readonly opts: CalendarEmulatorOptions = {}) {
    this.now = opts.now ?? Date.now;
    const defaultTimeZone = opts.defaultTimeZone ?? 'Etc/GMT';
    if (!isValidZone(defaultTimeZone)) throw new Error(`unknown time zone ${defaultTimeZone}`);
    this.delivery = new PushDelivery(opts.logger);
    this.watchChannels = new WatchChannels(this.delivery, this.now);
    this.directory = new UserDirectory({
      domain: opts.domain,
      autoCreateUsers: opts.autoCreateUsers ?? true,
      defaultTimeZone,
      now: this.now,
      onChange: (calendar) => this.watchChannels.changed(calendar),
    });
    this.tokens = new TokenService(this.directory, opts.authNow ?? Date.now);
    this.lister = new EventLister(this.syncTokens, new PageTokens());
    if (opts.load) this.load = new LoadModel(opts.load);
  }

  /** Starts serving; resolves the base URL with a trailing slash, e.g. "http://127.0.0.1:43121/". */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('calendar emulator is already listening');
    this.shutdown = new AbortController();
    this.delivery.reopen();
    const server = buildServer({
      directory: this.directory,
      tokens: this.tokens,
      faults: this.faults,
      calls: this.callLog,
      lister: this.lister,
      channels: this.watchChannels,
      now: this.now,
      tokenUrl: () => this.tokenUrl,
      shutdown: this.shutdown.signal,
      logger: this.opts.logger,
      load: this.load,
    });
    await server.listen({ port, host });
    this.server = server;
    const { port: actual } = server.server.address() as AddressInfo;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${actual}/`;
    return this.url;
  }

  /** The base URL (rootUrl for googleapis). Throws if the emulator never listened. */
  get baseUrl(): string {
    if (!this.url) throw new Error('calendar emulator is not listening');
    return this.url;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}token`;
  }

  /** Stops serving; pending push deliveries, retries and injected delays are cancelled. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.delivery.close();
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /**
   * Trusts a service account's key. `delegation: false`: no domain-wide delegation at all. `scopes`: the scopes its
   * client id was granted in the Admin console's domain-wide delegation (default: any); a token for a user asking
   * for any other scope is refused like Google does (401 unauthorized_client).
   */
  trustServiceAccount(key: TrustedKey, opts: { delegation?: boolean; scopes?: readonly string[] } = {}): void {
    this.tokens.trust(key, opts.delegation ?? true, opts.scopes);
  }

  addUser(email: string, opts: { timeZone?: string; settingsError?: number; sharesFreeBusy?: boolean } = {}): void {
    if (opts.timeZone !== undefined && !isValidZone(opts.timeZone)) throw new Error(`unknown time zone ${opts.timeZone}`);
    const calendar = this.directory.add(email, opts.timeZone);
    calendar.settingsError = opts.settingsError;
    if (opts.sharesFreeBusy !== undefined) calendar.sharesFreeBusy = opts.sharesFreeBusy;
  }

  hasUser(email: string): boolean {
    return this.directory.get(email) !== undefined;
  }

  /** The owner creates an event in the Calendar UI (a change: sync tokens and push notifications see it). */
  createEventAsOwner(email: string, event: Partial<GoogleEventResource>): GoogleEventResource {
    return this.calendarOf(email).events.insert(parseEventBody(event));
  }

  patchEventAsOwner(email: string, eventId: string, patch: Partial<GoogleEventResource>): GoogleEventResource {
    return this.calendarOf(email).events.patch(eventId, parseEventBody(patch));
  }

  deleteEventAsOwner(email: string, eventId: string): void {
    this.calendarOf(email).events.delete(eventId);
  }

  /** Snapshot copies of a user's events, sorted by start (cancelled ones only when asked). */
  events(email: string, opts: { includeCancelled?: boolean } = {}): GoogleEventResource[] {
    const calendar = this.directory.get(email);
    if (!calendar) return [];
    return calendar.events
      .all()
      .map((e) => e.resource)
      .filter((e) => opts.includeCancelled || e.status !== 'cancelled')
      .map((e) => ({ e, startMs: eventInterval(e, calendar.timeZone).startMs }))
      .sort((a, b) => a.startMs - b.startMs || a.e.id.localeCompare(b.e.id))
      .map(({ e }) => e);
  }

  get calls(): EmulatorCall[] {
    return this.callLog.calls;
  }

  callCounts(filter?: { owner?: string }): Partial<Record<EmulatorMethod, number>> {
    return this.callLog.counts(filter);
  }

  resetCalls(): void {
    this.callLog.reset();
  }

  injectFault(fault: EmulatorFault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** freeBusy reports this calendar as failed (inside the 200 answer) until reset with null. */
  setCalendarError(email: string, reason: CalendarErrorReason | null): void {
    this.calendarOf(email).calendarError = reason;
  }

  dropNotifications(drop: boolean): void {
    this.delivery.drop(drop);
  }

  /** Existing sync tokens (of that calendar, or all) answer 410 fullSyncRequired from now on. */
  expireSyncTokens(email?: string): void {
    this.syncTokens.expire(email?.toLowerCase());
  }

  /** Active push channels (not stopped, not expired). */
  channels(): ChannelInfo[] {
    return this.watchChannels.active();
  }

  get notificationsSent(): number {
    return this.delivery.sent;
  }

  /** Resolves once every queued push notification was delivered or given up. */
  notificationsSettled(): Promise<void> {
    return this.delivery.idle();
  }

  private calendarOf(email: string): UserCalendar {
    const calendar = this.directory.get(email) ?? this.directory.resolve(email);
    if (!calendar) throw new Error(`calendar emulator: no user ${email} (add it with addUser)`);
    return calendar;
  }
}
