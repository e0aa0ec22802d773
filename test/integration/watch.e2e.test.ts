import { request } from 'undici';
import { DaemonClient, policyEvent } from '../support/daemon-client';
import { startTestEnv, type TestEnv } from '../support/test-app';
import { TestClock } from '../support/test-clock';
import { waitFor } from '../support/wait';

// Monday 23 November 2026, 12:00 UTC: windows are booked on Tuesday the 24th at 09:00 UTC.
const MONDAY_NOON = '2026-11-23T12:00:00Z';
const TUESDAY_9 = '2026-11-24T09:00:00.000+00:00';

async function bookFor(env: TestEnv, daemon: DaemonClient, owner: string, hostId: number) {
  env.emulator.addUser(owner, { timeZone: 'UTC' });
  await daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: hostId, emails: [owner] }));
  const r = await daemon.waitForStatus(hostId, 'booked');
  // Watched: the owner's calendar has our channel and we hold a sync token.
  await waitFor(() => env.emulator.channels().some((c) => c.owner === owner), { what: `channel for ${owner}` });
  await waitFor(async () => (await env.probe.redis.get(`${env.prefix}:owner:${owner}:sync-token`)) !== null, { what: 'sync token' });
  return r;
}

/** Waits until the host's window is booked at a different start than `before`. */
async function rebooked(daemon: DaemonClient, hostId: number, before: string) {
  return waitFor(
    async () => {
      const [r] = await daemon.remediations({ host_id: hostId });
      return r?.status === 'booked' && r.start !== before ? r : null;
    },
    { timeoutMs: 8000, what: `host ${hostId} rebooked` },
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('watching booked events: push channels, sync tokens, the owner’s moves', () => {
  const clock = new TestClock(MONDAY_NOON);
  let env: TestEnv;
  let daemon: DaemonClient;

  beforeAll(async () => {
    env = await startTestEnv({ label: 'watch', clock });
    daemon = new DaemonClient(env.url);
  });
  afterAll(async () => {
    await env.stop();
  });
  beforeEach(() => {
    clock.set(MONDAY_NOON);
    env.emulator.dropNotifications(false);
  });

  it('opens one channel per owner calendar (not per event), at PUBLIC_URL with a secret token', async () => {
    const r = await bookFor(env, daemon, 'chan@acme.com', 400);
    expect(r.start).toBe(TUESDAY_9);
    const channels = env.emulator.channels().filter((c) => c.owner === 'chan@acme.com');
    expect(channels).toHaveLength(1);
    expect(channels[0].address).toBe(`${env.url.replace('localhost', '127.0.0.1')}/v1/google/notifications`);
    expect(channels[0].token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rebooks a deleted window on the business day after the original date, and the day after when deleted again', async () => {
    const owner = 'deleter@acme.com';
    const first = await bookFor(env, daemon, owner, 401);
    env.emulator.deleteEventAsOwner(owner, first.calendar_event_id as string);
    const second = await rebooked(daemon, 401, first.start as string);
    expect(second.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(second.calendar_event_id).not.toBe(first.calendar_event_id);

    env.emulator.deleteEventAsOwner(owner, second.calendar_event_id as string);
    const third = await rebooked(daemon, 401, second.start as string);
    expect(third.start).toBe('2026-11-26T09:00:00.000+00:00');
    expect(env.emulator.events(owner).map((e) => e.id)).toEqual([third.calendar_event_id]);
  });

  it('skips the weekend: a Friday original is rebooked on Monday', async () => {
    const owner = 'friday@acme.com';
    // Booking day Tuesday; deleted four times → Wed, Thu, Fri, then Monday.
    const r = await bookFor(env, daemon, owner, 402);
    let current = r;
    for (const expected of ['2026-11-25', '2026-11-26', '2026-11-27', '2026-11-30']) {
      env.emulator.deleteEventAsOwner(owner, current.calendar_event_id as string);
      current = await rebooked(daemon, 402, current.start as string);
      expect(current.start?.slice(0, 10)).toBe(expected);
    }
  });

  it('rebooks a window dragged into the past, and removes the stale one', async () => {
    const owner = 'past@acme.com';
    const r = await bookFor(env, daemon, owner, 403);
    env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, {
      start: { dateTime: '2026-11-23T08:00:00Z' },
      end: { dateTime: '2026-11-23T08:30:00Z' },
    });
    const again = await rebooked(daemon, 403, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    await waitFor(() => env.emulator.events(owner).length === 1, { what: 'stale event removed' });
    expect(env.emulator.events(owner)[0].id).toBe(again.calendar_event_id);
  });

  it('rebooks a window turned into an all-day event', async () => {
    const owner = 'allday@acme.com';
    const r = await bookFor(env, daemon, owner, 404);
    env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { start: { date: '2026-11-24' }, end: { date: '2026-11-25' } });
    const again = await rebooked(daemon, 404, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
  });

  it('follows a window moved later without booking a new one, and ignores text edits', async () => {
    const owner = 'mover@acme.com';
    const r = await bookFor(env, daemon, owner, 405);
    await new Promise((res) => setTimeout(res, 800)); // the echoes of our own insert pass
    env.emulator.resetCalls();
    env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { summary: 'My maintenance', description: 'edited' });
    // The sync that read the edit happened; then nothing else: no write, the window unchanged.
    await waitFor(() => env.emulator.calls.some((c) => c.method === 'events.list' && c.owner === owner && c.status === 200), {
      what: 'the sync after the text edit',
    });
    await new Promise((res) => setTimeout(res, 300));
    expect((await daemon.remediations({ host_id: 405 }))[0]).toMatchObject({ status: 'booked', start: TUESDAY_9 });
    expect(Object.keys(env.emulator.callCounts({ owner })).filter((m) => m !== 'events.list' && m !== 'token')).toEqual([]);

    env.emulator.resetCalls();
    env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, {
      start: { dateTime: '2026-11-24T14:00:00Z' },
      end: { dateTime: '2026-11-24T14:30:00Z' },
    });
    const moved = await rebooked(daemon, 405, r.start as string);
    expect(Date.parse(moved.start as string)).toBe(Date.parse('2026-11-24T14:00:00Z'));
    expect(moved.calendar_event_id).toBe(r.calendar_event_id);
    expect(env.emulator.callCounts({ owner })['events.insert']).toBeUndefined();
    expect(env.emulator.events(owner)).toHaveLength(1);
  });

  it('ignores forged and unknown notifications: nothing changes', async () => {
    const owner = 'forged@acme.com';
    const r = await bookFor(env, daemon, owner, 406);
    const channel = env.emulator.channels().find((c) => c.owner === owner);
    await new Promise((res) => setTimeout(res, 500));
    env.emulator.resetCalls();
    const notify = (headers: Record<string, string>) =>
      request(`${env.url}/v1/google/notifications`, { method: 'POST', headers: { 'content-type': 'application/json; utf-8', ...headers }, body: '' });
    const base = { 'x-goog-resource-state': 'exists', 'x-goog-message-number': '9', 'x-goog-resource-id': channel?.resourceId ?? '' };
    const answers = [
      await notify({ ...base, 'x-goog-channel-id': 'mw-unknown', 'x-goog-channel-token': channel?.token ?? '' }),
      await notify({ ...base, 'x-goog-channel-id': channel?.id ?? '', 'x-goog-channel-token': 'forged' }),
      await notify({ ...base, 'x-goog-channel-id': channel?.id ?? '' }),
      await notify({ ...base, 'x-goog-channel-id': channel?.id ?? '', 'x-goog-channel-token': channel?.token ?? '', 'x-goog-resource-state': 'sync' }),
      await notify({}),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([204, 204, 204, 204, 204]);
    await new Promise((res) => setTimeout(res, 800));
    expect(env.emulator.calls).toHaveLength(0);
    expect((await daemon.remediations({ host_id: 406 }))[0]).toMatchObject({ status: 'booked', start: r.start });
  });

  it('does not storm on the echoes of its own writes', async () => {
    const owner = 'echo@acme.com';
    const r = await bookFor(env, daemon, owner, 407);
    await new Promise((res) => setTimeout(res, 800));
    env.emulator.resetCalls();
    env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    await rebooked(daemon, 407, r.start as string);
    // Our insert notifies us too: give the echoes time to arrive, then expect silence.
    await new Promise((res) => setTimeout(res, 1500));
    const counts = env.emulator.callCounts({ owner });
    expect(counts['events.insert']).toBe(1);
    expect(counts['events.list'] ?? 0).toBeLessThanOrEqual(3);
    const before = env.emulator.calls.length;
    await new Promise((res) => setTimeout(res, 1000));
    expect(env.emulator.calls.length).toBe(before);
  });

  it('rebooks a window deleted while its sync token expired: 410, full sync, then a look at the event', async () => {
    const owner = 'expired@acme.com';
    const r = await bookFor(env, daemon, owner, 408);
    // Let the echoes of our own insert settle, then watch only what follows.
    await new Promise((res) => setTimeout(res, 800));
    env.emulator.resetCalls();
    env.emulator.expireSyncTokens(owner);
    env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    const again = await rebooked(daemon, 408, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(again.calendar_event_id).not.toBe(r.calendar_event_id);

    // The incremental sync met 410 fullSyncRequired; the full sync that followed does not list deleted events,
    // so the daemon asked for ours (events.get) before rebooking.
    const calls = env.emulator.calls.filter((c) => c.owner === owner);
    const expired = calls.findIndex((c) => c.method === 'events.list' && c.status === 410);
    expect(expired).toBeGreaterThanOrEqual(0);
    expect(calls.findIndex((c) => c.method === 'events.list' && c.status === 200)).toBeGreaterThan(expired);
    expect(calls.findIndex((c) => c.method === 'events.get')).toBeGreaterThan(expired);
    // Exactly one new event, also once the echoes of the rebooking have been handled.
    await new Promise((res) => setTimeout(res, 800));
    expect(env.emulator.callCounts({ owner })['events.insert']).toBe(1);
    expect(env.emulator.events(owner).map((e) => e.id)).toEqual([again.calendar_event_id]);
  });

  it('measures the time from an owner’s delete to the corrected calendar', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 8; i++) {
      const owner = `latency${i}@acme.com`;
      const r = await bookFor(env, daemon, owner, 420 + i);
      const t0 = Date.now();
      env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
      await waitFor(() => env.emulator.events(owner).some((e) => e.id !== r.calendar_event_id), { intervalMs: 5, what: 'new event' });
      latencies.push(Date.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    console.log(`owner change → corrected calendar: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms (n=${latencies.length})`);
    expect(latencies).toHaveLength(8);
  });
});

describe('a window moved later fires once, at its final time', () => {
  const clock = new TestClock(MONDAY_NOON);
  let env: TestEnv;
  let daemon: DaemonClient;
  beforeAll(async () => {
    env = await startTestEnv({ label: 'watch-fire', clock });
    daemon = new DaemonClient(env.url);
  });
  afterAll(async () => {
    await env.stop();
  });

  it('fires at the new start, not the old one', async () => {
    const owner = 'late.mover@acme.com';
    clock.set(Date.parse(TUESDAY_9) - 4000);
    const r = await bookFor(env, daemon, owner, 450);
    expect(r.start).toBe(TUESDAY_9);
    const newStart = Date.parse(TUESDAY_9) + 3000;
    env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, {
      start: { dateTime: new Date(newStart).toISOString() },
      end: { dateTime: new Date(newStart + 30 * 60_000).toISOString() },
    });
    await waitFor(async () => Date.parse((await daemon.remediations({ host_id: 450 }))[0].start ?? '') === newStart, { what: 'move followed' });
    const delivery = await waitFor(() => env.webhook.requests.find((q) => (q.body as { host_id?: number }).host_id === 450), {
      timeoutMs: 10_000,
      what: 'webhook',
    });
    expect(delivery.at).toBeGreaterThanOrEqual(clock.realTimeOf(newStart));
    await daemon.waitForStatus(450, 'fired');
    await new Promise((res) => setTimeout(res, 500));
    expect(env.webhook.requests.filter((q) => (q.body as { host_id?: number }).host_id === 450)).toHaveLength(1);
  });
});

describe('when push notifications are lost, the poll finds the change', () => {
  const clock = new TestClock(MONDAY_NOON);
  let env: TestEnv;
  let daemon: DaemonClient;
  beforeAll(async () => {
    env = await startTestEnv({ label: 'watch-poll', clock, env: { POLL_INTERVAL_SECONDS: '2' } });
    daemon = new DaemonClient(env.url);
  });
  afterAll(async () => {
    await env.stop();
  });

  it('rebooks a deleted window within the poll interval', async () => {
    const owner = 'lost@acme.com';
    const r = await bookFor(env, daemon, owner, 460);
    env.emulator.dropNotifications(true);
    const t0 = Date.now();
    env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    const again = await rebooked(daemon, 460, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(Date.now() - t0).toBeLessThan(2000 + 2000);
  });
});

describe('far-future windows are polled, then pushed once inside the horizon', () => {
  // Wednesday: next Tuesday is six days away, beyond a one-day push horizon.
  const clock = new TestClock('2026-11-18T12:00:00Z');
  let env: TestEnv;
  let daemon: DaemonClient;
  beforeAll(async () => {
    env = await startTestEnv({ label: 'watch-horizon', clock, env: { PUSH_HORIZON_DAYS: '1', POLL_INTERVAL_SECONDS: '1' } });
    daemon = new DaemonClient(env.url);
  });
  afterAll(async () => {
    await env.stop();
  });

  it('opens no channel for a window beyond the horizon, polls it, and switches to push as it comes near', async () => {
    const owner = 'far@acme.com';
    env.emulator.addUser(owner, { timeZone: 'UTC' });
    await daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 470, emails: [owner] }));
    const r = await daemon.waitForStatus(470, 'booked');
    expect(r.start).toBe(TUESDAY_9);
    await waitFor(() => (env.emulator.callCounts({ owner })['events.list'] ?? 0) >= 2, { what: 'polls' });
    expect(env.emulator.channels().filter((c) => c.owner === owner)).toHaveLength(0);

    clock.set(MONDAY_NOON);
    await waitFor(() => env.emulator.channels().some((c) => c.owner === owner), { what: 'channel once inside the horizon' });
  });
});

describe('channels are renewed before they expire', () => {
  const clock = new TestClock(MONDAY_NOON);
  let env: TestEnv;
  let daemon: DaemonClient;
  beforeAll(async () => {
    env = await startTestEnv({ label: 'watch-ttl', clock, env: { CHANNEL_TTL_SECONDS: '4' } });
    daemon = new DaemonClient(env.url);
  });
  afterAll(async () => {
    await env.stop();
  });

  it('opens a new channel before the old one expires and stops the old one', async () => {
    const owner = 'renew@acme.com';
    await bookFor(env, daemon, owner, 480);
    const first = env.emulator.channels().find((c) => c.owner === owner);
    const second = await waitFor(() => env.emulator.channels().find((c) => c.owner === owner && c.id !== first?.id), {
      timeoutMs: 6000,
      what: 'renewed channel',
    });
    const renewedAt = env.emulator.calls.filter((c) => c.method === 'events.watch' && c.owner === owner)[1]?.at ?? Infinity;
    expect(renewedAt).toBeLessThan(first?.expiration ?? 0);
    await waitFor(() => !env.emulator.channels().some((c) => c.id === first?.id), { what: 'old channel gone' });
    expect(env.emulator.callCounts({ owner })['channels.stop']).toBeGreaterThanOrEqual(1);
    expect(second.expiration).toBeGreaterThan(first?.expiration ?? 0);
  });
});
