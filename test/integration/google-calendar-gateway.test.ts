/**
 * The Google adapter against the project's Calendar emulator: auth (JWT per owner, token URL, caching, refusals),
 * quotaUser, the retry policy and the error mapping. Events, freeBusy, sync and channels: google-calendar-gateway-events.
 */
import { createServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { CalendarApiError, OwnerUnavailableError } from '../../src/ports/calendar';
import { CALENDAR_SCOPES } from '../../src/google/google-auth';
import { GoogleCalendarGateway, quotaUserFor } from '../../src/google/google-calendar-gateway';
import { waitFor } from '../support/wait';
import { DOMAIN, GatewayFixture, newEvent } from './google-calendar-gateway-fixture';

const fx = new GatewayFixture();
beforeAll(() => fx.start());
afterAll(() => fx.stop());
beforeEach(() => fx.reset());

describe('auth', () => {
  it('gets the token from the configured token URL, once per owner', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    await expect(gateway.timeZone(owner)).resolves.toBe('Europe/Zurich');
    for (let i = 0; i < 4; i++) await gateway.getEvent(owner, fx.eventId());
    await Promise.all([gateway.timeZone(owner), gateway.timeZone(owner)]);

    expect(fx.calls({ owner, method: 'token' })).toHaveLength(1);
    expect(fx.calls({ owner }).filter((c) => c.method !== 'token')).toHaveLength(7);
  });

  it('keeps one token per owner', async () => {
    const gateway = fx.gateway();
    const [a, b] = [fx.owner(), fx.owner()];
    await gateway.timeZone(a);
    await gateway.timeZone(b);
    await gateway.timeZone(a);
    expect(fx.calls({ method: 'token' }).map((c) => c.owner)).toEqual([a, b]);
  });

  it('asks for the calendar scopes', () => {
    expect(CALENDAR_SCOPES).toEqual([
      'https://www.googleapis.com/auth/calendar.events',
      'https://www.googleapis.com/auth/calendar.settings.readonly',
      'https://www.googleapis.com/auth/calendar.freebusy',
    ]);
  });

  it('turns invalid_grant (unknown user) into OwnerUnavailableError, without retrying', async () => {
    const strict = await new GatewayFixture().start({ autoCreateUsers: false });
    try {
      const gateway = strict.gateway();
      const gone = `left-the-company@${DOMAIN}`;
      const err = await gateway.getEvent(gone, strict.eventId()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OwnerUnavailableError);
      expect(err).toMatchObject({ owner: gone, reason: 'invalid_grant' });
      // timeZone() does not hide it behind null: the caller must know the owner is gone.
      await expect(gateway.timeZone(gone)).rejects.toBeInstanceOf(OwnerUnavailableError);
      expect(strict.calls({ method: 'token' })).toHaveLength(2);
      expect(strict.sleeps).toEqual([]);
    } finally {
      await strict.stop();
    }
  });

  it('turns unauthorized_client (no domain-wide delegation) into OwnerUnavailableError', async () => {
    const undelegated = createServiceAccountKey();
    fx.emulator.trustServiceAccount(undelegated, { delegation: false });
    const gateway = fx.gateway({ auth: fx.auth(undelegated) });
    await expect(gateway.getEvent(fx.owner(), fx.eventId())).rejects.toMatchObject({
      name: 'OwnerUnavailableError',
      reason: 'unauthorized_client',
    });
  });

  it('retries a failing token endpoint with the same policy', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    fx.emulator.injectFault({ method: 'token', status: 503, times: 2 });
    await expect(gateway.timeZone(owner)).resolves.toBe('Europe/Zurich');
    expect(fx.calls({ method: 'token' }).map((c) => c.status)).toEqual([503, 503, 200]);
    expect(fx.sleeps).toHaveLength(2);
  });

  it('refreshes the token once on a 401 and succeeds', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    await gateway.timeZone(owner);
    fx.emulator.injectFault({ method: 'settings.get', owner, status: 401, reason: 'authError', times: 1 });
    await expect(gateway.timeZone(owner)).resolves.toBe('Europe/Zurich');
    expect(fx.calls({ owner, method: 'token' })).toHaveLength(2);
    expect(fx.calls({ owner, method: 'settings.get' }).map((c) => c.status)).toEqual([200, 401, 200]);
    expect(fx.sleeps).toEqual([]);
  });

  it('does not loop on a persistent 401', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    fx.emulator.injectFault({ method: 'events.get', owner, status: 401, reason: 'authError' });
    await expect(gateway.getEvent(owner, fx.eventId())).rejects.toMatchObject({ name: 'CalendarApiError', status: 401, reason: 'authError' });
    expect(fx.calls({ owner, method: 'events.get' })).toHaveLength(2);
  });
});

describe('quotaUser', () => {
  it('is the owner on every request', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const other = fx.owner();
    const id = fx.eventId();
    await gateway.timeZone(owner);
    await gateway.freeBusy([owner, other], '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z');
    await gateway.createEvent(owner, newEvent(id));
    await gateway.getEvent(owner, id);
    await gateway.updateEvent(owner, id, { title: 'moved' });
    const { cursor } = await gateway.changeFeed.changes(owner, null);
    await gateway.changeFeed.changes(owner, cursor);
    const channel = await gateway.changeFeed.subscribe(owner, { address: 'https://daemon.example.com/hook', secret: 't', ttlSeconds: 600 });
    await gateway.changeFeed.stop(owner, channel);
    await gateway.deleteEvent(owner, id);

    const apiCalls = fx.calls().filter((c) => c.method !== 'token');
    expect(new Set(apiCalls.map((c) => c.method))).toEqual(
      new Set(['settings.get', 'freebusy.query', 'events.insert', 'events.get', 'events.patch', 'events.list', 'events.watch', 'channels.stop', 'events.delete']),
    );
    for (const call of apiCalls) expect({ method: call.method, quotaUser: call.quotaUser }).toEqual({ method: call.method, quotaUser: owner });
  });

  it('is shortened deterministically to 40 characters for long addresses', async () => {
    const long = `a.very.long.name.of.somebody.working.here@${DOMAIN}`;
    expect(quotaUserFor(long)).toHaveLength(40);
    expect(quotaUserFor(long)).toBe(quotaUserFor(long));
    expect(quotaUserFor(long)).not.toBe(quotaUserFor(long.replace('a.very', 'b.very')));
    expect(quotaUserFor('short@example.com')).toBe('short@example.com');

    fx.emulator.addUser(long);
    await fx.gateway().timeZone(long);
    expect(fx.calls({ method: 'settings.get' })[0].quotaUser).toBe(quotaUserFor(long));
  });
});

describe('retry policy', () => {
  it.each([
    ['429', { status: 429, reason: 'rateLimitExceeded' }],
    ['403 rateLimitExceeded', { status: 403, reason: 'rateLimitExceeded' }],
    ['403 userRateLimitExceeded', { status: 403, reason: 'userRateLimitExceeded' }],
    ['500 backendError', { status: 500, reason: 'backendError' }],
    ['503', { status: 503 }],
  ])('backs off and succeeds after two %s', async (_name, fault) => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const id = fx.eventId();
    fx.emulator.injectFault({ method: 'events.insert', owner, times: 2, ...fault });
    const event = await gateway.createEvent(owner, newEvent(id));
    expect(event.id).toBe(id);
    expect(fx.calls({ owner, method: 'events.insert' }).map((c) => c.status)).toEqual([fault.status, fault.status, 200]);
    expect(fx.sleeps).toHaveLength(2);
  });

  it('does not retry a 400 and reports status and reason', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    fx.emulator.injectFault({ method: 'events.patch', owner, status: 400, reason: 'badRequest', message: 'Bad Request' });
    const err = await gateway.updateEvent(owner, fx.eventId(), { title: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalendarApiError);
    expect(err).toMatchObject({ status: 400, reason: 'badRequest' });
    expect(fx.calls({ owner, method: 'events.patch' })).toHaveLength(1);
    expect(fx.sleeps).toEqual([]);
  });

  it('does not retry 403 quotaExceeded (a usage cap, not a rate limit)', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    fx.emulator.injectFault({ method: 'events.get', owner, status: 403, reason: 'quotaExceeded' });
    await expect(gateway.getEvent(owner, fx.eventId())).rejects.toMatchObject({ status: 403, reason: 'quotaExceeded' });
    expect(fx.calls({ owner, method: 'events.get' })).toHaveLength(1);
  });

  it('gives up after maxAttempts with a CalendarApiError', async () => {
    const gateway = fx.gateway({ retry: { maxAttempts: 4 } });
    const owner = fx.owner();
    fx.emulator.injectFault({ method: 'events.get', owner, status: 503, reason: 'backendError' });
    await expect(gateway.getEvent(owner, fx.eventId())).rejects.toMatchObject({ name: 'CalendarApiError', status: 503 });
    expect(fx.calls({ owner, method: 'events.get' })).toHaveLength(4);
    expect(fx.sleeps).toHaveLength(3);
  });

  it('is the only policy: gaxios does not retry on its own', async () => {
    const gateway = fx.gateway({ retry: { maxAttempts: 1 } });
    const owner = fx.owner();
    fx.emulator.injectFault({ method: 'events.get', owner, status: 503, times: 3 });
    await expect(gateway.getEvent(owner, fx.eventId())).rejects.toMatchObject({ status: 503 });
    expect(fx.calls({ owner, method: 'events.get' })).toHaveLength(1);
    fx.emulator.injectFault({ method: 'token', status: 503, times: 3 });
    await expect(gateway.getEvent(fx.owner(), fx.eventId())).rejects.toMatchObject({ status: 503 });
    expect(fx.calls({ method: 'token' }).filter((c) => c.status === 503)).toHaveLength(1);
  });

  it('times a slow request out and retries it', async () => {
    const gateway = fx.gateway({ timeoutMs: 300 });
    const owner = fx.owner();
    await gateway.timeZone(owner);
    fx.emulator.injectFault({ method: 'settings.get', owner, status: 200, delayMs: 1500, times: 1 });
    const started = Date.now();
    await expect(gateway.timeZone(owner)).resolves.toBe('Europe/Zurich');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(fx.sleeps).toHaveLength(1);
    // Let the emulator finish the abandoned request, so it is not logged among the next test's calls.
    await waitFor(() => fx.calls({ owner, method: 'settings.get' }).length === 3);
  });

  it('retries a refused connection, then reports it without a status', async () => {
    const dead = await new GatewayFixture().start();
    await dead.stop();
    const offline = new GoogleCalendarGateway({
      auth: fx.auth(),
      rootUrl: dead.baseUrl,
      retry: { maxAttempts: 2, sleep: async (ms) => void fx.sleeps.push(ms) },
    });
    const err = await offline.getEvent(fx.owner(), fx.eventId()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalendarApiError);
    expect((err as CalendarApiError).status).toBeUndefined();
    expect((err as CalendarApiError).message).toMatch(/ECONNREFUSED/);
    expect(fx.sleeps).toHaveLength(1);
  });
});
