/**
 * When a resolution webhook delivery is retried, and when it is given up. Pure: time and randomness come in.
 *
 * - 2xx: delivered.
 * - 408, 429, 5xx, timeouts and connection errors: retried with full-jitter exponential backoff
 *   (a random delay in [0, min(cap, base·2^(attempt-1))]), never earlier than the receiver's `Retry-After`
 *   (seconds or an HTTP date), as long as the next attempt starts within the delivery's deadline.
 * - 410 Gone: the receiver wants no more deliveries: stop.
 * - Any other answer (other 4xx, 3xx): another attempt would get the same answer: stop.
 */

/** What one attempt got: an HTTP answer, or none (connection error, timeout). */
export type AttemptResult =
  | { kind: 'answered'; status: number; retryAfter?: string }
  | { kind: 'no_answer'; error: string };

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Base 1 s, cap 5 min. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 1000, maxDelayMs: 5 * 60_000 };

/** Without WEBHOOK_RETRY_BUDGET_SECONDS, retries go on until the window has ended plus this much. */
export const DEFAULT_GRACE_AFTER_WINDOW_MS = 30 * 60_000;

export type NextStep =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number; error: string }
  | { kind: 'give_up'; error: string };

/** One line saying what the attempt got, for logs and `last_error`. */
export function describeResult(result: AttemptResult): string {
  return result.kind === 'answered' ? `receiver answered ${result.status}` : result.error;
}

export function isRetryable(result: AttemptResult): boolean {
  if (result.kind === 'no_answer') return true;
  const s = result.status;
  return s === 408 || s === 429 || (s >= 500 && s <= 599);
}

/**
 * How long the receiver asked us to wait, in ms from `now`: `Retry-After` as delay-seconds or an HTTP date.
 * Unparseable values are ignored (undefined); a date in the past means no wait (0).
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full jitter: a uniformly random delay up to the exponential ceiling of this attempt (1-based). */
export function backoffDelayMs(attempt: number, random: () => number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The last instant a retry may start: `budgetSeconds` after the delivery's first attempt when configured,
 * else 30 minutes after the later of the window's end and the first attempt (a redelivery gets 30 minutes).
 */
export function deliveryDeadline(input: { firstAttemptAt: number; windowEnd?: number; budgetSeconds?: number }): number {
  if (input.budgetSeconds !== undefined) return input.firstAttemptAt + input.budgetSeconds * 1000;
  return Math.max(input.firstAttemptAt, input.windowEnd ?? input.firstAttemptAt) + DEFAULT_GRACE_AFTER_WINDOW_MS;
}

/** What to do after `attempt` (1-based) got `result` at `now`. */
export function nextStep(input: {
  result: AttemptResult;
  attempt: number;
  now: number;
  deadline: number;
  random: () => number;
  backoff?: BackoffOptions;
}): NextStep {
  const { result, attempt, now, deadline } = input;
  if (result.kind === 'answered' && result.status >= 200 && result.status <= 299) return { kind: 'delivered' };
  const what = describeResult(result);
  if (!isRetryable(result)) {
    const why = result.kind === 'answered' && result.status === 410 ? 'the receiver is gone' : 'not retried';
    return { kind: 'give_up', error: `${what} (${why})` };
  }
  const jittered = backoffDelayMs(attempt, input.random, input.backoff);
  const asked = result.kind === 'answered' ? retryAfterMs(result.retryAfter, now) : undefined;
  const delayMs = Math.max(jittered, asked ?? 0);
  if (now + delayMs > deadline) {
    return { kind: 'give_up', error: `${what} (retry budget spent after ${attempt} attempt${attempt === 1 ? '' : 's'})` };
  }
  return { kind: 'retry', delayMs, error: what };
}
