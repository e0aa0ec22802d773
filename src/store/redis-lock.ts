import { randomUUID } from 'node:crypto';
import type { RedisClient as Redis } from '../lib/redis-connection';

/** Could not get a lock in time: the job is retried by BullMQ, nothing is half-done. */
export class LockTimeoutError extends Error {
  readonly code = 'LOCK_TIMEOUT';
  constructor(readonly key: string) {
    super(`timed out waiting for lock ${key}`);
    this.name = 'LockTimeoutError';
  }
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A short mutual-exclusion lock in Redis (SET NX PX + compare-and-delete). Serialises every state change of one
 * owner's remediations across workers and daemons. The TTL bounds the damage of a crashed holder.
 */
export class RedisLock {
  constructor(
    private readonly redis: Redis,
    private readonly options: { ttlMs?: number; waitMs?: number; retryMs?: number } = {},
  ) {}

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const ttl = this.options.ttlMs ?? 30_000;
    const deadline = Date.now() + (this.options.waitMs ?? 15_000);
    const retry = this.options.retryMs ?? 25;
    for (;;) {
      const ok = await this.redis.set(key, token, 'PX', ttl, 'NX');
      if (ok === 'OK') break;
      if (Date.now() > deadline) throw new LockTimeoutError(key);
      await new Promise((r) => setTimeout(r, retry + Math.random() * retry));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token);
    }
  }
}
