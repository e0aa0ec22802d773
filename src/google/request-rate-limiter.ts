import { randomUUID } from 'node:crypto';
import type { RedisClient as Redis } from '../lib/redis-connection';

/** Google's project-wide quota is 10,000 requests per minute; the daemon stays below it by default. */
export const DEFAULT_GOOGLE_REQUESTS_PER_MINUTE = 9000;

/** Admission to send one request to Google. Resolves when the request may go out. */
export interface RequestLimiter {
  acquire(): Promise<void>;
}

/** The project-wide request budget stayed used up for longer than the limiter may wait. */
export class RequestBudgetTimeoutError extends Error {
  readonly code = 'GOOGLE_REQUEST_BUDGET_TIMEOUT';
  constructor(
    readonly waitedMs: number,
    readonly limit: number,
    readonly windowMs: number,
  ) {
    super(`waited ${waitedMs} ms for the Google request budget (${limit} requests per ${windowMs} ms) without getting a slot`);
    this.name = 'RequestBudgetTimeoutError';
  }
}

export interface RedisRequestLimiterOptions {
  redis: Redis;
  /** The daemon's key prefix (with its `{hash tag}`): the one key lives on the prefix's Redis Cluster slot. */
  keyPrefix: string;
  /** Requests allowed in any window of `windowMs`, summed over every daemon sharing the prefix. */
  limit: number;
  /** Default 60,000 (Google counts per minute). Tests shorten it. */
  windowMs?: number;
  /**
   * How much longer one request may take to reach Google than another sent at the same moment (network, event
   * loop). Google counts arrivals, we admit sends: each slot is held for windowMs + arrivalSkewMs, so at most
   * `limit` requests arrive in any window as long as transit times differ by less than this. Default 1,000.
   */
  arrivalSkewMs?: number;
  /** How long one acquire may wait for a slot before it fails. Default 60,000. */
  maxWaitMs?: number;
  /** Each wait is lengthened by a uniform random [0, jitterMs) so waiting daemons do not wake in step. Default 100. */
  jitterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Returns [0, 1). Default Math.random. */
  random?: () => number;
  /** Told when a request has to wait for a slot (metrics). */
  onWait?: () => void;
}

/**
 * A sliding log in one sorted set, in Redis time (so the replicas' clocks do not matter): the requests admitted
 * in the last `hold` ms, scored by admission time in microseconds. Admits when fewer than `limit` remain after the
 * old ones are dropped; otherwise answers how many ms until the oldest leaves.
 * Invariant: any interval of length `hold` contains at most `limit` admissions (exact, not bucketed).
 *
 * KEYS[1] the log · ARGV[1] limit · ARGV[2] hold ms · ARGV[3] a unique member for this request
 * Returns 0 (admitted) or the ms to wait before asking again.
 */
const ACQUIRE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local limit = tonumber(ARGV[1])
local hold = tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - hold)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil((tonumber(oldest[2]) + hold - now) / 1000))
`;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The project-wide Google request budget, shared by every daemon on the same Redis and key prefix: at most
 * `limit` requests in any `windowMs`, never more, whatever the number of replicas (sent in any windowMs +
 * arrivalSkewMs, so that it also holds where Google counts them). A request that finds the budget
 * used up waits (jittered) until a slot frees, for at most `maxWaitMs`, then fails with RequestBudgetTimeoutError.
 * If Redis cannot be asked, acquire fails too: the budget is never guessed.
 */
export class RedisRequestLimiter implements RequestLimiter {
  readonly key: string;
  readonly limit: number;
  readonly windowMs: number;
  /** How long each admission counts: windowMs + arrivalSkewMs. */
  readonly holdMs: number;
  private readonly maxWaitMs: number;
  private readonly jitterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: RedisRequestLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
    this.key = `${options.keyPrefix}:google:requests`;
    this.limit = options.limit;
    this.windowMs = options.windowMs ?? 60_000;
    this.holdMs = this.windowMs + (options.arrivalSkewMs ?? 1000);
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.jitterMs = options.jitterMs ?? 100;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  async acquire(): Promise<void> {
    const member = randomUUID();
    const started = Date.now();
    for (;;) {
      const waitMs = Number(await this.options.redis.eval(ACQUIRE, 1, this.key, this.limit, this.holdMs, member));
      if (waitMs === 0) return;
      const waited = Date.now() - started;
      if (waited === 0 || waited < 1) this.options.onWait?.();
      if (waited >= this.maxWaitMs) throw new RequestBudgetTimeoutError(waited, this.limit, this.windowMs);
      const pause = Math.min(waitMs + Math.floor(this.random() * this.jitterMs), this.maxWaitMs - waited);
      await this.sleep(Math.max(1, pause));
    }
  }
}
