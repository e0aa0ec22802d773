import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { systemClock, type Clock } from '../../src/lib/clock';
import { createLogger, type Logger } from '../../src/lib/logger';
import { freePort } from './free-port';
import { CalendarEmulator, createServiceAccountKey, type ServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { Redis } from 'ioredis';
import { BullmqScheduler } from '../../src/jobs/bullmq-scheduler';
import { RemediationStore } from '../../src/store/remediation-store';
import { DaemonClient, TEST_TOKENS } from './daemon-client';
import { HttpRecorder } from './http-recorder';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './redis';
import { GraphEmulator } from '../../src/sandbox/graph-emulator';
import { googleHarness, microsoftHarness, type CalendarHarness, type ProviderName } from './calendar-harness';

/** The Entra app the daemon signs in as, in a Microsoft env (registered in its Graph emulator). */
export const TEST_MICROSOFT_APP = { clientId: '5a0c7e2b-1f3d-4c8e-9b6a-2d4f8e0c1a37', secret: 'Qx7~test-client-secret-value' } as const;

/** A test's own view of the daemon's Redis state and queues (same prefix), for what the HTTP API does not show. */
export interface Probe {
  redis: Redis;
  store: RemediationStore;
  queues: BullmqScheduler;
}

export interface TestEnv {
  app: App;
  url: string;
  provider: ProviderName;
  /** The owners' calendars, whatever the provider (what a cross-provider test drives). */
  calendars: CalendarHarness;
  /** The Google Calendar emulator (a Google env; a Microsoft env has one too, unused). */
  emulator: CalendarEmulator;
  /** The Microsoft Graph emulator (a Microsoft env only). */
  graph?: GraphEmulator;
  key: ServiceAccountKey;
  webhook: HttpRecorder;
  /** The key prefix the daemon uses: a fresh one, or the caller's REDIS_KEY_PREFIX from `opts.env`. */
  prefix: string;
  clock: Clock;
  /** Talks to the daemon over HTTP with the test tokens. */
  client: DaemonClient;
  probe: Probe;
  stop(): Promise<void>;
}

export interface TestEnvOptions {
  label: string;
  clock?: Clock;
  env?: Record<string, string>;
  /** Reuse an emulator (e.g. to restart the daemon on the same calendars). */
  emulator?: CalendarEmulator;
  key?: ServiceAccountKey;
  bookingSweep?: boolean;
  /** The daemon's logger (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger;
  /** Start workers and HTTP listener (default true). Unstarted, `app.http.inject()` still works. */
  start?: boolean;
  /** Per-request Google timeout in ms (default 30 s, as in production). */
  googleTimeoutMs?: number;
  /** Lifecycle webhooks to the recording receiver (path /lifecycle). */
  lifecycleWebhooks?: boolean;
  /** The calendar provider (default google). */
  provider?: ProviderName;
  /**
   * A daemon restarted in place of `reuse` (which was stopped): the same emulators, Redis prefix, port and address,
   * so the subscriptions it opened still reach the new one. The first env keeps owning (and deletes) what it made.
   */
  reuse?: TestEnv;
}

/**
 * A whole daemon as production wires it (App composition root, real Redis under a unique prefix, the real
 * googleapis client) against the Google Calendar emulator and a recording webhook receiver.
 */
export async function startTestEnv(opts: TestEnvOptions): Promise<TestEnv> {
  const clock = opts.clock ?? systemClock;
  const provider = opts.reuse?.provider ?? opts.provider ?? 'google';
  const emulator = opts.reuse?.emulator ?? opts.emulator ?? new CalendarEmulator({ now: () => clock.now(), autoCreateUsers: true });
  const ownEmulator = !opts.emulator && !opts.reuse;
  if (ownEmulator) await emulator.listen(0);
  let graph = opts.reuse?.graph;
  const ownGraph = provider === 'microsoft' && !graph;
  if (provider === 'microsoft' && !graph) {
    // The daemon's notification URL is plain http on loopback: the emulator takes it (Graph itself would not).
    graph = new GraphEmulator({ now: () => clock.now(), allowHttpNotificationUrls: true });
    await graph.listen();
    graph.registerApp({ clientId: TEST_MICROSOFT_APP.clientId, secret: TEST_MICROSOFT_APP.secret });
  }
  const key = opts.reuse?.key ?? opts.key ?? createServiceAccountKey();
  emulator.trustServiceAccount(key);
  // Holds the service account's private key; stop() removes it.
  const dir = mkdtempSync(join(tmpdir(), 'mw-test-'));
  const keyFile = join(dir, 'key.json');
  writeFileSync(keyFile, JSON.stringify(key));
  const webhook = await new HttpRecorder().start();
  const prefix = opts.reuse?.prefix ?? uniquePrefix(opts.label);
  const port = opts.reuse ? Number(new URL(opts.reuse.url).port) : await freePort();
  const providerEnv: Record<string, string> =
    provider === 'microsoft' && graph
      ? {
          CALENDAR_PROVIDER: 'microsoft',
          MICROSOFT_TENANT_ID: graph.tenantId,
          MICROSOFT_CLIENT_ID: TEST_MICROSOFT_APP.clientId,
          MICROSOFT_CLIENT_SECRET: TEST_MICROSOFT_APP.secret,
          MICROSOFT_GRAPH_URL: graph.baseUrl,
          MICROSOFT_LOGIN_URL: graph.baseUrl,
        }
      : {};
  const config = loadConfig({
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    ...(provider === 'google' ? { GOOGLE_CREDENTIALS_FILE: keyFile, GOOGLE_API_URL: emulator.baseUrl, GOOGLE_TOKEN_URL: emulator.tokenUrl } : {}),
    RESOLUTION_WEBHOOK_URL: `${webhook.url}/resolution`,
    ...(opts.lifecycleWebhooks ? { LIFECYCLE_WEBHOOK_URL: `${webhook.url}/lifecycle` } : {}),
    ORG_NAME: 'Acme Corp',
    INGEST_TOKEN: TEST_TOKENS.ingest,
    ADMIN_TOKEN: TEST_TOKENS.admin,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...providerEnv,
    ...opts.env,
  });
  const app = await App.create({
    config,
    clock,
    logger: opts.logger ?? createLogger(config.logLevel),
    bookingSweep: opts.bookingSweep ?? false,
    // Same policy as production, on a millisecond scale.
    googleRetry: { baseDelayMs: 20, maxDelayMs: 200 },
    googleTimeoutMs: opts.googleTimeoutMs,
    // Trusts the Graph emulator's own certificate authority (production uses the system's).
    ...(graph ? { microsoftDispatcher: graph.dispatcher } : {}),
  });
  const url = opts.start === false ? config.http.publicUrl : await app.start();
  const probeRedis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const probe: Probe = {
    redis: probeRedis,
    store: new RemediationStore(probeRedis, config.redis.keyPrefix),
    queues: new BullmqScheduler(probeRedis, config.redis.keyPrefix, clock),
  };
  return {
    client: new DaemonClient(url),
    probe,
    app,
    url,
    provider,
    calendars: provider === 'microsoft' && graph ? microsoftHarness(graph) : googleHarness(emulator),
    emulator,
    ...(graph ? { graph } : {}),
    key,
    webhook,
    prefix: config.redis.keyPrefix,
    clock,
    async stop() {
      try {
        // Calendar first: its pushes (retried on the daemon's 503-while-closing) would hold the HTTP server open.
        if (ownEmulator) await emulator.close();
        if (ownGraph) await graph?.close();
        await app.stop();
        await probe.queues.close();
        probeRedis.disconnect();
        await webhook.close();
        // Only the prefix this env generated is its own to delete. A caller that passed REDIS_KEY_PREFIX shares
        // another env's prefix (e.g. a second daemon on the same data), and that env deletes it when it stops.
        if (config.redis.keyPrefix === prefix) await deletePrefix(prefix);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
