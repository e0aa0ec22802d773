import { request } from 'undici';
import { Cluster } from 'ioredis';
import type { Config } from '../config';
import { CALENDAR_SCOPES } from '../google/google-auth';
import { proxyDispatcher } from '../lib/outbound-proxy';
import { connectRedis, createRedisClient, describeRedis, type RedisClient } from '../lib/redis-connection';
import { calendarRequest, liveGoogle, ownerClient, type LiveGoogle } from './google-probe';
import type { Check, CheckStatus } from './io';
import { liveMicrosoft } from './microsoft-probe';
import type { MicrosoftCalendar } from '../microsoft/microsoft-calendar';

export interface DoctorOptions {
  /** The user to impersonate for the token, settings and freeBusy checks. */
  user?: string;
}

/**
 * Every check of a deployment, each named, in order: Redis (answers, eviction policy, persistence), Google (key
 * file, a token per scope, settings and freeBusy as the user), PUBLIC_URL, Fleet. A failure does not stop the
 * checks after it (those that depend on it are skipped, and say so).
 */
export async function doctor(config: Config, opts: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string) => checks.push({ name, status, detail });
  await redisChecks(config, add);
  if (config.calendarProvider === 'microsoft') await microsoftChecks(config, opts, add);
  else await googleChecks(config, opts, add);
  const publicUrl = config.http.publicUrl;
  const pushes = config.calendarProvider === 'microsoft' ? 'Graph creates no subscription' : 'Google delivers no push notifications';
  if (publicUrl.startsWith('https://')) add('public-url.https', 'pass', `PUBLIC_URL ${publicUrl} is HTTPS`);
  else add('public-url.https', 'warn', `PUBLIC_URL ${publicUrl} is not HTTPS: ${pushes} there, owners' changes are seen by the poll only`);
  await fleetCheck(config, add);
  return checks;
}

type Add = (name: string, status: CheckStatus, detail: string) => void;

async function redisChecks(config: Config, add: Add): Promise<void> {
  const where = describeRedis(config.redis.connection);
  let client: RedisClient;
  try {
    client = createRedisClient(config.redis.connection, 'main', { connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  } catch (err) {
    add('redis.ping', 'fail', `${where}: ${(err as Error).message}`);
    return;
  }
  let lastError = '';
  client.on('error', (err: Error) => {
    lastError = err.message;
  });
  try {
    try {
      await withTimeout(connectRedis(client), 5000);
      const pong = await withTimeout(client.ping(), 3000);
      if (pong !== 'PONG') throw new Error(`answered ${pong}`);
      add('redis.ping', 'pass', `Redis answers (${where})`);
    } catch (err) {
      add('redis.ping', 'fail', `Redis does not answer at ${where}: ${lastError || (err as Error).message}`);
      add('redis.maxmemory-policy', 'warn', 'skipped: Redis does not answer');
      add('redis.persistence', 'warn', 'skipped: Redis does not answer');
      return;
    }
    // On a Cluster, every primary: each holds some key prefix's slot.
    const servers = client instanceof Cluster ? client.nodes('master') : [client];
    const settings = await Promise.all(servers.map((s) => serverSettings(s).catch((err: Error) => err)));
    const refused = settings.find((s): s is Error => s instanceof Error);
    if (refused) {
      const why = `CONFIG GET is not allowed here (${refused.message}); check it in your provider's settings`;
      add('redis.maxmemory-policy', 'warn', `cannot read maxmemory-policy: ${why}; it must be noeviction`);
      add('redis.persistence', 'warn', `cannot read the persistence settings: ${why}; turn on AOF or RDB snapshots`);
      return;
    }
    const ok = settings as ServerSettings[];
    const evicting = ok.filter((s) => s.policy !== 'noeviction');
    if (evicting.length === 0) add('redis.maxmemory-policy', 'pass', 'maxmemory-policy is noeviction');
    else add('redis.maxmemory-policy', 'fail', `maxmemory-policy is ${[...new Set(evicting.map((s) => s.policy))].join(', ')}: Redis may evict queued jobs and remediations when full; set it to noeviction`);
    const volatile = ok.filter((s) => !s.aof && !s.save);
    if (volatile.length === 0) {
      const how = [...new Set(ok.map((s) => [s.aof ? 'AOF' : '', s.save ? `RDB save ${s.save}` : ''].filter(Boolean).join(' + ')))].join('; ');
      const rdbOnly = ok.some((s) => !s.aof);
      add('redis.persistence', 'pass', `persistence on (${how})${rdbOnly ? '; appendonly yes is recommended: RDB snapshots alone can lose minutes of writes' : ''}`);
    } else {
      add('redis.persistence', 'warn', 'persistence is off (appendonly no, no save points): a Redis restart forgets every booked window and queued job; set appendonly yes');
    }
  } finally {
    client.disconnect();
  }
}

interface ServerSettings {
  policy: string;
  aof: boolean;
  save: string;
}

async function serverSettings(server: RedisClient): Promise<ServerSettings> {
  const get = async (name: string) => {
    const reply = (await withTimeout(server.call('CONFIG', 'GET', name), 3000)) as string[];
    return reply[1] ?? '';
  };
  return { policy: await get('maxmemory-policy'), aof: (await get('appendonly')) === 'yes', save: (await get('save')).trim() };
}

async function googleChecks(config: Config, opts: DoctorOptions, add: Add): Promise<void> {
  if (config.google.mode === 'sandbox') {
    add('google.key-file', 'warn', 'GOOGLE_CREDENTIALS_FILE is not set: the daemon runs its in-memory sandbox, not real calendars');
    return;
  }
  let google: LiveGoogle;
  try {
    google = liveGoogle(config);
    add('google.key-file', 'pass', `${config.google.credentialsFile} is a service-account key for ${google.key.client_email}`);
  } catch (err) {
    add('google.key-file', 'fail', (err as Error).message);
    return;
  }
  const user = opts.user;
  if (!user) {
    add('google.token', 'warn', 'skipped: pass --user EMAIL (a user of the domain) to check domain-wide delegation, settings and freeBusy');
    return;
  }
  // One scope at a time: Google refuses a token outright when any scope asked for is not delegated, without naming it.
  const missing: string[] = [];
  for (const scope of CALENDAR_SCOPES) {
    const short = scope.replace('https://www.googleapis.com/auth/', '');
    try {
      await ownerClient(google, user, [scope]);
      add(`google.scope.${short}`, 'pass', `a token for ${user} with ${scope}`);
    } catch (err) {
      missing.push(scope);
      const reason = (err as Error).message;
      const hint = reason === 'unauthorized_client' ? `: add ${scope} to client id of ${google.key.client_email} in the Admin console (Security › API controls › Domain-wide delegation)` : '';
      add(`google.scope.${short}`, 'fail', `no token for ${user} with ${scope} (${reason})${hint}`);
    }
  }
  if (missing.length > 0) {
    add('google.calendar', 'warn', `skipped settings and freeBusy: scope${missing.length > 1 ? 's' : ''} missing`);
    return;
  }
  let client;
  try {
    client = await ownerClient(google, user);
  } catch (err) {
    add('google.calendar', 'fail', `no token for ${user} with all scopes together (${(err as Error).message})`);
    return;
  }
  try {
    const tz = await calendarRequest<{ value?: string }>(google, client, 'users/me/settings/timezone');
    add('google.settings', 'pass', `settings answer for ${user} (time zone ${tz.value ?? 'unset'})`);
  } catch (err) {
    add('google.settings', 'fail', `settings.get for ${user}: ${(err as Error).message}`);
  }
  try {
    const now = Date.now();
    const answer = await calendarRequest<{ calendars?: Record<string, { errors?: Array<{ reason?: string }> }> }>(google, client, 'freeBusy', {
      timeMin: new Date(now).toISOString(),
      timeMax: new Date(now + 86_400_000).toISOString(),
      items: [{ id: user }],
    });
    const entry = Object.entries(answer.calendars ?? {}).find(([id]) => id.toLowerCase() === user.toLowerCase())?.[1];
    const errors = entry?.errors?.map((e) => e.reason).filter(Boolean) ?? [];
    if (!entry) add('google.freebusy', 'fail', `freeBusy for ${user}: the answer has no calendar for ${user}`);
    else if (errors.length > 0) add('google.freebusy', 'fail', `freeBusy for ${user}: calendar error ${errors.join(', ')}`);
    else add('google.freebusy', 'pass', `freeBusy answers for ${user}`);
  } catch (err) {
    add('google.freebusy', 'fail', `freeBusy for ${user}: ${(err as Error).message}`);
  }
}

/** Microsoft 365: the credential, a token from Entra, and with --user the mailbox's zone and free/busy. */
async function microsoftChecks(config: Config, opts: DoctorOptions, add: Add): Promise<void> {
  if (config.microsoft.mode === 'sandbox') {
    add('microsoft.credentials', 'warn', 'MICROSOFT_TENANT_ID / MICROSOFT_CLIENT_ID are not set: the daemon runs its in-memory Microsoft 365 sandbox, not real mailboxes');
    return;
  }
  const ms = config.microsoft;
  let calendar: MicrosoftCalendar;
  try {
    calendar = liveMicrosoft(config);
    add('microsoft.credentials', 'pass', ms.credential.kind === 'secret' ? `client secret for app ${ms.clientId}` : `${ms.credential.file} holds a certificate and its private key`);
  } catch (err) {
    add('microsoft.credentials', 'fail', (err as Error).message);
    return;
  }
  const ready = await calendar.reachability(20_000);
  if (!ready.ok) {
    add('microsoft.token', 'fail', `no token from ${ms.loginUrl}${ms.tenantId} for app ${ms.clientId}: ${ready.error ?? 'no answer'}`);
    return;
  }
  add('microsoft.token', 'pass', `a Graph token for app ${ms.clientId} in tenant ${ms.tenantId}`);
  const user = opts.user;
  if (!user) {
    add('microsoft.mailbox', 'warn', 'skipped: pass --user EMAIL (a mailbox the app should book) to check MailboxSettings.Read and getSchedule');
    return;
  }
  try {
    const zone = await calendar.timeZone(user);
    add('microsoft.mailbox-settings', zone ? 'pass' : 'warn', zone ? `mailboxSettings answer for ${user} (time zone ${zone})` : `mailboxSettings for ${user}: no usable time zone (the fallback zone would apply)`);
  } catch (err) {
    add('microsoft.mailbox-settings', 'fail', `mailboxSettings for ${user}: ${(err as Error).message} (MailboxSettings.Read granted, and the mailbox in the app's RBAC scope?)`);
  }
  try {
    const now = Date.now();
    const availability = (await calendar.freeBusy([user], new Date(now).toISOString(), new Date(now + 86_400_000).toISOString())).get(user);
    if (availability?.kind === 'known') add('microsoft.get-schedule', 'pass', `getSchedule answers for ${user}`);
    else add('microsoft.get-schedule', 'fail', `getSchedule for ${user}: ${availability?.reason ?? 'no answer'}`);
  } catch (err) {
    add('microsoft.get-schedule', 'fail', `getSchedule for ${user}: ${(err as Error).message} (Calendars.ReadWrite granted?)`);
  }
}

async function fleetCheck(config: Config, add: Add): Promise<void> {
  if (!config.fleet) return;
  const url = `${config.fleet.url}/api/v1/fleet/me`;
  try {
    const res = await request(url, {
      headers: { authorization: `Bearer ${config.fleet.apiToken}`, accept: 'application/json' },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
      dispatcher: proxyDispatcher(config.outboundProxy),
    });
    await res.body.dump();
    if (res.statusCode === 200) add('fleet', 'pass', `Fleet answers at ${config.fleet.url} and accepts FLEET_API_TOKEN`);
    else if (res.statusCode === 401 || res.statusCode === 403) add('fleet', 'fail', `Fleet at ${config.fleet.url} refuses FLEET_API_TOKEN (HTTP ${res.statusCode})`);
    else add('fleet', 'fail', `Fleet at ${config.fleet.url} answered HTTP ${res.statusCode} for /api/v1/fleet/me`);
  } catch (err) {
    add('fleet', 'fail', `Fleet at ${config.fleet.url} does not answer: ${(err as Error).message}`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
