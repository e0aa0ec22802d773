import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Dispatcher } from 'undici';
import { ConfigError, isSandbox, pushPossible, SANDBOX_KEY_PREFIX, type Config } from './config';
import { FleetClient } from './fleet/fleet-client';
import { GoogleCalendarGateway } from './google/google-calendar-gateway';
import { OwnerAuthProvider } from './google/google-auth';
import type { RetryOptions } from './google/google-retry';
import { RedisRequestLimiter } from './google/request-rate-limiter';
import { buildHttpServer } from './http/server';
import { BullmqScheduler } from './jobs/bullmq-scheduler';
import { Workers } from './jobs/workers';
import { systemClock, type Clock } from './lib/clock';
import { createLogger, type Logger } from './lib/logger';
import { describeProxy, fetchThrough, proxyDispatcher } from './lib/outbound-proxy';
import { ensureLocalRedis } from './lib/redis-bootstrap';
import { connectRedis, createRedisClient } from './lib/redis-connection';
import { clearSandboxState, googleSandboxView, registerSandboxRoutes, SINK_PATH, startSandbox, type SandboxCalendarView } from './sandbox/sandbox';
import { microsoftSandboxView, startMicrosoftSandbox } from './sandbox/microsoft-sandbox';
import { createMicrosoftCalendar, readClientCertificate, type MicrosoftCredential } from './microsoft/microsoft-calendar';
import type { CalendarPort } from './ports/calendar';
import { Metrics } from './observability/metrics';
import { configInForce, DEFAULT_MAINTENANCE_CONFIG, MaintenanceConfigHolder } from './maintenance-config';
import { createServices, type Services } from './services/create-services';
import type { ServiceDeps } from './services/ports';
import { PreviewService } from './services/preview-service';
import { RedisFeedCursor } from './store/feed-cursor';
import { WatchStore } from './store/watch-store';
import { RemediationStore } from './store/remediation-store';
import { HttpResolutionSender } from './webhook/resolution-webhook';
import { ConcurrencyLimit } from './lib/concurrency-limit';
import { countingOwnWrites } from './services/own-write-echoes';
import { RedisWebhookPacer } from './webhook/webhook-pacer';

/** A service-account key as Google issues it (only the fields we use). */
interface ServiceAccountCredentials {
  client_email: string;
  private_key: string;
}

export interface AppOptions {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /** Start the booking sweep (every 10 s). Tests that count calls switch it off. */
  bookingSweep?: boolean;
  /** Backoff of Google calls (tests shorten it; production uses the defaults). */
  googleRetry?: RetryOptions;
  /** Per-request Google timeout in ms (default GOOGLE_TIMEOUT_SECONDS). */
  googleTimeoutMs?: number;
  /**
   * The undici dispatcher for Graph and Microsoft Entra with real MICROSOFT_* credentials (tests: one that trusts
   * the Graph emulator's certificate authority). Default: the outbound proxy, if any, else undici's global agent.
   */
  microsoftDispatcher?: Dispatcher;
}

/** A calendar provider's adapter as the composition root holds it: the port, and whether the provider answers. */
type ProviderCalendar = CalendarPort & { reachability(boundMs?: number): Promise<{ ok: boolean }> };

/**
 * The composition root: the one place where adapters are chosen and wired to the services.
 * `start()` begins listening and working; `stop()` shuts down gracefully (no new requests, active jobs finish).
 */
export class App {
  private workersStarted = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly logger: Logger,
    /** The HTTP server (Fastify: `inject()` reaches it without a socket). */
    readonly http: FastifyInstance,
    /** Every capability of the daemon (what the workers and the HTTP layer call). */
    readonly services: Services,
    private readonly config: Config,
    private readonly scheduler: BullmqScheduler,
    private readonly workers: Workers,
    private readonly closers: Closer[],
    /** The in-memory calendars of the provider's sandbox are in use. */
    private readonly sandbox: boolean,
    private readonly bookingSweep: boolean,
    /** MAINTENANCE_CONFIG_FILE's configuration in force (null: no file, today's rules exactly). */
    readonly maintenance: MaintenanceConfigHolder | null,
  ) {}

  /**
   * SIGHUP: re-reads MAINTENANCE_CONFIG_FILE. New bookings follow the new rules; an invalid file keeps the
   * configuration in force and logs why. Without a file: nothing to re-read.
   */
  reloadMaintenanceConfig(): { ok: true } | { ok: false; error: string } {
    if (!this.maintenance) {
      this.logger.info('SIGHUP: no MAINTENANCE_CONFIG_FILE to re-read');
      return { ok: true };
    }
    const result = this.maintenance.reload();
    if (result.ok) {
      this.logger.info({ file: this.maintenance.file }, 'maintenance configuration reloaded');
      return { ok: true };
    }
    this.logger.error({ file: this.maintenance.file, err: result.error }, 'maintenance configuration NOT reloaded (the previous one stays in force)');
    return result;
  }

  static async create(opts: AppOptions): Promise<App> {
    const { config } = opts;
    const logger = opts.logger ?? createLogger(config.logLevel);
    const clock = opts.clock ?? systemClock;
    const closers: Closer[] = [];
    // Validated by loadConfig already; read again here (a bad file still stops the start with the loader's line).
    const maintenance = config.maintenanceConfigFile ? new MaintenanceConfigHolder(config.maintenanceConfigFile) : null;
    try {
      let redisChild: ChildProcess | null = null;
      const redisDeployment = config.redis.connection.deployment;
      if (redisDeployment.kind === 'url' && !config.redis.urlFromEnv) redisChild = await ensureLocalRedis(config.redis.url, logger);
      if (redisChild) closers.push(['redis-server', () => redisChild?.kill()]);

      // One factory for every deployment (single server, rediss://, Sentinel, Cluster): src/lib/redis-connection.ts.
      const redis = createRedisClient(config.redis.connection, 'main');
      redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
      await connectRedis(redis);
      closers.push(['redis', () => redis.quit().catch(() => redis.disconnect())]);
      const queueConnection = createRedisClient(config.redis.connection, 'queues');
      queueConnection.on('error', () => undefined);
      await connectRedis(queueConnection);
      closers.push(['redis (queues)', () => queueConnection.quit().catch(() => queueConnection.disconnect())]);
      const workerConnection = createRedisClient(config.redis.connection, 'workers');
      workerConnection.on('error', () => undefined);
      closers.push(['redis (workers)', () => workerConnection.quit().catch(() => workerConnection.disconnect())]);

      const sandboxMode = isSandbox(config);
      if (sandboxMode && config.redis.keyPrefix === SANDBOX_KEY_PREFIX) {
        await clearSandboxState(redis, config.redis.keyPrefix, logger);
      }
      const store = new RemediationStore(redis, config.redis.keyPrefix, config.eventFeedMaxLength, config.fleet !== undefined);

      // The operator's proxy for what leaves the host; the sandboxes' emulators and sink are in this process.
      const proxy = proxyDispatcher(config.outboundProxy);
      if (proxy) {
        const p = proxy;
        closers.push(['outbound proxy', () => p.close()]);
        const { httpsProxy, httpProxy, noProxy } = config.outboundProxy ?? {};
        logger.info({ httpsProxy: describeProxy(httpsProxy), httpProxy: describeProxy(httpProxy), noProxy }, 'outbound requests go through a proxy');
      }
      let webhookUrl = config.resolutionWebhookUrl;
      if (sandboxMode) webhookUrl ??= `http://127.0.0.1:${config.http.port}${SINK_PATH}`;
      if (!webhookUrl) throw new ConfigError('RESOLUTION_WEBHOOK_URL', 'is required with real calendars');
      const sinkIsLocal = sandboxMode && config.resolutionWebhookUrl === undefined;

      const metrics = new Metrics({
        remediationsByStatus: () => store.statusCounts(),
        queueDepths: () => scheduler.depths(),
        redisUp: () => redis.ping().then((p) => p === 'PONG', () => false),
      });
      const budget = config.calendarProvider === 'microsoft' ? config.microsoftRequests : config.googleRequests;
      // The provider's request budget, shared by every daemon on this Redis prefix.
      const limiter = new RedisRequestLimiter({
        redis,
        keyPrefix: config.redis.keyPrefix,
        limit: budget.maxPerMinute,
        onWait: () => metrics.quotaWait(),
      });
      let sandboxView: SandboxCalendarView | null = null;
      let calendar: ProviderCalendar;
      if (config.calendarProvider === 'microsoft') {
        let connection: { tenantId: string; clientId: string; credential: MicrosoftCredential; graphUrl: string; loginUrl: string; dispatcher?: Dispatcher };
        if (config.microsoft.mode === 'sandbox') {
          const sb = await startMicrosoftSandbox(logger, () => clock.now());
          closers.push(['sandbox', () => sb.close()]);
          sandboxView = microsoftSandboxView(sb);
          connection = { tenantId: sb.tenantId, clientId: sb.clientId, credential: { kind: 'secret', secret: sb.clientSecret }, graphUrl: sb.graphUrl, loginUrl: sb.loginUrl, dispatcher: sb.dispatcher };
        } else {
          const ms = config.microsoft;
          connection = {
            tenantId: ms.tenantId,
            clientId: ms.clientId,
            credential: ms.credential.kind === 'secret' ? ms.credential : { kind: 'certificate', ...readClientCertificate(ms.credential.file) },
            graphUrl: ms.graphUrl,
            loginUrl: ms.loginUrl,
            dispatcher: opts.microsoftDispatcher ?? proxy,
          };
        }
        calendar = createMicrosoftCalendar({
          ...connection,
          limiter,
          timeoutMs: config.microsoftRequests.timeoutSeconds * 1000,
          logger: logger.child({ component: 'microsoft' }),
          onCall: (method, status) => metrics.graphCall(method, status),
          now: () => clock.now(),
        });
      } else {
        let credentials: ServiceAccountCredentials;
        let apiUrl: string;
        let tokenUrl: string;
        if (config.google.mode === 'sandbox') {
          const sb = await startSandbox(logger, () => clock.now());
          closers.push(['sandbox', () => sb.close()]);
          sandboxView = googleSandboxView(sb);
          credentials = sb.key;
          apiUrl = sb.emulator.baseUrl;
          tokenUrl = sb.emulator.tokenUrl;
        } else {
          credentials = readCredentials(config.google.credentialsFile);
          apiUrl = config.google.apiUrl;
          tokenUrl = config.google.tokenUrl;
        }
        const googleTimeoutMs = opts.googleTimeoutMs ?? config.googleRequests.timeoutSeconds * 1000;
        calendar = new GoogleCalendarGateway({
          auth: new OwnerAuthProvider({
            clientEmail: credentials.client_email,
            privateKey: credentials.private_key,
            tokenUrl,
            limiter,
            timeoutMs: googleTimeoutMs,
            fetch: fetchThrough(sandboxMode ? undefined : proxy),
          }),
          rootUrl: apiUrl,
          retry: opts.googleRetry,
          timeoutMs: googleTimeoutMs,
          logger: logger.child({ component: 'google' }),
          onCall: (method, status) => metrics.googleCall(method, status),
        });
      }

      const scheduler = new BullmqScheduler(queueConnection, config.redis.keyPrefix, clock, logger, (startMs) => store.nextRankAt(startMs));
      closers.push(['queues', () => scheduler.close()]);
      // Channels, sync tokens, and the counts of our own writes' echoes (own-write-echoes.ts).
      const watchStore = new WatchStore(redis, config.redis.keyPrefix);
      // WEBHOOK_CONCURRENCY: one limit for every resolution receiver of this daemon (not the lifecycle webhook).
      const resolutionConcurrency = new ConcurrencyLimit(config.webhook.concurrency);
      const sender = (url: string, extraHeaders?: Readonly<Record<string, string>>, concurrency?: ConcurrencyLimit) =>
        new HttpResolutionSender({
          url,
          extraHeaders,
          concurrency,
          secret: config.webhook.secret,
          timeoutMs: config.webhook.timeoutSeconds * 1000,
          dispatcher: sinkIsLocal && url === webhookUrl ? undefined : proxy,
        });
      const fleet = config.fleet ? new FleetClient(config.fleet.url, config.fleet.apiToken, { dispatcher: proxy }) : undefined;
      const partSenders = new Map<string, HttpResolutionSender>();
      const deps: ServiceDeps = {
        telemetry: metrics,
        store,
        // Our own writes are counted so that their echoes cost no sync (own-write-echoes.ts).
        calendar: countingOwnWrites(calendar, watchStore, logger),
        hosts: fleet,
        fleet,
        sender: sender(webhookUrl, config.webhook.extraHeaders, resolutionConcurrency),
        senderFor: (url) => {
          let s = partSenders.get(url);
          if (!s) partSenders.set(url, (s = sender(url, config.webhook.extraHeaders, resolutionConcurrency)));
          return s;
        },
        ...(config.webhook.maxPerSecond !== undefined
          ? { pacer: new RedisWebhookPacer({ redis, keyPrefix: config.redis.keyPrefix, maxPerSecond: config.webhook.maxPerSecond }) }
          : {}),
        scheduler,
        clock,
        logger,
        settings: {
          domain: config.domain,
          orgName: config.orgName,
          scheduling: config.scheduling,
          watch: watchSettings(config),
          notifyBeforeMinutes: config.notifyBeforeMinutes,
          fleetSync: { requireOnline: config.fleetSync.requireOnline, rebookAfterFireMs: config.fleetSync.rebookAfterFireMinutes * 60_000 },
          ...(maintenance ? { maintenance: () => maintenance.current(), resolutionWebhookUrl: webhookUrl } : {}),
        },
      };
      const services = createServices(deps, {
        watchStore,
        echoes: watchStore,
        feedCursor: new RedisFeedCursor(redis, config.redis.keyPrefix),
        lifecycleJobs: scheduler,
        lifecycleSender: config.lifecycleWebhook.url ? sender(config.lifecycleWebhook.url) : null,
        lifecycle: {
          url: config.lifecycleWebhook.url,
          types: config.lifecycleWebhook.types,
          retryBudgetSeconds: config.webhook.retryBudgetSeconds ?? LIFECYCLE_RETRY_BUDGET_SECONDS,
        },
        delivery: { retryBudgetSeconds: config.webhook.retryBudgetSeconds },
      });
      const previewService = new PreviewService(deps);
      const workers = new Workers(workerConnection, config.redis.keyPrefix, services, logger, scheduler);
      closers.push(['workers', () => workers.close()]);

      const http = await buildHttpServer({
        logger,
        store,
        clock,
        tokens: { ingest: config.ingestToken, admin: config.adminToken },
        enqueue: (events) => scheduler.enqueuePolicyEvents(events),
        redeliver: (id) => services.fires.redeliver(id),
        admin: services.admin,
        notify: (n) => services.watch.acceptNotification(n),
        metrics: () => metrics.text(),
        queues: scheduler.allQueues,
        preview: (q) => previewService.preview(q),
        maintenanceConfig: () => (maintenance ? maintenance.view() : configInForce(DEFAULT_MAINTENANCE_CONFIG, null)),
        ready: async () => {
          const redisOk = await Promise.race([
            redis.ping().then((p) => p === 'PONG', () => false),
            new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
          ]);
          // The calendar provider (or its sandbox's emulator) answers: a recent successful call, else one cheap probe.
          const calendarOk = (await calendar.reachability()).ok;
          const checks = { redis: redisOk, workers: app.workersStarted && workers.running, [config.calendarProvider]: calendarOk };
          return { ready: redisOk && checks.workers && calendarOk, checks };
        },
      });
      if (sandboxView) registerSandboxRoutes(http, sandboxView, logger);
      closers.push(['http', () => http.close()]);

      const app: App = new App(logger, http, services, config, scheduler, workers, closers, sandboxMode, opts.bookingSweep ?? true, maintenance);
      return app;
    } catch (err) {
      await runClosers(closers, logger);
      throw err;
    }
  }

  /** Starts the workers and the HTTP listener; resolves with the listening address. */
  async start(): Promise<string> {
    this.workers.start();
    this.workersStarted = true;
    if (this.bookingSweep) await this.scheduler.startBookingSweep();
    // Often enough to renew a channel in time and to catch windows entering the push horizon; at most a minute.
    const watch = watchSettings(this.config);
    await this.scheduler.startWatchSchedule(clamp(Math.min(watch.channelTtlSeconds * 125, watch.pollIntervalMs / 6), 1000, 60_000));
    const { windowJobs } = await this.services.recovery.recover();
    // After the start: a daemon with 100,000 booked windows answers (and fires) while they are checked.
    windowJobs.catch((err: Error) => this.logger.error({ err: err.message }, 'could not check the jobs of booked windows (checked again at the next start)'));
    if (this.config.fleet) await this.scheduler.startFleetSync(this.config.fleetSync.intervalSeconds * 1000);
    if (!pushPossible(this.config)) {
      const provider = this.config.calendarProvider === 'microsoft' ? 'Microsoft Graph will not create subscriptions' : 'Google will not deliver push notifications';
      this.logger.warn(
        { publicUrl: this.config.http.publicUrl, pollIntervalSeconds: this.config.pollIntervalSeconds },
        `PUBLIC_URL is not HTTPS: ${provider}, so owners’ changes are found by the poll only`,
      );
    }
    const address = await this.http.listen({ port: this.config.http.port, host: this.config.http.host });
    this.logger.info(
      { address, publicUrl: this.config.http.publicUrl, calendar: this.config.calendarProvider, sandbox: this.sandbox },
      'maintenance-windows daemon started',
    );
    const open = [
      ...(this.config.ingestToken ? [] : ['ingest (POST /v1/policy-events, /v1/fleet/failing-policies)']),
      ...(this.config.adminToken ? [] : ['read and admin (/v1/remediations…, /v1/events, /v1/hosts…)']),
    ];
    if (open.length > 0) this.logger.warn({ openRoutes: open }, `no token set: ${open.join(' and ')} routes are open to anyone who reaches the port`);
    return address;
  }

  /** Graceful stop: refuse new requests, let active jobs finish, close connections. Calling it again waits for the same stop. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down');
      await runClosers(this.closers, this.logger);
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}

/** Lifecycle webhooks are retried this long by default (WEBHOOK_RETRY_BUDGET_SECONDS overrides it). */
const LIFECYCLE_RETRY_BUDGET_SECONDS = 3600;

function watchSettings(config: Config) {
  const notifications =
    config.calendarProvider === 'microsoft'
      ? { notificationUrl: `${config.http.publicUrl}/v1/microsoft/notifications`, lifecycleNotificationUrl: `${config.http.publicUrl}/v1/microsoft/lifecycle` }
      : { notificationUrl: `${config.http.publicUrl}/v1/google/notifications` };
  return {
    ...notifications,
    pushHorizonMs: config.pushHorizonDays * 86_400_000,
    channelTtlSeconds: config.channelTtlSeconds,
    pollIntervalMs: config.pollIntervalSeconds * 1000,
    push: pushPossible(config),
  };
}


function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Closes in reverse order of opening: HTTP first, Redis last. */
type Closer = [name: string, close: () => Promise<unknown> | unknown];

async function runClosers(closers: Closer[], logger: Logger): Promise<void> {
  for (const [name, close] of [...closers].reverse()) {
    const started = Date.now();
    try {
      await close();
      logger.debug({ component: name, ms: Date.now() - started }, 'closed');
    } catch (err) {
      logger.warn({ component: name, err: (err as Error).message }, 'error while shutting down');
    }
  }
}

function readCredentials(file: string): ServiceAccountCredentials {
  let parsed: Partial<ServiceAccountCredentials>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServiceAccountCredentials>;
  } catch (err) {
    throw new ConfigError('GOOGLE_CREDENTIALS_FILE', `cannot be read as JSON (${(err as Error).message})`);
  }
  if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
    throw new ConfigError('GOOGLE_CREDENTIALS_FILE', 'is not a service-account key (client_email, private_key missing)');
  }
  return { client_email: parsed.client_email, private_key: parsed.private_key };
}
