/**
 * The project-wide Google request budget: the Lua sliding log on a real Redis (127.0.0.1:6379, own prefix).
 */
import { Redis } from 'ioredis';
import { RedisRequestLimiter, RequestBudgetTimeoutError } from '../../src/google/request-rate-limiter';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { maxInWindow } from '../support/request-windows';

const redis = new Redis(TEST_REDIS_URL);
let prefix: string;

beforeEach(() => {
  prefix = uniquePrefix('rate');
});
afterEach(() => deletePrefix(prefix));
afterAll(() => redis.quit());

/** A limiter measured in Redis time itself: no allowance for transit skew unless asked. */
function limiter(options: { limit: number; windowMs: number; arrivalSkewMs?: number; maxWaitMs?: number; jitterMs?: number; connection?: Redis }) {
  return new RedisRequestLimiter({ redis: options.connection ?? redis, keyPrefix: prefix, arrivalSkewMs: 0, ...options });
}

/** Admission times (Redis time, ms with µs fractions) of the requests still in the log, oldest first. */
async function admissions(l: RedisRequestLimiter): Promise<number[]> {
  const flat = await redis.zrange(l.key, '0', '-1', 'WITHSCORES');
  return flat.filter((_, i) => i % 2 === 1).map((us) => Number(us) / 1000);
}

it('admits up to the limit at once, then makes the next request wait until the oldest leaves the window', async () => {
  const l = limiter({ limit: 5, windowMs: 400, jitterMs: 1 });
  const started = Date.now();
  await Promise.all(Array.from({ length: 5 }, () => l.acquire()));
  expect(Date.now() - started).toBeLessThan(200);
  const [first] = await admissions(l);

  await l.acquire();
  expect(Date.now() - started).toBeGreaterThanOrEqual(395);
  const times = await admissions(l);
  // The sixth came in one window after the first, which has left the log.
  expect(times).not.toContain(first);
  expect(times[times.length - 1] - first).toBeGreaterThanOrEqual(400);
});

it('never admits more than the limit in any window, for many limiters (replicas) on separate connections', async () => {
  const connections = Array.from({ length: 4 }, () => new Redis(TEST_REDIS_URL));
  try {
    const windowMs = 1000;
    const replicas = connections.map((connection) => limiter({ limit: 10, windowMs, jitterMs: 20, connection }));
    // Every admission is in the log for a whole window: reading it right after each acquire sees them all.
    const seen = new Set<number>();
    const acquireAndRead = async (l: RedisRequestLimiter) => {
      await l.acquire();
      for (const t of await admissions(l)) seen.add(t);
    };
    const started = Date.now();
    await Promise.all(replicas.flatMap((l) => Array.from({ length: 8 }, () => acquireAndRead(l))));

    expect(seen.size).toBe(32);
    // 32 requests at 10 per window: the last ones waited for three windows.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * windowMs - 50);
    expect(maxInWindow([...seen], windowMs)).toBe(10);
  } finally {
    for (const c of connections) c.disconnect();
  }
});

it('holds each slot for the window plus the allowed arrival skew', async () => {
  const l = limiter({ limit: 2, windowMs: 300, arrivalSkewMs: 200, jitterMs: 1 });
  expect(l.holdMs).toBe(500);
  await l.acquire();
  const [first] = await admissions(l);
  await l.acquire();
  await l.acquire();
  const times = await admissions(l);
  expect(times[times.length - 1] - first).toBeGreaterThanOrEqual(500);
});

it('fails with RequestBudgetTimeoutError when no slot frees within maxWaitMs', async () => {
  const l = limiter({ limit: 2, windowMs: 10_000, maxWaitMs: 150, jitterMs: 1 });
  await l.acquire();
  await l.acquire();
  const started = Date.now();
  const err = await l.acquire().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RequestBudgetTimeoutError);
  expect(err).toMatchObject({ code: 'GOOGLE_REQUEST_BUDGET_TIMEOUT', limit: 2, windowMs: 10_000 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  expect(Date.now() - started).toBeLessThan(1000);
  // The refused request took no slot.
  expect(await admissions(l)).toHaveLength(2);
});

it('keeps one key under the daemon prefix (one Redis Cluster slot), expiring after the window', async () => {
  const l = limiter({ limit: 3, windowMs: 2000, arrivalSkewMs: 500 });
  await l.acquire();
  expect(l.key.startsWith(`${prefix}:`)).toBe(true);
  expect(await redis.keys(`${prefix}*`)).toEqual([l.key]);
  const ttl = await redis.pttl(l.key);
  expect(ttl).toBeGreaterThan(2500);
  expect(ttl).toBeLessThanOrEqual(3500);
});

it('rejects a limit that is not a positive integer', () => {
  expect(() => limiter({ limit: 0, windowMs: 1000 })).toThrow(RangeError);
  expect(() => limiter({ limit: 1.5, windowMs: 1000 })).toThrow(RangeError);
});
