import { existsSync } from 'node:fs';
import { z } from 'zod';
import { defaultSchedulingRules } from '../config/scheduling';
import type { SchedulingRules } from './domain/scheduling-rules';
import type { CalendarProviderName } from './ports/calendar';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEventType } from './domain/lifecycle-event';
import { describeProxy, type OutboundProxy } from './lib/outbound-proxy';
import { parseHostPorts, type RedisConnectionConfig } from './lib/redis-connection';
import { DEFAULT_FEED_MAX_LENGTH } from './store/remediation-store';
import { loadMaintenanceConfig, MaintenanceConfigError } from './maintenance-config';
import { decodeWebhookSecret, WebhookSecretError } from './webhook/webhook-signer';
import { parseWebhookHeaders, WebhookHeadersError } from './webhook/webhook-headers';

/**
 * Environment configuration, validated once at start, before any connection is made. Bad or missing values stop
 * the daemon with one line naming every such variable at once (ConfigError). Every variable here is documented in .env.example and the README.
 */

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const redisUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      const db = u.pathname.replace(/^\//, '');
      return (u.protocol === 'redis:' || u.protocol === 'rediss:') && (db === '' || /^\d+$/.test(db));
    } catch {
      return false;
    }
  }, 'must be redis://[user:pass@]host:port[/db]');

/** Resolution webhook requests in flight per daemon unless WEBHOOK_CONCURRENCY says otherwise. */
export const DEFAULT_WEBHOOK_CONCURRENCY = 32;

const positiveInt = (max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`);

const envSchema = z.object({
  REDIS_URL: z.preprocess(emptyToUndefined, redisUrl.optional()),
  // Redis Sentinel / Cluster / TLS CA (src/lib/redis-connection.ts); exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES.
  REDIS_SENTINELS: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  REDIS_SENTINEL_NAME: z.preprocess(emptyToUndefined, z.string().trim().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be the monitored primary\'s name (letters, digits, ._-)').optional()),
  REDIS_CLUSTER_NODES: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  REDIS_TLS_CA_FILE: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  REDIS_USERNAME: z.preprocess(emptyToUndefined, z.string().optional()),
  REDIS_PASSWORD: z.preprocess(emptyToUndefined, z.string().optional()),
  REDIS_SENTINEL_PASSWORD: z.preprocess(emptyToUndefined, z.string().optional()),
  REDIS_KEY_PREFIX: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9:{}_-]{1,64}$/, 'may only hold letters, digits and :{}_- (1-64 chars)')
      // Exactly one non-empty `{…}`: Redis Cluster hashes only the tag, so every key (and BullMQ's) shares a slot.
      .regex(
        /^[^{}]*\{[^{}]+\}[^{}]*$/,
        'must contain a {hash tag} (e.g. {mw}, {acme}:mw) so multi-key transactions stay on one Cluster slot',
      )
      .optional(),
  ),
  PORT: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'must be a port number (0-65535)' }).int('must be a port number (0-65535)').min(0).max(65535, 'must be a port number (0-65535)').default(8080),
  ),
  HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
  PUBLIC_URL: z.preprocess(emptyToUndefined, httpUrl.optional()),
  CALENDAR_PROVIDER: z.preprocess(
    (v) => (typeof v === 'string' ? (v.trim() === '' ? undefined : v.trim().toLowerCase()) : v),
    z.enum(['google', 'microsoft'], { error: 'must be google or microsoft' }).default('google'),
  ),
  GOOGLE_CREDENTIALS_FILE: z.preprocess(emptyToUndefined, z.string().optional()),
  GOOGLE_API_URL: z.preprocess(emptyToUndefined, httpUrl.default('https://www.googleapis.com/')),
  GOOGLE_TOKEN_URL: z.preprocess(emptyToUndefined, httpUrl.default('https://oauth2.googleapis.com/token')),
  GOOGLE_MAX_REQUESTS_PER_MINUTE: z.preprocess(emptyToUndefined, positiveInt(10_000).default(9000)),
  GOOGLE_TIMEOUT_SECONDS: z.preprocess(emptyToUndefined, positiveInt(300).default(30)),
  // Microsoft 365 through Graph (CALENDAR_PROVIDER=microsoft); src/microsoft/.
  MICROSOFT_TENANT_ID: z.preprocess(
    emptyToUndefined,
    z.string().trim().regex(/^[A-Za-z0-9.-]{1,128}$/, 'must be the directory (tenant) id, a GUID, or its domain like contoso.onmicrosoft.com').optional(),
  ),
  MICROSOFT_CLIENT_ID: z.preprocess(
    emptyToUndefined,
    z.string().trim().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be the application (client) id, a GUID').optional(),
  ),
  MICROSOFT_CLIENT_SECRET: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  MICROSOFT_CLIENT_CERTIFICATE_FILE: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  MICROSOFT_GRAPH_URL: z.preprocess(emptyToUndefined, httpUrl.default('https://graph.microsoft.com/')),
  MICROSOFT_LOGIN_URL: z.preprocess(emptyToUndefined, httpUrl.default('https://login.microsoftonline.com/')),
  MICROSOFT_MAX_REQUESTS_PER_MINUTE: z.preprocess(emptyToUndefined, positiveInt(100_000).default(9000)),
  MICROSOFT_TIMEOUT_SECONDS: z.preprocess(emptyToUndefined, positiveInt(300).default(30)),
  GOOGLE_DOMAIN: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must be a domain name like example.com')
      .optional(),
  ),
  ORG_NAME: z.preprocess(emptyToUndefined, z.string().trim().max(200).optional()),
  RESOLUTION_WEBHOOK_URL: z.preprocess(emptyToUndefined, httpUrl.optional()),
  RESOLUTION_WEBHOOK_HEADERS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v, ctx) => {
        try {
          return parseWebhookHeaders(v);
        } catch (err) {
          if (!(err instanceof WebhookHeadersError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
          return z.NEVER;
        }
      })
      .optional(),
  ),
  WEBHOOK_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .superRefine((v, ctx) => {
        try {
          decodeWebhookSecret(v);
        } catch (err) {
          if (!(err instanceof WebhookSecretError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
        }
      })
      .optional(),
  ),
  WEBHOOK_TIMEOUT_SECONDS: z.preprocess(emptyToUndefined, positiveInt(300).default(30)),
  WEBHOOK_RETRY_BUDGET_SECONDS: z.preprocess(emptyToUndefined, positiveInt(7 * 86_400).optional()),
  WEBHOOK_MAX_PER_SECOND: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'must be a number' }).min(0.01, 'must be at least 0.01').max(10_000, 'must be at most 10000').optional(),
  ),
  WEBHOOK_CONCURRENCY: z.preprocess(emptyToUndefined, positiveInt(1000).default(DEFAULT_WEBHOOK_CONCURRENCY)),
  INGEST_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  ADMIN_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  LIFECYCLE_WEBHOOK_URL: z.preprocess(emptyToUndefined, httpUrl.optional()),
  LIFECYCLE_WEBHOOK_EVENTS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v) => v.split(',').map((t) => t.trim()).filter(Boolean))
      .refine((types) => types.length > 0, 'must list at least one event type')
      .superRefine((types, ctx) => {
        const unknown = types.filter((t) => !(LIFECYCLE_EVENT_TYPES as readonly string[]).includes(t));
        if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `names unknown event types ${unknown.join(', ')} (known: ${LIFECYCLE_EVENT_TYPES.join(', ')})` });
      })
      .optional(),
  ),
  NOTIFY_BEFORE_MINUTES: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').max(10_080, 'must be at most 10080').default(15),
  ),
  EVENT_FEED_MAX_LENGTH: z.preprocess(emptyToUndefined, positiveInt(100_000_000).default(DEFAULT_FEED_MAX_LENGTH)),
  FLEET_URL: z.preprocess(emptyToUndefined, httpUrl.optional()),
  FLEET_API_TOKEN: z.preprocess(emptyToUndefined, z.string().optional()),
  // Fleet as the source of truth (issue 9): used only with FLEET_URL.
  FLEET_SYNC_INTERVAL_SECONDS: z.preprocess(emptyToUndefined, positiveInt(86_400).default(300)),
  REBOOK_AFTER_FIRE_MINUTES: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').max(10_080, 'must be at most 10080').default(60),
  ),
  FLEET_REQUIRE_ONLINE: z.preprocess(emptyToUndefined, z.enum(['true', 'false'], { error: 'must be true or false' }).default('false')),
  POLL_INTERVAL_SECONDS: z.preprocess(emptyToUndefined, positiveInt(86_400).default(1800)),
  PUSH_HORIZON_DAYS: z.preprocess(emptyToUndefined, positiveInt(60).default(7)),
  CHANNEL_TTL_SECONDS: z.preprocess(emptyToUndefined, positiveInt(604_800).default(604_800)),
  HTTPS_PROXY: z.preprocess(emptyToUndefined, httpUrl.optional()),
  HTTP_PROXY: z.preprocess(emptyToUndefined, httpUrl.optional()),
  NO_PROXY: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  // Maintenance policies (issue 8): YAML/JSON file; unset = today's rules exactly.
  MAINTENANCE_CONFIG_FILE: z.preprocess(emptyToUndefined, z.string().trim().optional()),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
});

export type RawEnv = z.infer<typeof envSchema>;

/** The default key prefix of a daemon on real calendars. */
export const LIVE_KEY_PREFIX = '{mw}';
/**
 * The default key prefix in the sandbox: its calendars live in memory, so its state is its own (cleared at each
 * start) and a sandbox pointed at a production Redis can never touch the daemon's real remediations and queues.
 */
export const SANDBOX_KEY_PREFIX = '{mw-sandbox}';

export interface Config {
  /** `url` is the single server's (default redis://127.0.0.1:6379); `connection` is what clients are made from. */
  redis: { url: string; urlFromEnv: boolean; keyPrefix: string; connection: RedisConnectionConfig };
  http: { port: number; host: string; publicUrl: string };
  /** CALENDAR_PROVIDER: whose calendars are booked. */
  calendarProvider: CalendarProviderName;
  /** With CALENDAR_PROVIDER=google (sandbox also when the provider is microsoft: unused then). */
  google:
    | { mode: 'sandbox' }
    | { mode: 'live'; credentialsFile: string; apiUrl: string; tokenUrl: string };
  /** With CALENDAR_PROVIDER=microsoft: the sandbox (no MICROSOFT_* credentials) or a real tenant. */
  microsoft: MicrosoftConfig;
  /** Microsoft Graph's request budget (shared by every daemon on the same Redis prefix) and per-request timeout. */
  microsoftRequests: { maxPerMinute: number; timeoutSeconds: number };
  domain?: string;
  orgName?: string;
  resolutionWebhookUrl?: string;
  webhook: WebhookConfig;
  /** Project-wide Google request budget (shared by every daemon on the same Redis prefix) and per-request timeout. */
  googleRequests: { maxPerMinute: number; timeoutSeconds: number };
  /** Producers' bearer token (ingest routes). */
  ingestToken?: string;
  /** Admins' bearer token (every read and admin route). */
  adminToken?: string;
  /** Lifecycle webhooks: where (unset: none), which event types (null: all). */
  lifecycleWebhook: { url?: string; types: ReadonlySet<LifecycleEventType> | null };
  /** window.upcoming this many minutes before a start; 0 = none. */
  notifyBeforeMinutes: number;
  /** The global event feed keeps about this many events. */
  eventFeedMaxLength: number;
  fleet?: { url: string; apiToken: string };
  /** Fleet as the source of truth (with FLEET_URL): sync interval, follow-up after a fired window, online rule. */
  fleetSync: { intervalSeconds: number; rebookAfterFireMinutes: number; requireOnline: boolean };
  pollIntervalSeconds: number;
  pushHorizonDays: number;
  channelTtlSeconds: number;
  logLevel: RawEnv['LOG_LEVEL'];
  scheduling: SchedulingRules;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY (lower-case spellings too) for Google, Fleet and the webhook. */
  outboundProxy?: OutboundProxy;
  /** MAINTENANCE_CONFIG_FILE (validated by loadConfig; re-read on SIGHUP). Unset: today's rules exactly. */
  maintenanceConfigFile?: string;
}

export type MicrosoftConfig =
  | { mode: 'sandbox' }
  | {
      mode: 'live';
      tenantId: string;
      clientId: string;
      /** MICROSOFT_CLIENT_SECRET, or MICROSOFT_CLIENT_CERTIFICATE_FILE (PEM: certificate and private key). */
      credential: { kind: 'secret'; secret: string } | { kind: 'certificate'; file: string };
      graphUrl: string;
      loginUrl: string;
    };

/** Resolution webhook delivery: Standard Webhooks signing, per-request timeout, retry budget. */
export interface WebhookConfig {
  /** `whsec_…`; unset: deliveries carry webhook-id and webhook-timestamp but no signature. */
  secret?: string;
  /** RESOLUTION_WEBHOOK_HEADERS: sent with every resolution webhook request (may hold credentials: never logged). */
  extraHeaders?: Readonly<Record<string, string>>;
  timeoutSeconds: number;
  /** Unset: retries go on until the window has ended + 30 minutes. */
  retryBudgetSeconds?: number;
  /** WEBHOOK_MAX_PER_SECOND: requests per second per resolution receiver URL, across replicas; unset: no cap. */
  maxPerSecond?: number;
  /** WEBHOOK_CONCURRENCY: resolution webhook requests in flight per daemon. */
  concurrency: number;
}

/** One variable's problem. */
export interface ConfigProblem {
  variable: string;
  problem: string;
}

/**
 * Configuration problems; its message is the one line printed before the daemon exits, naming every bad variable
 * (`invalid configuration: A must be…; B is required…`). `variable` is the first one's.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly variable: string;
  readonly problems: readonly ConfigProblem[];
  constructor(variable: string, problem: string);
  constructor(problems: readonly ConfigProblem[]);
  constructor(variableOrProblems: string | readonly ConfigProblem[], problem?: string) {
    const problems = typeof variableOrProblems === 'string' ? [{ variable: variableOrProblems, problem: problem ?? 'is invalid' }] : variableOrProblems;
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.problem}`).join('; ')}`);
    this.name = 'ConfigError';
    this.variable = problems[0]?.variable ?? 'environment';
    this.problems = problems;
  }
}

export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): Config {
  const env = withProxyVariables(rawEnv);
  const problems: ConfigProblem[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    // Every bad variable at once (its first problem), so one start names them all.
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      if (problems.some((p) => p.variable === variable)) continue;
      const value = env[variable];
      const shown = value === undefined ? '' : ` (got ${JSON.stringify(redactIfSecret(variable, value))})`;
      problems.push({ variable, problem: `${issue.message}${shown}` });
    }
  }
  // The cross-variable rules, judged on the raw values so that they are reported with the per-variable ones.
  const set = (name: string) => typeof env[name] === 'string' && env[name].trim() !== '';
  if (set('FLEET_URL') !== set('FLEET_API_TOKEN')) {
    problems.push({ variable: set('FLEET_URL') ? 'FLEET_API_TOKEN' : 'FLEET_URL', problem: 'must be set together with the other Fleet variable' });
  }
  const provider = String(env.CALENDAR_PROVIDER ?? '').trim().toLowerCase() === 'microsoft' ? 'microsoft' : 'google';
  const microsoftCredentials = ['MICROSOFT_TENANT_ID', 'MICROSOFT_CLIENT_ID', 'MICROSOFT_CLIENT_SECRET', 'MICROSOFT_CLIENT_CERTIFICATE_FILE'] as const;
  if (provider === 'google') {
    // A half-configured switch would book Google calendars while the operator believes it books Outlook ones.
    for (const variable of microsoftCredentials.filter(set)) {
      problems.push({ variable, problem: 'is for CALENDAR_PROVIDER=microsoft (the provider is google: set CALENDAR_PROVIDER=microsoft, or remove it)' });
    }
  } else {
    if (set('GOOGLE_CREDENTIALS_FILE')) problems.push({ variable: 'GOOGLE_CREDENTIALS_FILE', problem: 'is for CALENDAR_PROVIDER=google (the provider is microsoft)' });
    if (microsoftCredentials.some(set)) {
      for (const variable of ['MICROSOFT_TENANT_ID', 'MICROSOFT_CLIENT_ID'] as const) {
        if (!set(variable)) problems.push({ variable, problem: 'is required with the other MICROSOFT_* credentials (the app registration in Microsoft Entra)' });
      }
      if (set('MICROSOFT_CLIENT_SECRET') === set('MICROSOFT_CLIENT_CERTIFICATE_FILE')) {
        problems.push({
          variable: 'MICROSOFT_CLIENT_SECRET',
          problem: set('MICROSOFT_CLIENT_SECRET')
            ? 'cannot be set together with MICROSOFT_CLIENT_CERTIFICATE_FILE (set exactly one credential)'
            : 'or MICROSOFT_CLIENT_CERTIFICATE_FILE is required (the app\'s credential; a certificate is what Microsoft recommends)',
        });
      }
      const certFile = set('MICROSOFT_CLIENT_CERTIFICATE_FILE') ? String(env.MICROSOFT_CLIENT_CERTIFICATE_FILE).trim() : undefined;
      if (certFile !== undefined && !existsSync(certFile)) {
        problems.push({ variable: 'MICROSOFT_CLIENT_CERTIFICATE_FILE', problem: `names no readable file (got ${JSON.stringify(certFile)})` });
      }
    }
  }
  const liveVariable = provider === 'google' ? 'GOOGLE_CREDENTIALS_FILE' : 'MICROSOFT_TENANT_ID';
  const sandbox = provider === 'google' ? !set('GOOGLE_CREDENTIALS_FILE') : !microsoftCredentials.some(set);
  if (sandbox && env.NODE_ENV?.trim() === 'production') {
    // The sandbox's calendars are in memory: in production that would book nobody's real calendar, silently.
    problems.push({
      variable: liveVariable,
      problem:
        provider === 'google'
          ? 'is required with NODE_ENV=production (without it the daemon runs the in-memory Google Calendar sandbox)'
          : 'is required with NODE_ENV=production and CALENDAR_PROVIDER=microsoft (without the MICROSOFT_* credentials the daemon runs the in-memory Microsoft 365 sandbox)',
    });
  }
  // A real deployment answers owners' emails and triggers fixes: both tokens are required there.
  if (!sandbox) {
    for (const variable of ['INGEST_TOKEN', 'ADMIN_TOKEN', 'RESOLUTION_WEBHOOK_URL'] as const) {
      if (set(variable) || problems.some((p) => p.variable === variable)) continue;
      problems.push({
        variable,
        problem:
          variable === 'RESOLUTION_WEBHOOK_URL'
            ? `is required with ${liveVariable}`
            : `is required with ${liveVariable} (producers and admins authenticate with bearer tokens)`,
      });
    }
  }
  // One token for both roles would undo the split: a producer could cancel windows and read owners' emails.
  if (set('ADMIN_TOKEN') && env.ADMIN_TOKEN?.trim() === env.INGEST_TOKEN?.trim()) {
    problems.push({ variable: 'ADMIN_TOKEN', problem: 'must differ from INGEST_TOKEN (producers must not get admin rights)' });
  }
  const redisConnection = redisConnectionOf(env, problems);
  // A bad maintenance file is reported in the loader's one line (file and path inside it: "teams.5.window.rrule: …").
  if (set('MAINTENANCE_CONFIG_FILE')) {
    try {
      loadMaintenanceConfig(String(env.MAINTENANCE_CONFIG_FILE).trim());
    } catch (err) {
      if (!(err instanceof MaintenanceConfigError)) throw err;
      problems.push({ variable: 'MAINTENANCE_CONFIG_FILE', problem: err.message });
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  const port = e.PORT;
  return {
    redis: {
      url: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
      urlFromEnv: e.REDIS_URL !== undefined,
      keyPrefix: e.REDIS_KEY_PREFIX ?? (sandbox ? SANDBOX_KEY_PREFIX : LIVE_KEY_PREFIX),
      connection: redisConnection as RedisConnectionConfig,
    },
    http: { port, host: e.HOST, publicUrl: stripTrailingSlash(e.PUBLIC_URL ?? `http://localhost:${port}`) },
    calendarProvider: e.CALENDAR_PROVIDER,
    google: e.GOOGLE_CREDENTIALS_FILE
      ? { mode: 'live', credentialsFile: e.GOOGLE_CREDENTIALS_FILE, apiUrl: withTrailingSlash(e.GOOGLE_API_URL), tokenUrl: e.GOOGLE_TOKEN_URL }
      : { mode: 'sandbox' },
    microsoft:
      e.CALENDAR_PROVIDER === 'microsoft' && e.MICROSOFT_TENANT_ID && e.MICROSOFT_CLIENT_ID
        ? {
            mode: 'live',
            tenantId: e.MICROSOFT_TENANT_ID,
            clientId: e.MICROSOFT_CLIENT_ID,
            credential: e.MICROSOFT_CLIENT_SECRET
              ? { kind: 'secret', secret: e.MICROSOFT_CLIENT_SECRET }
              : { kind: 'certificate', file: e.MICROSOFT_CLIENT_CERTIFICATE_FILE as string },
            graphUrl: withTrailingSlash(e.MICROSOFT_GRAPH_URL),
            loginUrl: withTrailingSlash(e.MICROSOFT_LOGIN_URL),
          }
        : { mode: 'sandbox' },
    microsoftRequests: { maxPerMinute: e.MICROSOFT_MAX_REQUESTS_PER_MINUTE, timeoutSeconds: e.MICROSOFT_TIMEOUT_SECONDS },
    domain: e.GOOGLE_DOMAIN,
    orgName: e.ORG_NAME,
    resolutionWebhookUrl: e.RESOLUTION_WEBHOOK_URL,
    webhook: {
      secret: e.WEBHOOK_SECRET,
      timeoutSeconds: e.WEBHOOK_TIMEOUT_SECONDS,
      retryBudgetSeconds: e.WEBHOOK_RETRY_BUDGET_SECONDS,
      ...(e.WEBHOOK_MAX_PER_SECOND !== undefined ? { maxPerSecond: e.WEBHOOK_MAX_PER_SECOND } : {}),
      concurrency: e.WEBHOOK_CONCURRENCY,
      ...(e.RESOLUTION_WEBHOOK_HEADERS ? { extraHeaders: e.RESOLUTION_WEBHOOK_HEADERS } : {}),
    },
    googleRequests: { maxPerMinute: e.GOOGLE_MAX_REQUESTS_PER_MINUTE, timeoutSeconds: e.GOOGLE_TIMEOUT_SECONDS },
    ingestToken: e.INGEST_TOKEN,
    adminToken: e.ADMIN_TOKEN,
    lifecycleWebhook: {
      url: e.LIFECYCLE_WEBHOOK_URL,
      types: e.LIFECYCLE_WEBHOOK_EVENTS ? new Set(e.LIFECYCLE_WEBHOOK_EVENTS as LifecycleEventType[]) : null,
    },
    notifyBeforeMinutes: e.NOTIFY_BEFORE_MINUTES,
    eventFeedMaxLength: e.EVENT_FEED_MAX_LENGTH,
    fleet: e.FLEET_URL && e.FLEET_API_TOKEN ? { url: stripTrailingSlash(e.FLEET_URL), apiToken: e.FLEET_API_TOKEN } : undefined,
    fleetSync: {
      intervalSeconds: e.FLEET_SYNC_INTERVAL_SECONDS,
      rebookAfterFireMinutes: e.REBOOK_AFTER_FIRE_MINUTES,
      requireOnline: e.FLEET_REQUIRE_ONLINE === 'true',
    },
    pollIntervalSeconds: e.POLL_INTERVAL_SECONDS,
    pushHorizonDays: e.PUSH_HORIZON_DAYS,
    channelTtlSeconds: e.CHANNEL_TTL_SECONDS,
    logLevel: e.LOG_LEVEL,
    scheduling: defaultSchedulingRules,
    outboundProxy: e.HTTPS_PROXY || e.HTTP_PROXY ? { httpsProxy: e.HTTPS_PROXY, httpProxy: e.HTTP_PROXY, noProxy: e.NO_PROXY } : undefined,
    ...(e.MAINTENANCE_CONFIG_FILE ? { maintenanceConfigFile: e.MAINTENANCE_CONFIG_FILE } : {}),
  };
}

/**
 * Exactly one of REDIS_URL (default), REDIS_SENTINELS (+ REDIS_SENTINEL_NAME), REDIS_CLUSTER_NODES. Judged on the
 * raw values, its problems reported with the others; undefined when there is one.
 */
function redisConnectionOf(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): RedisConnectionConfig | undefined {
  const value = (name: string) => (typeof env[name] === 'string' && env[name].trim() !== '' ? env[name].trim() : undefined);
  const before = problems.length;
  const problem = (variable: string, text: string) => {
    if (!problems.some((p) => p.variable === variable)) problems.push({ variable, problem: text });
  };
  const given = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].filter((v) => value(v) !== undefined);
  if (given.length > 1) problem(given[1], `cannot be set together with ${given[0]} (set exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)`);
  const nodes = (variable: string) => {
    try {
      return parseHostPorts(value(variable) ?? '');
    } catch (err) {
      problem(variable, (err as Error).message);
      return [];
    }
  };
  const sentinels = value('REDIS_SENTINELS');
  const name = value('REDIS_SENTINEL_NAME');
  const cluster = value('REDIS_CLUSTER_NODES');
  const tlsCaFile = value('REDIS_TLS_CA_FILE');
  if (name !== undefined && sentinels === undefined) problem('REDIS_SENTINEL_NAME', 'needs REDIS_SENTINELS (the sentinels to ask for that primary)');
  if (sentinels !== undefined && name === undefined) problem('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the name the sentinels monitor, e.g. mymaster)');
  if (tlsCaFile !== undefined && !existsSync(tlsCaFile)) problem('REDIS_TLS_CA_FILE', `names no readable file (got ${JSON.stringify(tlsCaFile)})`);
  const username = value('REDIS_USERNAME');
  const password = value('REDIS_PASSWORD');
  const sentinelPassword = value('REDIS_SENTINEL_PASSWORD');
  for (const [variable, v] of [['REDIS_USERNAME', username], ['REDIS_PASSWORD', password]] as const) {
    if (v !== undefined && sentinels === undefined && cluster === undefined) problem(variable, 'is for REDIS_SENTINELS or REDIS_CLUSTER_NODES (with REDIS_URL, put the credentials in the URL)');
  }
  if (sentinelPassword !== undefined && sentinels === undefined) problem('REDIS_SENTINEL_PASSWORD', 'needs REDIS_SENTINELS');
  const auth = username !== undefined || password !== undefined ? { ...(username ? { username } : {}), ...(password ? { password } : {}) } : undefined;
  const sentinelNodes = sentinels !== undefined ? nodes('REDIS_SENTINELS') : [];
  const clusterNodes = cluster !== undefined ? nodes('REDIS_CLUSTER_NODES') : [];
  if (problems.length > before) return undefined;
  if (sentinels !== undefined) {
    return { deployment: { kind: 'sentinel', sentinels: sentinelNodes, name: name ?? '' }, tlsCaFile, ...(auth ? { auth } : {}), ...(sentinelPassword ? { sentinelPassword } : {}) };
  }
  if (cluster !== undefined) return { deployment: { kind: 'cluster', nodes: clusterNodes }, tlsCaFile, ...(auth ? { auth } : {}) };
  return { deployment: { kind: 'url', url: value('REDIS_URL') ?? 'redis://127.0.0.1:6379' }, tlsCaFile };
}

/**
 * Google delivers push notifications only to an HTTPS address, and refuses to open a channel to any other: with
 * the real Google API and a plain-HTTP PUBLIC_URL, asking would cost a refused call per owner per minute. The
 * sandbox and other API endpoints (an emulator) take what they are given.
 */
export function pushPossible(config: Config): boolean {
  if (config.calendarProvider === 'microsoft') {
    // Graph refuses to create a subscription whose notification URL is not HTTPS (the emulator can be told to accept it).
    if (config.microsoft.mode === 'sandbox') return true;
    const host = new URL(config.microsoft.graphUrl).hostname;
    const realGraph = REAL_GRAPH_HOSTS.some((h) => host === h);
    return !realGraph || config.http.publicUrl.startsWith('https://');
  }
  if (config.google.mode === 'sandbox') return true;
  const realGoogle = new URL(config.google.apiUrl).hostname.endsWith('googleapis.com');
  return !realGoogle || config.http.publicUrl.startsWith('https://');
}

/** Microsoft Graph's national clouds and the global service. */
const REAL_GRAPH_HOSTS = ['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn'];

/** Whether the daemon runs on the in-memory calendars of its provider's sandbox (no credentials for that provider). */
export function isSandbox(config: Config): boolean {
  return config.calendarProvider === 'microsoft' ? config.microsoft.mode === 'sandbox' : config.google.mode === 'sandbox';
}

/** The proxy variables are read in either spelling; the lower-case one wins, as in curl and undici. */
function withProxyVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const pick = (name: string) => {
    const value = (env[name.toLowerCase()] ?? env[name])?.trim();
    // "proxy.corp:3128" means http://proxy.corp:3128, as curl reads it.
    return value && name !== 'NO_PROXY' && !value.includes('://') ? `http://${value}` : value;
  };
  return { ...env, HTTPS_PROXY: pick('HTTPS_PROXY'), HTTP_PROXY: pick('HTTP_PROXY'), NO_PROXY: pick('NO_PROXY') };
}

/** URL variables: a bad value is shown without its credentials (GOOGLE_TOKEN_URL is an endpoint, not a token). */
const URL_VARIABLES = new Set(['REDIS_URL', 'PUBLIC_URL', 'GOOGLE_API_URL', 'GOOGLE_TOKEN_URL', 'RESOLUTION_WEBHOOK_URL', 'LIFECYCLE_WEBHOOK_URL', 'FLEET_URL', 'MICROSOFT_GRAPH_URL', 'MICROSOFT_LOGIN_URL']);

/** The value as a ConfigError may quote it: never a secret, a token or a URL's credentials. */
function redactIfSecret(variable: string, value: string): string {
  // describeProxy keeps only scheme://host[:port] (or says <invalid>).
  if (/PROXY/.test(variable)) return describeProxy(value) ?? value;
  if (URL_VARIABLES.has(variable)) return withoutUrlCredentials(value);
  if (/TOKEN|SECRET|HEADERS|(^|_)KEY$/.test(variable)) return '<redacted>';
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) ? withoutUrlCredentials(value) : value;
}

/**
 * A URL (or what was meant as one) without userinfo, query string and fragment. Plain string work rather than
 * the URL parser, so that values the parser rejects or reads differently (a password holding `/`, `?` or `@`,
 * `user:pass@host` without a scheme) lose their credentials too: everything from the first `?` or `#` goes, and
 * so does everything from `//` (or the start) up to the last `@`.
 */
function withoutUrlCredentials(value: string): string {
  const queryAt = value.search(/[?#]/);
  const end = queryAt === -1 ? value.length : queryAt;
  const lastAt = value.lastIndexOf('@');
  if (lastAt === -1) return value.slice(0, end);
  const slashes = value.indexOf('//');
  const userinfoStart = slashes !== -1 && slashes < lastAt ? slashes + 2 : 0;
  return value.slice(0, Math.min(userinfoStart, end)) + value.slice(lastAt + 1, Math.max(lastAt + 1, end));
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
