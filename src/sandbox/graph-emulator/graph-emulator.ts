/** The emulator object: starts the HTTPS server and offers the test helpers (see index.ts for what it covers). */
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'undici';
import { AppRegistrations, type AppOptions, type AppRegistration } from './app-registrations';
import { CallLog } from './call-log';
import { DeltaSync } from './delta-sync';
import { parseEventBody } from './event-body';
import { renderEvent } from './event-resource';
import type { ChangeType, StoredEvent } from './event-store';
import { FaultInjector, MailboxConcurrency } from './faults';
import { buildServer } from './http-server';
import { MailboxDirectory, type Mailbox, type MailboxOptions } from './mailbox-directory';
import { NotificationDelivery } from './notification-delivery';
import { createSelfSignedCertificate, type SelfSignedCertificate } from './self-signed-certificate';
import { Subscriptions, type LifecycleEvent } from './subscriptions';
import { TokenService } from './token-endpoint';
import type { GraphCall, GraphEmulatorOptions, GraphEvent, GraphFault, GraphMethod, NotificationRecord, OwnerEventInput, SubscriptionInfo } from './types';

const DEFAULT_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

export class GraphEmulator {
  readonly tenantId: string;
  readonly tenantDomain: string;
  private readonly now: () => number;
  private readonly certificate: SelfSignedCertificate;
  private readonly apps = new AppRegistrations();
  private readonly directory: MailboxDirectory;
  private readonly tokens: TokenService;
  private readonly faults = new FaultInjector();
  private readonly concurrency: MailboxConcurrency;
  private readonly callLog = new CallLog();
  private readonly deltaSync = new DeltaSync();
  private readonly delivery: NotificationDelivery;
  private readonly subs: Subscriptions;
  private readonly scheduleErrors = new Map<string, { message: string; responseCode: string }>();
  private shutdown = new AbortController();
  private server?: ReturnType<typeof buildServer>;
  private url?: string;
  private agent?: Agent;
  /** Open client connections, destroyed on close (Fastify's close hung in tests on a kept-alive TLS connection). */
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: GraphEmulatorOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.tenantId = (opts.tenantId ?? DEFAULT_TENANT_ID).toLowerCase();
    this.tenantDomain = opts.tenantDomain ?? 'contoso.onmicrosoft.com';
    this.certificate = createSelfSignedCertificate({ commonName: 'graph-emulator', altNames: ['localhost', '127.0.0.1', '::1'] });
    this.concurrency = new MailboxConcurrency(opts.mailboxConcurrencyLimit ?? 4);
    this.delivery = new NotificationDelivery(this.now, opts.notificationCa, opts.logger);
    this.directory = new MailboxDirectory(this.now, (mailbox, event, change) => this.changed(mailbox, event, change), opts.autoCreateMailboxes ?? false);
    this.subs = new Subscriptions(this.directory, this.delivery, {
      now: this.now,
      tenantId: this.tenantId,
      maxMinutes: opts.maxSubscriptionMinutes ?? 10_080,
      allowHttp: opts.allowHttpNotificationUrls ?? false,
      validationTimeoutMs: opts.validationTimeoutMs ?? 10_000,
    });
    this.tokens = new TokenService(this.apps, this.tenantId, opts.authNow ?? Date.now);
  }

  /** Starts serving HTTPS; resolves the base URL with a trailing slash, e.g. "https://127.0.0.1:43121/". */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('graph emulator is already listening');
    this.shutdown = new AbortController();
    this.delivery.reopen();
    const server = buildServer({
      tls: { key: this.certificate.privateKeyPem, cert: this.certificate.certificatePem },
      directory: this.directory,
      tokens: this.tokens,
      faults: this.faults,
      concurrency: this.concurrency,
      calls: this.callLog,
      delta: this.deltaSync,
      subscriptions: this.subs,
      scheduleErrors: this.scheduleErrors,
      maxSchedules: this.opts.maxSchedules ?? 20,
      tenantId: this.tenantId,
      tenantDomain: this.tenantDomain,
      now: this.now,
      baseUrl: () => this.baseUrl,
      shutdown: this.shutdown.signal,
      logger: this.opts.logger,
    });
    server.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await server.listen({ port, host });
    this.server = server;
    const { port: actual } = server.server.address() as AddressInfo;
    this.url = `https://${host.includes(':') ? `[${host}]` : host}:${actual}/`;
    return this.url;
  }

  /** The base URL; Graph lives under `${baseUrl}v1.0/`, Entra under `${baseUrl}{tenant}/`. */
  get baseUrl(): string {
    if (!this.url) throw new Error('graph emulator is not listening');
    return this.url;
  }

  get graphUrl(): string {
    return `${this.baseUrl}v1.0/`;
  }

  /** MSAL's `authority` for this tenant. Also list `knownAuthority` in MSAL's `knownAuthorities`. */
  get authority(): string {
    return `${this.baseUrl}${this.tenantId}`;
  }

  get knownAuthority(): string {
    return new URL(this.baseUrl).host;
  }

  get tokenUrl(): string {
    return `${this.authority}/oauth2/v2.0/token`;
  }

  /** The emulator's self-signed TLS certificate (PEM): trust it as a CA to talk to it. */
  get caCertificate(): string {
    return this.certificate.certificatePem;
  }

  /** An undici dispatcher that trusts the emulator's certificate (for fetch/request and the MSAL network client). */
  get dispatcher(): Agent {
    this.agent ??= new Agent({ connect: { ca: this.certificate.certificatePem } });
    return this.agent;
  }

  /** Stops serving; pending notifications, retries, hung requests and injected delays end. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.delivery.close();
    const server = this.server;
    this.server = undefined;
    const closing = server?.close();
    for (const socket of this.sockets) socket.destroy();
    await closing;
    await this.agent?.destroy();
    this.agent = undefined;
  }

  // ---- Entra ----

  /** Registers a daemon app (client id, secret and/or certificate, Graph application permissions). */
  registerApp(opts: AppOptions): AppRegistration {
    return this.apps.register(opts);
  }

  get tokensIssued(): number {
    return this.tokens.issued;
  }

  // ---- mailboxes ----

  addMailbox(address: string, opts: MailboxOptions = {}): { id: string; address: string } {
    const mailbox = this.directory.add(address, opts);
    return { id: mailbox.id, address: mailbox.address };
  }

  /** The user leaves the tenant: later calls naming them answer 404 ErrorInvalidUser. */
  removeMailbox(address: string): void {
    if (!this.directory.remove(address)) throw new Error(`graph emulator: no mailbox ${address}`);
  }

  /** getSchedule reports this mailbox as failed (inside the 200 answer) until reset with null. */
  setScheduleError(address: string, error: { message: string; responseCode: string } | null): void {
    const mailbox = this.mailbox(address);
    if (error) this.scheduleErrors.set(mailbox.address, error);
    else this.scheduleErrors.delete(mailbox.address);
  }

  /** The owner adds an item in Outlook (a meeting, busy time, out of office…): a change like any other. */
  createEventAsOwner(address: string, input: OwnerEventInput): GraphEvent {
    const mailbox = this.mailbox(address);
    const fields = parseEventBody(stripOwnerOnly(input), 'create');
    if (input.isCancelled !== undefined) fields.isCancelled = input.isCancelled;
    return this.render(mailbox, mailbox.events.create(fields, true).event);
  }

  /** Shorthand: a busy (or oof, tentative, workingElsewhere) block in UTC ISO times. */
  addBusy(address: string, startIso: string, endIso: string, showAs: OwnerEventInput['showAs'] = 'busy', subject = 'Busy'): GraphEvent {
    const dt = (iso: string) => {
      const ms = Date.parse(iso);
      if (Number.isNaN(ms)) throw new Error(`graph emulator: addBusy needs ISO times, got ${iso}`);
      return { dateTime: new Date(ms).toISOString().replace(/Z$/, ''), timeZone: 'UTC' };
    };
    return this.createEventAsOwner(address, { subject, start: dt(startIso), end: dt(endIso), showAs });
  }

  /** The owner moves or edits an event in Outlook (id: REST or immutable). */
  updateEventAsOwner(address: string, id: string, patch: Partial<OwnerEventInput>): GraphEvent {
    const mailbox = this.mailbox(address);
    const fields = parseEventBody(stripOwnerOnly(patch), 'update');
    if (patch.isCancelled !== undefined) fields.isCancelled = patch.isCancelled;
    return this.render(mailbox, mailbox.events.update(id, fields, true));
  }

  /** The owner deletes an event in Outlook. */
  deleteEventAsOwner(address: string, id: string): void {
    this.mailbox(address).events.delete(id, true);
  }

  /** Live events of a mailbox, by start, as Graph would answer them (UTC times, REST ids unless asked). */
  events(address: string, opts: { immutableIds?: boolean; timeZone?: string } = {}): GraphEvent[] {
    const mailbox = this.mailbox(address);
    return mailbox.events
      .live()
      .sort((a, b) => a.startMs - b.startMs)
      .map((e) => this.render(mailbox, e, opts));
  }

  /** Both ids of an event (either id in). */
  eventIds(address: string, id: string): { id: string; immutableId: string } {
    const e = this.mailbox(address).events.get(id);
    return { id: e.restId, immutableId: e.immutableId };
  }

  /** Exchange gives the event a new REST id (an item move); its immutable id stays. Answers both ids now. */
  moveEventAsExchange(address: string, id: string): { id: string; immutableId: string } {
    const e = this.mailbox(address).events.reassignRestId(id);
    return { id: e.restId, immutableId: e.immutableId };
  }

  // ---- delta, subscriptions, notifications ----

  /** Delta tokens (of one mailbox, or all) answer 410 SyncStateNotFound from now on. */
  expireDeltaTokens(address?: string): void {
    this.deltaSync.expire(address === undefined ? undefined : this.mailbox(address).address);
  }

  subscriptions(): SubscriptionInfo[] {
    return this.subs.list();
  }

  sendLifecycleNotification(subscriptionId: string, lifecycleEvent: LifecycleEvent): void {
    this.subs.lifecycle(subscriptionId, lifecycleEvent);
  }

  /** Every notification POST made so far (each attempt), change and lifecycle. */
  get notifications(): NotificationRecord[] {
    return this.delivery.records;
  }

  /** Resolves once every queued notification was delivered or given up. */
  notificationsSettled(): Promise<void> {
    return this.delivery.idle();
  }

  // ---- faults and accounting ----

  injectFault(fault: GraphFault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  get calls(): GraphCall[] {
    return this.callLog.calls;
  }

  callCounts(filter?: { mailbox?: string }): Partial<Record<GraphMethod, number>> {
    return this.callLog.counts(filter);
  }

  resetCalls(): void {
    this.callLog.reset();
  }

  /** The most requests that were in flight at once for a mailbox. */
  peakConcurrency(address: string): number {
    return this.concurrency.peak.get(this.mailbox(address).address) ?? 0;
  }

  private changed(mailbox: Mailbox, event: StoredEvent, change: ChangeType): void {
    this.subs.changed(mailbox, event, change);
  }

  private mailbox(address: string): Mailbox {
    const mailbox = this.directory.get(address);
    if (!mailbox) throw new Error(`graph emulator: no mailbox ${address} (add it with addMailbox)`);
    return mailbox;
  }

  private render(mailbox: Mailbox, e: StoredEvent, opts: { immutableIds?: boolean; timeZone?: string } = {}): GraphEvent {
    const expand = [...e.extended.keys()];
    return renderEvent(e, { address: mailbox.address, displayName: mailbox.displayName }, { immutableIds: opts.immutableIds ?? false, timeZone: opts.timeZone, expand });
  }
}

function stripOwnerOnly<T extends Partial<OwnerEventInput>>(input: T): Omit<T, 'isCancelled'> {
  const { isCancelled: _ignored, ...rest } = input;
  return rest;
}
