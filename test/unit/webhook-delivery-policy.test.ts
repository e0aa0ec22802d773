import fc from 'fast-check';
import {
  backoffDelayMs,
  deliveryDeadline,
  isRetryable,
  nextStep,
  retryAfterMs,
  type AttemptResult,
} from '../../src/webhook/delivery-policy';

const NOW = Date.parse('2026-11-24T09:00:00Z');
const answered = (status: number, retryAfter?: string): AttemptResult => ({ kind: 'answered', status, retryAfter });
const step = (result: AttemptResult, opts: { attempt?: number; deadline?: number; random?: number } = {}) =>
  nextStep({ result, attempt: opts.attempt ?? 1, now: NOW, deadline: opts.deadline ?? NOW + 3_600_000, random: () => opts.random ?? 0.5 });

describe('webhook delivery policy', () => {
  it.each([200, 201, 202, 204, 299])('%i is delivered', (status) => {
    expect(step(answered(status))).toEqual({ kind: 'delivered' });
  });

  it.each([408, 429, 500, 502, 503, 504, 599])('%i is retried', (status) => {
    expect(step(answered(status))).toMatchObject({ kind: 'retry', error: `receiver answered ${status}` });
  });

  it('timeouts and connection errors are retried', () => {
    expect(step({ kind: 'no_answer', error: 'connect ECONNREFUSED' })).toMatchObject({ kind: 'retry', error: 'connect ECONNREFUSED' });
  });

  it('410 stops: the receiver is gone', () => {
    expect(step(answered(410))).toEqual({ kind: 'give_up', error: 'receiver answered 410 (the receiver is gone)' });
  });

  it.each([400, 401, 403, 404, 409, 413, 422, 301, 302])('%i is not retried', (status) => {
    expect(step(answered(status))).toEqual({ kind: 'give_up', error: `receiver answered ${status} (not retried)` });
    expect(isRetryable(answered(status))).toBe(false);
  });

  it('full jitter: a random delay up to base·2^(attempt-1), capped at 5 minutes', () => {
    expect(backoffDelayMs(1, () => 0.999999)).toBe(999);
    expect(backoffDelayMs(3, () => 0.5)).toBe(2000);
    expect(backoffDelayMs(30, () => 0.999999)).toBe(299_999);
    expect(backoffDelayMs(4, () => 0)).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(attempt, () => r);
        return d >= 0 && d <= Math.min(300_000, 1000 * 2 ** (attempt - 1));
      }),
    );
  });

  it('Retry-After in seconds or as an HTTP date; never earlier than it says', () => {
    expect(retryAfterMs('7', NOW)).toBe(7000);
    expect(retryAfterMs(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(retryAfterMs(new Date(NOW - 90_000).toUTCString(), NOW)).toBe(0);
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
    expect(retryAfterMs('-3', NOW)).toBeUndefined();
    expect(retryAfterMs(undefined, NOW)).toBeUndefined();
    expect(step(answered(503, '120'), { random: 0.9 })).toMatchObject({ kind: 'retry', delayMs: 120_000 });
    expect(step(answered(429, new Date(NOW + 45_000).toUTCString()), { random: 0 })).toMatchObject({ delayMs: 45_000 });
    // A longer jittered delay wins over a short Retry-After.
    expect(step(answered(503, '0'), { attempt: 5, random: 0.5 })).toMatchObject({ delayMs: 8000 });
  });

  it('gives up when the next attempt would start after the deadline', () => {
    expect(step(answered(503), { deadline: NOW + 400, random: 0.5 })).toEqual({
      kind: 'give_up',
      error: 'receiver answered 503 (retry budget spent after 1 attempt)',
    });
    expect(step(answered(503, '60'), { deadline: NOW + 59_000, random: 0 })).toMatchObject({ kind: 'give_up' });
    expect(step({ kind: 'no_answer', error: 'timed out' }, { attempt: 4, deadline: NOW, random: 0.5 })).toMatchObject({
      kind: 'give_up',
      error: 'timed out (retry budget spent after 4 attempts)',
    });
    expect(step(answered(503), { deadline: NOW + 500, random: 0.5 })).toMatchObject({ kind: 'retry', delayMs: 500 });
  });

  it('budget: configured seconds from the first attempt, else the window end (or the first attempt) + 30 min', () => {
    expect(deliveryDeadline({ firstAttemptAt: NOW, windowEnd: NOW + 1_800_000, budgetSeconds: 10 })).toBe(NOW + 10_000);
    expect(deliveryDeadline({ firstAttemptAt: NOW, windowEnd: NOW + 1_800_000 })).toBe(NOW + 3_600_000);
    expect(deliveryDeadline({ firstAttemptAt: NOW })).toBe(NOW + 1_800_000);
    expect(deliveryDeadline({ firstAttemptAt: NOW, windowEnd: NOW - 86_400_000 })).toBe(NOW + 1_800_000);
  });
});
