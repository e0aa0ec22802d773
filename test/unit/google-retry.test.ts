import { classifyGoogleError, RetryPolicy } from '../../src/google/google-retry';

/** The shape gaxios gives an API error: `response.data.error.errors[0].reason`. */
function apiError(status: number, reason?: string): Error {
  const errors = reason ? [{ domain: 'usageLimits', reason, message: reason }] : [];
  return Object.assign(new Error(`HTTP ${status}`), { status, response: { status, data: { error: { code: status, message: `HTTP ${status}`, errors } } } });
}

function tokenError(status: number, error: string): Error {
  return Object.assign(new Error(error), { status, response: { status, data: { error, error_description: 'Invalid email or User ID' } } });
}

function networkError(code: string, message = 'request failed'): Error {
  const system = Object.assign(new Error(message), { code });
  return Object.assign(new Error('request to https://www.googleapis.com failed'), { cause: system, error: system });
}

describe('classifyGoogleError', () => {
  it.each([
    ['429', apiError(429, 'rateLimitExceeded')],
    ['403 rateLimitExceeded', apiError(403, 'rateLimitExceeded')],
    ['403 userRateLimitExceeded', apiError(403, 'userRateLimitExceeded')],
    ['500', apiError(500, 'backendError')],
    ['502', apiError(502)],
    ['503', apiError(503)],
    ['504', apiError(504)],
    ['ECONNRESET', networkError('ECONNRESET')],
    ['ETIMEDOUT', networkError('ETIMEDOUT')],
    ['ECONNREFUSED', networkError('ECONNREFUSED')],
    ['socket hang up', networkError('ERR_SOMETHING', 'socket hang up')],
    ['abort by timeout', Object.assign(new Error('aborted'), { cause: Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }) })],
    ['token endpoint 503', tokenError(503, 'temporarily_unavailable')],
  ])('retries %s', (_name, err) => {
    expect(classifyGoogleError(err)).toBe('retry');
  });

  it.each([
    ['400', apiError(400, 'badRequest')],
    ['403 quotaExceeded', apiError(403, 'quotaExceeded')],
    ['403 forbidden', apiError(403, 'forbidden')],
    ['404', apiError(404, 'notFound')],
    ['409', apiError(409, 'duplicate')],
    ['410', apiError(410, 'fullSyncRequired')],
    ['invalid_grant', tokenError(400, 'invalid_grant')],
    ['unauthorized_client', tokenError(401, 'unauthorized_client')],
    ['a plain error', new Error('bug')],
  ])('does not retry %s', (_name, err) => {
    expect(classifyGoogleError(err)).toBe('fail');
  });

  it('refreshes the token on an API 401', () => {
    expect(classifyGoogleError(apiError(401, 'authError'))).toBe('refresh-auth');
  });
});

describe('RetryPolicy', () => {
  function policy(maxAttempts = 6, random = () => 0.999) {
    const sleeps: number[] = [];
    const retry = new RetryPolicy({ maxAttempts, random, sleep: async (ms) => void sleeps.push(ms) });
    return { retry, sleeps };
  }

  function failing(errors: Error[], value = 'ok') {
    let calls = 0;
    const fn = jest.fn(async () => {
      const err = errors[calls++];
      if (err) throw err;
      return value;
    });
    return fn;
  }

  it('backs off exponentially with full jitter, capped at 32 s', () => {
    const { retry } = policy(20, () => 0.5);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retry.delayFor(n))).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 16000]);
    expect(new RetryPolicy({ random: () => 0 }).delayFor(5)).toBe(0);
    expect(new RetryPolicy({ random: () => 0.9999 }).delayFor(30)).toBe(31996);
  });

  it('retries transient errors until success, sleeping between attempts', async () => {
    const { retry, sleeps } = policy(6, () => 0.5);
    const fn = failing([apiError(429), apiError(403, 'rateLimitExceeded'), apiError(503)]);
    await expect(retry.run(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(sleeps).toEqual([250, 500, 1000]);
  });

  it('gives up after maxAttempts and rethrows the last error', async () => {
    const { retry, sleeps } = policy(3);
    const last = apiError(503, 'third');
    const fn = failing([apiError(503), apiError(503), last, apiError(503)]);
    await expect(retry.run(fn)).rejects.toBe(last);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry a non-retryable error', async () => {
    const { retry, sleeps } = policy();
    const fn = failing([apiError(400, 'badRequest')]);
    await expect(retry.run(fn)).rejects.toMatchObject({ status: 400 });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(sleeps).toEqual([]);
  });

  it('refreshes auth once on 401, without sleeping, then fails on a second 401', async () => {
    const { retry, sleeps } = policy();
    const refreshAuth = jest.fn();
    const ok = failing([apiError(401, 'authError')]);
    await expect(retry.run(ok, { refreshAuth })).resolves.toBe('ok');
    expect(refreshAuth).toHaveBeenCalledTimes(1);

    refreshAuth.mockClear();
    const twice = failing([apiError(401, 'authError'), apiError(401, 'authError')]);
    await expect(retry.run(twice, { refreshAuth })).rejects.toMatchObject({ status: 401 });
    expect(refreshAuth).toHaveBeenCalledTimes(1);
    expect(twice).toHaveBeenCalledTimes(2);
    expect(sleeps).toEqual([]);
  });

  it('does not retry a 401 when nobody can refresh the token', async () => {
    const { retry } = policy();
    const fn = failing([apiError(401, 'authError')]);
    await expect(retry.run(fn)).rejects.toMatchObject({ status: 401 });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('reports each retry to onRetry', async () => {
    const { retry } = policy(6, () => 0);
    const onRetry = jest.fn();
    await retry.run(failing([networkError('ECONNRESET')]), { onRetry });
    expect(onRetry).toHaveBeenCalledWith(expect.objectContaining({ attempt: 1, delayMs: 0 }));
  });

  it('maxAttempts 1 means no retry at all', async () => {
    const { retry } = policy(1);
    const fn = failing([apiError(503)]);
    await expect(retry.run(fn)).rejects.toMatchObject({ status: 503 });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
