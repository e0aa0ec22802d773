import { describeGoogleError } from './google-errors';

/**
 * The one retry policy for Google calls (gaxios' own retry is switched off): full-jitter exponential backoff on
 * rate limits, server errors and network failures; one token refresh on 401; nothing else is retried.
 */
export interface RetryOptions {
  /** Total attempts including the first one. Default 6. */
  maxAttempts?: number;
  /** Backoff base in ms: attempt n waits random() * min(maxDelayMs, baseDelayMs * 2^(n-1)). Default 500. */
  baseDelayMs?: number;
  /** Backoff cap in ms. Default 32,000. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Returns [0, 1). Default Math.random. */
  random?: () => number;
}

export type RetryDecision = 'retry' | 'refresh-auth' | 'fail';

export interface RetryHooks {
  /** Called once on the first 401: drop the cached token so the next attempt fetches a new one. */
  refreshAuth?: () => void;
  /** Called before each backoff sleep (for logging). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export function classifyGoogleError(err: unknown): RetryDecision {
  const { status, reason, network, tokenEndpoint } = describeGoogleError(err);
  if (network) return 'retry';
  if (status === undefined) return 'fail';
  if (RETRYABLE_STATUSES.has(status)) return 'retry';
  if (tokenEndpoint) return 'fail';
  if (status === 403 && reason !== undefined && RATE_LIMIT_REASONS.has(reason)) return 'retry';
  if (status === 401) return 'refresh-auth';
  return 'fail';
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RetryPolicy {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 32_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** Full jitter: a uniform delay in [0, min(cap, base * 2^(attempt-1))). `attempt` is the one that failed (1-based). */
  delayFor(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  /** Runs `call` until it succeeds, fails for good or runs out of attempts; rethrows the last error as is. */
  async run<T>(call: () => Promise<T>, hooks: RetryHooks = {}): Promise<T> {
    let authRefreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt >= this.maxAttempts) throw error;
        const decision = classifyGoogleError(error);
        if (decision === 'refresh-auth' && !authRefreshed && hooks.refreshAuth) {
          authRefreshed = true;
          hooks.refreshAuth();
          continue;
        }
        if (decision !== 'retry') throw error;
        const delayMs = this.delayFor(attempt);
        hooks.onRetry?.({ attempt, delayMs, error });
        await this.sleep(delayMs);
      }
    }
  }
}
