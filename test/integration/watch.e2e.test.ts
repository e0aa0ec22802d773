import { request } from 'undici';
import { addOwner, bookHost, firstWebhookFor, postFailing, postPassing, webhooksFor } from '../support/fixtures';
import { calendarSettled, fireJobsEnded } from '../support/settled';
import { TestClock } from '../support/test-clock';
import { useDaemon, type DaemonHandle } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// Monday 23 November 2026, 12:00 UTC: windows are booked on Tuesday the 24th at 09:00 UTC.
const MONDAY_NOON = '2026-11-23T12:00:00Z';
const TUESDAY_9 = '2026-11-24T09:00:00.000+00:00';

async function bookFor(t: DaemonHandle, owner: string, hostId: number) {
  const { env } = t;
  const r = await bookHost(t, hostId, owner);
  // Watched: the owner's calendar has our channel and we hold a sync token.
  await waitFor(() => env.emulator.channels().some((c) => c.owner === owner), { what: `channel for ${owner}` });
  await waitFor(async () => (await env.probe.redis.hget(`${env.prefix}:owner:${owner}`, 'sync')) !== null, { what: 'sync token' });
  return r;
}

/** Waits until the host's window is booked at a different start than `before`. */
async function rebooked(t: DaemonHandle, hostId: number, before: string) {
  return waitFor(
    async () => {
      const [r] = await t.daemon.remediations({ host_id: hostId });
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
  const t = useDaemon({ label: 'watch', clock });
  beforeEach(() => {
    clock.set(MONDAY_NOON);
    t.env.emulator.dropNotifications(false);
  });

  it('opens one channel per owner calendar (not per event), at PUBLIC_URL with a secret token', async () => {
    const r = await bookFor(t, 'chan@acme.com', 400);
    expect(r.start).toBe(TUESDAY_9);
    const channels = t.env.emulator.channels().filter((c) => c.owner === 'chan@acme.com');
    expect(channels).toHaveLength(1);
    expect(channels[0].address).toBe(`${t.env.url.replace('localhost', '127.0.0.1')}/v1/google/notifications`);
    expect(channels[0].token).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 random bits
  });

  it('rebooks a deleted window on the business day after the original date, and the day after when deleted again', async () => {
    const owner = 'deleter@acme.com';
    const first = await bookFor(t, owner, 401);
    t.env.emulator.deleteEventAsOwner(owner, first.calendar_event_id as string);
    const second = await rebooked(t, 401, first.start as string);
    expect(second.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(second.calendar_event_id).not.toBe(first.calendar_event_id);

    t.env.emulator.deleteEventAsOwner(owner, second.calendar_event_id as string);
    const third = await rebooked(t, 401, second.start as string);
    expect(third.start).toBe('2026-11-26T09:00:00.000+00:00');
    expect(t.env.emulator.events(owner).map((e) => e.id)).toEqual([third.calendar_event_id]);
  });

  it('skips the weekend: a Friday original is rebooked on Monday', async () => {
    const owner = 'friday@acme.com';
    // Booking day Tuesday; deleted four times → Wed, Thu, Fri, then Monday.
    const r = await bookFor(t, owner, 402);
    let current = r;
    for (const expected of ['2026-11-25', '2026-11-26', '2026-11-27', '2026-11-30']) {
      t.env.emulator.deleteEventAsOwner(owner, current.calendar_event_id as string);
      current = await rebooked(t, 402, current.start as string);
      expect(current.start?.slice(0, 10)).toBe(expected);
    }
  });

  it('rebooks a window dragged into the past, and removes the stale one', async () => {
    const owner = 'past@acme.com';
    const r = await bookFor(t, owner, 403);
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, {
      start: { dateTime: '2026-11-23T08:00:00Z' },
      end: { dateTime: '2026-11-23T08:30:00Z' },
    });
    const again = await rebooked(t, 403, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    await waitFor(() => t.env.emulator.events(owner).length === 1, { what: 'stale event removed' });
    expect(t.env.emulator.events(owner)[0].id).toBe(again.calendar_event_id);
  });

  it('rebooks a window turned into an all-day event', async () => {
    const owner = 'allday@acme.com';
    const r = await bookFor(t, owner, 404);
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { start: { date: '2026-11-24' }, end: { date: '2026-11-25' } });
    const again = await rebooked(t, 404, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
  });

  it('follows a window moved later without booking a new one, and ignores text edits', async () => {
    const owner = 'mover@acme.com';
    const r = await bookFor(t, owner, 405);
    await calendarSettled(t.env, 'the echoes of our own insert'); // the echoes of our own insert pass
    t.env.emulator.resetCalls();
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { summary: 'My maintenance', description: 'edited' });
    // The sync that read the edit happened; then nothing else: no write, the window unchanged.
    await waitFor(() => t.env.emulator.calls.some((c) => c.method === 'events.list' && c.owner === owner && c.status === 200), {
      what: 'the sync after the text edit',
    });
    await calendarSettled(t.env, 'the sync after the text edit and what it caused');
    expect((await t.daemon.remediations({ host_id: 405 }))[0]).toMatchObject({ status: 'booked', start: TUESDAY_9 });
    expect(Object.keys(t.env.emulator.callCounts({ owner })).filter((m) => m !== 'events.list' && m !== 'token')).toEqual([]);

    t.env.emulator.resetCalls();
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, {
      start: { dateTime: '2026-11-24T14:00:00Z' },
      end: { dateTime: '2026-11-24T14:30:00Z' },
    });
    const moved = await rebooked(t, 405, r.start as string);
    expect(Date.parse(moved.start as string)).toBe(Date.parse('2026-11-24T14:00:00Z'));
    expect(moved.calendar_event_id).toBe(r.calendar_event_id);
    expect(t.env.emulator.callCounts({ owner })['events.insert']).toBeUndefined();
    expect(t.env.emulator.events(owner)).toHaveLength(1);
  });

  it('ignores forged and unknown notifications: nothing changes', async () => {
    const owner = 'forged@acme.com';
    const r = await bookFor(t, owner, 406);
    const channel = t.env.emulator.channels().find((c) => c.owner === owner);
    await calendarSettled(t.env, 'the echoes of our own insert');
    t.env.emulator.resetCalls();
    const notify = (headers: Record<string, string>) =>
      request(`${t.env.url}/v1/google/notifications`, { method: 'POST', headers: { 'content-type': 'application/json; utf-8', ...headers }, body: '' });
    const base = { 'x-goog-resource-state': 'exists', 'x-goog-message-number': '9', 'x-goog-resource-id': channel?.resourceId ?? '' };
    const answers = [
      await notify({ ...base, 'x-goog-channel-id': 'mw-unknown', 'x-goog-channel-token': channel?.token ?? '' }),
      await notify({ ...base, 'x-goog-channel-id': channel?.id ?? '', 'x-goog-channel-token': 'forged' }),
      await notify({ ...base, 'x-goog-channel-id': channel?.id ?? '' }),
      await notify({ ...base, 'x-goog-channel-id': channel?.id ?? '', 'x-goog-channel-token': channel?.token ?? '', 'x-goog-resource-state': 'sync' }),
      await notify({}),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([204, 204, 204, 204, 204]);
    // Each was judged before it was answered (a sync is enqueued before the 204): any sync it started has run.
    await calendarSettled(t.env, 'whatever the notifications started');
    // Calls about this owner: the watch tick may poll owners of earlier tests whose clock jumped ahead.
    expect(t.env.emulator.calls.filter((c) => c.owner === owner)).toHaveLength(0);
    expect((await t.daemon.remediations({ host_id: 406 }))[0]).toMatchObject({ status: 'booked', start: r.start });
  });

  it('does not storm on the echoes of its own writes', async () => {
    const owner = 'echo@acme.com';
    const r = await bookFor(t, owner, 407);
    await calendarSettled(t.env, 'the echoes of our own insert');
    t.env.emulator.resetCalls();
    t.env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    await rebooked(t, 407, r.start as string);
    // Our insert notifies us too: every echo handled and no job left (a storm would never get here), then silence.
    await calendarSettled(t.env, 'the echoes of the rebooking');
    const counts = t.env.emulator.callCounts({ owner });
    expect(counts['events.insert']).toBe(1);
    expect(counts['events.list'] ?? 0).toBeLessThanOrEqual(3);
    // Calls about this owner: the watch tick may poll owners of earlier tests whose clock jumped ahead.
    const ownCalls = () => t.env.emulator.calls.filter((c) => c.owner === owner).length;
    const before = ownCalls();
    await calendarSettled(t.env, 'anything still to come');
    expect(ownCalls()).toBe(before);
  });

  it('reads none of its own writes back: a hand-over (delete the old window, create the next) costs no listing', async () => {
    const owner = 'handover-echo@acme.com';
    await bookFor(t, owner, 409);
    await postFailing(t, 410, owner);
    await t.daemon.waitForStatus(410, 'queued');
    await calendarSettled(t.env, 'the echoes of our own insert');
    const accepted = async () => {
      const text = await (await request(`${t.env.url}/metrics`)).body.text();
      return Number(/^mw_push_notifications_total\{verdict="accepted"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const acceptedBefore = await accepted();
    t.env.emulator.resetCalls();
    await postPassing(t, 409, owner);
    await t.daemon.waitForStatus(410, 'booked');
    await calendarSettled(t.env, 'the echoes of the hand-over');
    const counts = t.env.emulator.callCounts({ owner });
    expect(counts['events.delete']).toBe(1);
    expect(counts['events.insert']).toBe(1);
    // Both writes notified us (the channel stayed open); both echoes were counted as ours, so nothing was listed.
    expect((await accepted()) - acceptedBefore).toBeGreaterThanOrEqual(2);
    expect(counts['events.list'] ?? 0).toBe(0);
  });

  it('rebooks a window deleted while its sync token expired: 410, full sync, then a look at the event', async () => {
    const owner = 'expired@acme.com';
    const r = await bookFor(t, owner, 408);
    // Let the echoes of our own insert settle, then watch only what follows.
    await calendarSettled(t.env, 'the echoes of our own insert');
    t.env.emulator.resetCalls();
    t.env.emulator.expireSyncTokens(owner);
    t.env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    const again = await rebooked(t, 408, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(again.calendar_event_id).not.toBe(r.calendar_event_id);

    // The incremental sync met 410 fullSyncRequired; the full sync that followed does not list deleted events,
    // so the daemon asked for ours (events.get) before rebooking.
    const calls = t.env.emulator.calls.filter((c) => c.owner === owner);
    const expired = calls.findIndex((c) => c.method === 'events.list' && c.status === 410);
    expect(expired).toBeGreaterThanOrEqual(0);
    expect(calls.findIndex((c) => c.method === 'events.list' && c.status === 200)).toBeGreaterThan(expired);
    expect(calls.findIndex((c) => c.method === 'events.get')).toBeGreaterThan(expired);
    // Exactly one new event, also once the echoes of the rebooking have been handled.
    await calendarSettled(t.env, 'the echoes of the rebooking');
    expect(t.env.emulator.callCounts({ owner })['events.insert']).toBe(1);
    expect(t.env.emulator.events(owner).map((e) => e.id)).toEqual([again.calendar_event_id]);
  });

  it('measures the time from an owner’s delete to the corrected calendar', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 8; i++) {
      const owner = `latency${i}@acme.com`;
      const r = await bookFor(t, owner, 420 + i);
      const t0 = Date.now();
      t.env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
      await waitFor(() => t.env.emulator.events(owner).some((e) => e.id !== r.calendar_event_id), { intervalMs: 5, what: 'new event' });
      latencies.push(Date.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    console.log(`owner change → corrected calendar: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms (n=${latencies.length})`);
    expect(latencies).toHaveLength(8);
  });
});

describe('a window moved later fires once, at its final time', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'watch-fire', clock });

  it('fires at the new start, not the old one', async () => {
    const owner = 'late.mover@acme.com';
    clock.set(Date.parse(TUESDAY_9) - 4000);
    const r = await bookFor(t, owner, 450);
    expect(r.start).toBe(TUESDAY_9);
    const newStart = Date.parse(TUESDAY_9) + 3000;
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, {
      start: { dateTime: new Date(newStart).toISOString() },
      end: { dateTime: new Date(newStart + 30 * 60_000).toISOString() },
    });
    await waitFor(async () => Date.parse((await t.daemon.remediations({ host_id: 450 }))[0].start ?? '') === newStart, { what: 'move followed' });
    const delivery = await firstWebhookFor(t, 450, 10_000);
    expect(delivery.at).toBeGreaterThanOrEqual(clock.realTimeOf(newStart));
    await t.daemon.waitForStatus(450, 'fired');
    // Both fire jobs (the original start's, which finds the window moved, and the new one's) have run.
    await fireJobsEnded(t.env, `fire-${r.id}-`);
    expect(webhooksFor(t, 450)).toHaveLength(1);
  });
});

describe('when push notifications are lost, the poll finds the change', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'watch-poll', clock, env: { POLL_INTERVAL_SECONDS: '2' } });

  it('rebooks a deleted window within the poll interval', async () => {
    const owner = 'lost@acme.com';
    const r = await bookFor(t, owner, 460);
    t.env.emulator.dropNotifications(true);
    const t0 = Date.now();
    t.env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    const again = await rebooked(t, 460, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(Date.now() - t0).toBeLessThan(2000 + 2000);
  });
});

describe('far-future windows are polled, then pushed once inside the horizon', () => {
  // Wednesday: next Tuesday is six days away, beyond a one-day push horizon.
  const clock = new TestClock('2026-11-18T12:00:00Z');
  const t = useDaemon({ label: 'watch-horizon', clock, env: { PUSH_HORIZON_DAYS: '1', POLL_INTERVAL_SECONDS: '1' } });

  it('opens no channel for a window beyond the horizon, polls it, and switches to push as it comes near', async () => {
    const owner = addOwner(t, 'far@acme.com');
    await postFailing(t, 470, owner);
    const r = await t.daemon.waitForStatus(470, 'booked');
    expect(r.start).toBe(TUESDAY_9);
    await waitFor(() => (t.env.emulator.callCounts({ owner })['events.list'] ?? 0) >= 2, { what: 'polls' });
    expect(t.env.emulator.channels().filter((c) => c.owner === owner)).toHaveLength(0);

    clock.set(MONDAY_NOON);
    await waitFor(() => t.env.emulator.channels().some((c) => c.owner === owner), { what: 'channel once inside the horizon' });
  });
});

describe('channels are renewed before they expire', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'watch-ttl', clock, env: { CHANNEL_TTL_SECONDS: '4' } });

  it('opens a new channel before the old one expires and stops the old one', async () => {
    const owner = 'renew@acme.com';
    await bookFor(t, owner, 480);
    const first = t.env.emulator.channels().find((c) => c.owner === owner);
    const second = await waitFor(() => t.env.emulator.channels().find((c) => c.owner === owner && c.id !== first?.id), {
      timeoutMs: 6000,
      what: 'renewed channel',
    });
    const renewedAt = t.env.emulator.calls.filter((c) => c.method === 'events.watch' && c.owner === owner)[1]?.at ?? Infinity;
    expect(renewedAt).toBeLessThan(first?.expiration ?? 0);
    await waitFor(() => !t.env.emulator.channels().some((c) => c.id === first?.id), { what: 'old channel gone' });
    expect(t.env.emulator.callCounts({ owner })['channels.stop']).toBeGreaterThanOrEqual(1);
    expect(second.expiration).toBeGreaterThan(first?.expiration ?? 0);
  });
});
