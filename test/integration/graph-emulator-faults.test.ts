/** Injected faults and Outlook's per-mailbox concurrency limit, seen through real HTTPS and MSAL. */
import { fetch } from 'undici';
import { GRAPH_SCOPE } from '../../src/sandbox/graph-emulator';
import { dt, startFixture, type Fixture } from './graph-emulator-fixture';

describe('Graph emulator: faults and throttling', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
    f.emulator.addMailbox('alice@contoso.com');
    f.emulator.addMailbox('bob@contoso.com');
  });
  afterAll(() => f.close());
  afterEach(() => f.emulator.clearFaults());

  it('answers 429 with Retry-After and Graph\'s throttling body, then serves again', async () => {
    await f.token(); // MSAL's own requests are not the target
    f.emulator.injectFault({ method: 'mailboxSettings.get', mailbox: 'alice@contoso.com', status: 429, retryAfterSeconds: 7, times: 1 });
    const throttled = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(throttled.body.error).toMatchObject({ code: 'ApplicationThrottled', message: expect.any(String), innerError: expect.any(Object) });
    const other = await f.graph('GET', 'users/bob@contoso.com/mailboxSettings');
    expect(other.status).toBe(200);
    expect((await f.graph('GET', 'users/alice@contoso.com/mailboxSettings')).status).toBe(200);
    expect(f.emulator.calls.filter((c) => c.method === 'mailboxSettings.get' && c.mailbox === 'alice@contoso.com').map((c) => c.status)).toEqual([429, 200]);
  });

  it('answers injected 5xx with Graph\'s error bodies', async () => {
    f.emulator.injectFault({ method: 'calendar.getSchedule', status: 503, times: 1 });
    const res = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', {
      body: { schedules: ['alice@contoso.com'], startTime: dt('2026-12-08T00:00:00'), endTime: dt('2026-12-09T00:00:00') },
    });
    expect(res).toMatchObject({ status: 503, body: { error: { code: 'ServiceUnavailable' } } });
  });

  it('never answers a hung request: the client times out, and the emulator still serves others', async () => {
    const token = await f.token();
    f.emulator.injectFault({ method: 'events.get', hang: true, times: 1 });
    const hung = fetch(`${f.emulator.graphUrl}users/alice@contoso.com/events/AAMkAnything=`, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher: f.emulator.dispatcher,
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' });
    expect((await f.graph('GET', 'users/alice@contoso.com/mailboxSettings')).status).toBe(200);
  });

  it('fails token requests when asked, as Entra does (MSAL reports the error)', async () => {
    f.emulator.injectFault({ method: 'token', status: 500, times: 1 });
    const fresh = f.msalWithSecret();
    await expect(fresh.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] })).rejects.toMatchObject({ errorCode: 'temporarily_unavailable' });
  });

  it('allows 4 requests in flight per mailbox: the 5th is answered 429 MailboxConcurrency at once', async () => {
    const token = await f.token();
    // Four slow requests hold alice's four slots until the client gives up on them.
    f.emulator.injectFault({ method: 'mailboxSettings.get', mailbox: 'alice@contoso.com', status: 200, delayMs: 60_000, times: 4 });
    const controller = new AbortController();
    const slow = Array.from({ length: 4 }, () =>
      f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token, signal: controller.signal }).then(
        () => 'answered',
        () => 'aborted',
      ),
    );
    // Wait until the emulator has all four in flight (it counts them as they arrive).
    await new Promise<void>((resolve) => {
      const check = () => (f.emulator.peakConcurrency('alice@contoso.com') >= 4 ? resolve() : setImmediate(check));
      check();
    });
    const fifth = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token });
    expect(fifth.status).toBe(429);
    expect(fifth.headers.get('retry-after')).toBe('1');
    expect(fifth.body.error).toMatchObject({ code: 'ApplicationThrottled', message: 'Application is over its MailboxConcurrency limit.' });
    expect((await f.graph('GET', 'users/bob@contoso.com/mailboxSettings', { token })).status).toBe(200);
    controller.abort();
    expect(await Promise.all(slow)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    // The slots are free again once the emulator saw the connections go (a request answers 200 then).
    let after = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token });
    while (after.status === 429) after = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token });
    expect(after.status).toBe(200);
  });
});
