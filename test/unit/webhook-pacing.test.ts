/**
 * WEBHOOK_MAX_PER_SECOND's send slots (the Lua virtual schedule on a real Redis, own prefix) and
 * WEBHOOK_CONCURRENCY's in-process limit.
 */
import { Redis } from 'ioredis';
import { ConcurrencyLimit } from '../../src/lib/concurrency-limit';
import { RedisWebhookPacer } from '../../src/webhook/webhook-pacer';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const redis = new Redis(TEST_REDIS_URL);
let prefix: string;

beforeEach(() => {
  prefix = uniquePrefix('pace');
});
afterEach(() => deletePrefix(prefix));
afterAll(() => redis.quit());

describe('RedisWebhookPacer', () => {
  it('spaces the slots of one URL evenly at 1/rate, in the order they were taken', async () => {
    const pacer = new RedisWebhookPacer({ redis, keyPrefix: prefix, maxPerSecond: 10 });
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) waits.push(await pacer.reserve('https://tines.example/hook'));
    // Taken a few ms apart: slot i is about i × 100 ms away.
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(i * 100 - 30);
      expect(w).toBeLessThanOrEqual(i * 100 + 1);
    });
    expect(waits).toEqual([...waits].sort((a, b) => a - b));
  });

  it('shares the slots between daemons on the same prefix, and keeps URLs apart', async () => {
    const other = new Redis(TEST_REDIS_URL);
    try {
      const a = new RedisWebhookPacer({ redis, keyPrefix: prefix, maxPerSecond: 4 });
      const b = new RedisWebhookPacer({ redis: other, keyPrefix: prefix, maxPerSecond: 4 });
      const waits = await Promise.all([a.reserve('https://r.example/1'), b.reserve('https://r.example/1'), a.reserve('https://r.example/1'), b.reserve('https://r.example/1')]);
      // Four slots 250 ms apart, whichever daemon took which.
      expect([...waits].sort((x, y) => x - y).map((w) => Math.round(w / 250))).toEqual([0, 1, 2, 3]);
      // Another receiver has its own slots.
      expect(await b.reserve('https://r.example/2')).toBe(0);
    } finally {
      await other.quit();
    }
  });

  it('gives a slot at once again after a quiet period, and keeps no key long after its last slot', async () => {
    const pacer = new RedisWebhookPacer({ redis, keyPrefix: prefix, maxPerSecond: 20 });
    expect(await pacer.reserve('https://r.example/q')).toBe(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(await pacer.reserve('https://r.example/q')).toBe(0);
    const [key] = await redis.keys(`${prefix}:webhook:pace:*`);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_100);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RedisWebhookPacer({ redis, keyPrefix: prefix, maxPerSecond: 0 })).toThrow(RangeError);
  });
});

describe('ConcurrencyLimit', () => {
  it('runs at most `limit` at once and serves waiters in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const release: Array<() => void> = [];
    const jobs = Array.from({ length: 6 }, (_, i) =>
      limit.run(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise<void>((r) => release.push(r));
        running--;
        return i;
      }),
    );
    for (let round = 0; round < 6; round++) {
      await new Promise((r) => setImmediate(r));
      release.shift()?.();
    }
    await new Promise((r) => setImmediate(r));
    while (release.length > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(limit.active).toBe(0);
  });

  it('frees the slot when the work fails', async () => {
    const limit = new ConcurrencyLimit(1);
    await expect(limit.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit.run(async () => 'next')).toBe('next');
  });
});
