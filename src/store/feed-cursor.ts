import type { RedisClient as Redis } from '../lib/redis-connection';
import type { FeedCursorStore } from '../services/lifecycle-webhook-service';

/** The lifecycle dispatcher's place in the feed: {mw}:lifecycle:cursor (a stream entry id). */
export class RedisFeedCursor implements FeedCursorStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}:lifecycle:cursor`;
  }

  cursor(): Promise<string | null> {
    return this.redis.get(this.key);
  }

  async initCursor(value: string): Promise<void> {
    await this.redis.set(this.key, value, 'NX');
  }

  async setCursor(value: string): Promise<void> {
    await this.redis.set(this.key, value);
  }
}
