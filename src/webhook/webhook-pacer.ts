import { createHash } from 'node:crypto';
import type { RedisClient as Redis } from '../lib/redis-connection';

/**
 * WEBHOOK_MAX_PER_SECOND: the send slots of one receiver URL, shared by every daemon on the same Redis and key
 * prefix. Each call takes the next free slot and says how long to wait for it, so a burst (thousands of windows
 * starting at 09:00) goes out evenly spaced, in the order the slots were taken, never faster than the receiver's
 * limit, and nothing is dropped.
 */
export interface WebhookPacer {
  /** Takes the next send slot for `url`: the ms to wait before sending (0: now). */
  reserve(url: string): Promise<number>;
}

/**
 * Virtual scheduling in Redis time (the replicas' clocks do not matter): the key holds the time of the last slot
 * given out, in µs; the next slot is max(now, last + interval). One key per URL, kept a minute past its last slot.
 *
 * KEYS[1] the URL's key · ARGV[1] interval µs · Returns the ms to wait.
 */
const RESERVE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, last + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', slot), 'PX', math.floor((slot - now) / 1000) + 60000)
return math.ceil((slot - now) / 1000)
`;

export interface RedisWebhookPacerOptions {
  redis: Redis;
  /** The daemon's key prefix (with its `{hash tag}`). */
  keyPrefix: string;
  /** Requests per second per receiver URL, evenly spaced. */
  maxPerSecond: number;
}

export class RedisWebhookPacer implements WebhookPacer {
  private readonly intervalUs: number;

  constructor(private readonly options: RedisWebhookPacerOptions) {
    if (!(options.maxPerSecond > 0)) throw new RangeError(`maxPerSecond must be positive, got ${options.maxPerSecond}`);
    this.intervalUs = Math.round(1_000_000 / options.maxPerSecond);
  }

  async reserve(url: string): Promise<number> {
    const key = `${this.options.keyPrefix}:webhook:pace:${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
    return Number(await this.options.redis.eval(RESERVE, 1, key, this.intervalUs));
  }
}
