/**
 * The project-wide Google request budget across replicas: several gateways (each with its own Redis connection,
 * token cache and limiter, as separate daemons have) share one key prefix and hammer the Calendar emulator.
 * What the emulator saw is the evidence: never more than the limit in any window.
 */
import { Redis } from 'ioredis';
import { OwnerAuthProvider } from '../../src/google/google-auth';
import { GoogleCalendarGateway } from '../../src/google/google-calendar-gateway';
import { RedisRequestLimiter } from '../../src/google/request-rate-limiter';
import { CalendarEmulator, createServiceAccountKey, type ServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { maxInWindow } from '../support/request-windows';
import { DOMAIN, newEvent } from './google-calendar-gateway-fixture';


let emulator: CalendarEmulator;
let key: ServiceAccountKey;
let prefix: string;
const ARRIVAL_SKEW_MS = 500;
const connections: Redis[] = [];

beforeAll(async () => {
  emulator = new CalendarEmulator({ domain: DOMAIN, autoCreateUsers: true });
  key = createServiceAccountKey();
  emulator.trustServiceAccount(key);
  emulator.dropNotifications(true);
  await emulator.listen(0);
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  prefix = uniquePrefix('google-rate');
  emulator.clearFaults();
  emulator.resetCalls();
});
afterEach(async () => {
  for (const c of connections.splice(0)) c.disconnect();
  await deletePrefix(prefix);
});

/** One daemon's Google adapter: its own Redis connection, limiter, token cache and gateway. */
function replica(budget?: { limit: number; windowMs: number }) {
  let limiter: RedisRequestLimiter | undefined;
  if (budget) {
    const redis = new Redis(TEST_REDIS_URL);
    connections.push(redis);
    // The emulator logs a request when it answers: serving 20 token requests queued in one process took up to
    // ~200 ms. That is the transit skew to allow for here, with room (production: 1 s against Google's minute).
    limiter = new RedisRequestLimiter({ redis, keyPrefix: prefix, ...budget, arrivalSkewMs: ARRIVAL_SKEW_MS, jitterMs: 20 });
  }
  const auth = new OwnerAuthProvider({ clientEmail: key.client_email, privateKey: key.private_key, tokenUrl: emulator.tokenUrl, limiter });
  const gateway = new GoogleCalendarGateway({ auth, rootUrl: emulator.baseUrl, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
  return { gateway, limiter };
}

let counter = 0;
/** A booking's worth of calls for a fresh owner: token, time zone, freeBusy, insert, read back. */
async function bookOne(gateway: GoogleCalendarGateway): Promise<void> {
  counter += 1;
  const owner = `rate${counter}-${Date.now().toString(36)}@${DOMAIN}`;
  const id = `rl${Date.now().toString(32)}${counter.toString(32)}`;
  await gateway.timeZone(owner);
  await gateway.freeBusy([owner], '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z');
  await gateway.createEvent(owner, newEvent(id));
  await gateway.getEvent(owner, id);
}

it('takes a slot for every Calendar API request that leaves (calls, retries, the call after a 401 refresh), none for token requests (Google does not count them)', async () => {
  const { gateway, limiter } = replica({ limit: 1000, windowMs: 60_000 });
  emulator.injectFault({ method: 'events.insert', status: 503, times: 2 });
  emulator.injectFault({ method: 'events.get', status: 401, times: 1 });
  await bookOne(gateway);

  const redis = connections[0];
  expect(emulator.callCounts()).toMatchObject({ token: 2, 'events.insert': 3, 'events.get': 2 });
  expect(await redis.zcard(limiter?.key ?? '')).toBe(emulator.calls.filter((c) => c.method !== 'token').length);
  expect(await redis.zcard(limiter?.key ?? '')).toBe(7); // settings.get, freebusy.query, 3 inserts, 2 gets
});

it('never lets several replicas together exceed the limit in any window, faults and retries included', async () => {
  const limit = 20;
  const windowMs = 1000;
  const replicas = Array.from({ length: 4 }, () => replica({ limit, windowMs }));
  emulator.injectFault({ status: 503, probability: 0.2 });
  const started = Date.now();
  await Promise.all(replicas.flatMap(({ gateway }) => Array.from({ length: 4 }, () => bookOne(gateway))));

  // What Google's quota counts: Calendar API requests (token requests are not counted, and take no slot).
  const calls = emulator.calls.filter((c) => c.method !== 'token');
  const times = calls.map((c) => c.at);
  const observed = maxInWindow(times, windowMs);
  const retried = calls.filter((c) => c.status >= 400).length;
  const sorted = [...times].sort((a, b) => a - b);
  const tightest = Math.min(...sorted.slice(limit).map((t, i) => t - sorted[i]));
  console.log(
    `rate limit: ${calls.length} requests (${retried} failed and retried) from 4 replicas in ${Date.now() - started} ms; ` +
      `max ${observed} in any ${windowMs} ms window (limit ${limit}); ${limit + 1} requests never took less than ${tightest} ms`,
  );
  expect(retried).toBeGreaterThan(0);
  // 16 bookings x 4 API requests, 20 per window (+ skew): the last ones waited for at least three more windows.
  expect(calls.length).toBeGreaterThanOrEqual(64);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3 * windowMs);
  expect(observed).toBeLessThanOrEqual(limit);
});

it('(control) the same load without the budget bursts far above the limit', async () => {
  const replicas = Array.from({ length: 4 }, () => replica());
  await Promise.all(replicas.flatMap(({ gateway }) => Array.from({ length: 4 }, () => bookOne(gateway))));
  expect(maxInWindow(emulator.calls.map((c) => c.at), 1000)).toBeGreaterThan(2 * 20);
});
