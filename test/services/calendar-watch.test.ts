import type { CalendarNotification } from '../../src/ports/calendar';
import type { ChannelRecord } from '../../src/services/ports';
import { fakeWorld, policyEvent, type FakeWorld } from '../support/fake-services';

const MONDAY_NOON = '2026-11-23T12:00:00Z';
/** Four hours before the window booked for Tuesday 09:00 UTC: inside the six-hour push horizon. */
const TUESDAY_EARLY = '2026-11-24T05:00:00Z';
const OWNER = 'alice@acme.com';
const LIFECYCLE_URL = 'https://mw.example/v1/microsoft/lifecycle';

/** Books a window for the owner, moves to within the push horizon and lets the watcher subscribe (and sync once). */
async function watched(w: FakeWorld): Promise<ChannelRecord> {
  w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
  await w.ingest(policyEvent('policy_failing', 20, OWNER));
  await w.scheduler.runBookings();
  expect(await w.latest(20)).toMatchObject({ status: 'booked', start: '2026-11-24T09:00:00.000+00:00' });
  w.clock.set(TUESDAY_EARLY);
  expect(await w.services.watch.maintainChannels()).toEqual({ opened: 1, renewed: 0, stopped: 0 });
  await w.scheduler.runSyncs();
  const channel = await w.watch.currentChannel(OWNER);
  if (!channel) throw new Error('no channel opened');
  return channel;
}

function notification(channel: ChannelRecord, kind: CalendarNotification['kind'], extra: Partial<CalendarNotification> = {}): CalendarNotification {
  return { subscriptionId: channel.channelId, secret: channel.token, resource: channel.resource, kind, ...extra };
}

describe('CalendarWatchService on in-memory ports: subscriptions through the change feed', () => {
  it('subscribes with the notification and lifecycle URLs and a fresh secret, and keeps the subscription', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, lifecycleNotificationUrl: LIFECYCLE_URL });
    const channel = await watched(w);
    expect(channel).toMatchObject({ owner: OWNER, resource: `resource-${OWNER}`, expiration: Date.parse(TUESDAY_EARLY) + 3600_000 });
    // 128 random bits, base64url.
    expect(channel.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(w.calendar.subscriptions.get(channel.channelId)).toEqual({
      owner: OWNER,
      resource: channel.resource,
      expiration: channel.expiration,
      address: 'https://mw.example/v1/google/notifications',
      lifecycleAddress: LIFECYCLE_URL,
      secret: channel.token,
    });
    // The subscription asked for a first read of the calendar: the cursor is kept.
    expect(w.calendar.callCount('changes', OWNER)).toBe(1);
    expect(await w.watch.syncToken(OWNER)).toBeTruthy();
  });

  it('sends no lifecycle address when the settings have none (Google)', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);
    expect(w.calendar.subscriptions.get(channel.channelId)).not.toHaveProperty('lifecycleAddress');
  });
});

describe('CalendarWatchService.acceptNotification: verified, then by kind', () => {
  it('a change requests a sync; so do missed notifications; the handshake changes nothing', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);

    await expect(w.services.watch.acceptNotification(notification(channel, 'changed'))).resolves.toEqual({ kind: 'sync', owner: OWNER });
    expect(w.scheduler.syncRequests.splice(0)).toEqual([OWNER]);

    // Graph names no resource we can check: the subscription id and its secret are enough.
    await expect(w.services.watch.acceptNotification(notification(channel, 'missed', { resource: undefined }))).resolves.toEqual({ kind: 'sync', owner: OWNER });
    expect(w.scheduler.syncRequests.splice(0)).toEqual([OWNER]);

    await expect(w.services.watch.acceptNotification(notification(channel, 'handshake'))).resolves.toEqual({ kind: 'ignored', reason: 'sync message', owner: OWNER });
    expect(w.scheduler.syncRequests).toEqual([]);
  });

  it('refuses unknown subscriptions, a wrong or missing secret and another resource, whatever the kind', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    const callsBefore = w.calendar.calls.length;
    for (const kind of ['changed', 'missed', 'reauthorize', 'removed'] as const) {
      const verdicts = await Promise.all([
        w.services.watch.acceptNotification(notification(channel, kind, { subscriptionId: undefined })),
        w.services.watch.acceptNotification(notification(channel, kind, { subscriptionId: 'sub-unknown' })),
        w.services.watch.acceptNotification(notification(channel, kind, { secret: 'forged' })),
        w.services.watch.acceptNotification(notification(channel, kind, { secret: `${channel.token}0` })),
        w.services.watch.acceptNotification(notification(channel, kind, { secret: undefined })),
        w.services.watch.acceptNotification(notification(channel, kind, { resource: 'someone-elses-calendar' })),
      ]);
      expect(verdicts).toEqual([
        { kind: 'ignored', reason: 'no channel id' },
        { kind: 'ignored', reason: 'unknown channel' },
        { kind: 'ignored', reason: 'wrong channel token', owner: OWNER },
        { kind: 'ignored', reason: 'wrong channel token', owner: OWNER },
        { kind: 'ignored', reason: 'wrong channel token', owner: OWNER },
        { kind: 'ignored', reason: 'wrong resource id', owner: OWNER },
      ]);
    }
    expect(w.scheduler.syncRequests).toEqual([]);
    expect(w.calendar.calls.length).toBe(callsBefore);
    expect(await w.watch.currentChannel(OWNER)).toEqual(channel);
  });

  it('reauthorize: answered at once (marked, a channel round requested); the round renews it when the provider can, then syncs', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    w.clock.advance(20 * 60_000);
    const callsBefore = w.calendar.calls.length;
    const roundsBefore = w.scheduler.channelMaintenanceRequests;

    await expect(w.services.watch.acceptNotification(notification(channel, 'reauthorize'))).resolves.toEqual({ kind: 'handled', action: 'renewal requested', owner: OWNER });
    // Nothing asked of the provider while the notification waits for its answer.
    expect(w.calendar.calls.length).toBe(callsBefore);
    expect(w.scheduler.channelMaintenanceRequests).toBe(roundsBefore + 1);
    expect(await w.watch.currentChannel(OWNER)).toEqual({ ...channel, renewRequested: true });

    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 1, stopped: 0 });
    expect(w.scheduler.syncRequests.splice(0)).toEqual([OWNER]);

    const renewed = await w.watch.currentChannel(OWNER);
    expect(renewed).toEqual({ ...channel, expiration: w.clock.now() + 3600_000 });
    expect(w.calendar.subscriptions.get(channel.channelId)?.expiration).toBe(w.clock.now() + 3600_000);
    expect([w.calendar.callCount('subscribe'), w.calendar.callCount('renew'), w.calendar.callCount('stop')]).toEqual([1, 1, 0]);
  });

  it('reauthorize: replaces the subscription when the provider cannot renew (the old one is stopped)', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);

    await expect(w.services.watch.acceptNotification(notification(channel, 'reauthorize'))).resolves.toEqual({ kind: 'handled', action: 'renewal requested', owner: OWNER });
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 1, stopped: 1 });
    expect(w.scheduler.syncRequests.splice(0)).toEqual([OWNER]);

    const current = await w.watch.currentChannel(OWNER);
    expect(current?.channelId).not.toBe(channel.channelId);
    expect(current?.token).not.toBe(channel.token);
    expect(await w.watch.channel(channel.channelId)).toBeNull();
    expect(w.calendar.stopped).toEqual([{ id: channel.channelId, resource: channel.resource, expiration: channel.expiration }]);
    expect([...w.calendar.subscriptions.keys()]).toEqual([current?.channelId]);
  });

  it('reauthorize: a failed renewal replaces the subscription instead', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    w.calendar.failNext('renew', new Error('403 forbidden'));

    await expect(w.services.watch.acceptNotification(notification(channel, 'reauthorize'))).resolves.toEqual({ kind: 'handled', action: 'renewal requested', owner: OWNER });
    await w.services.watch.maintainChannels();
    expect((await w.watch.currentChannel(OWNER))?.channelId).not.toBe(channel.channelId);
    expect(w.calendar.callCount('subscribe')).toBe(2);
    expect(w.calendar.stopped.map((s) => s.id)).toEqual([channel.channelId]);
  });

  it('reauthorize on a channel already superseded (another replica opened a newer one): nothing to renew', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    const newer: ChannelRecord = { ...channel, channelId: 'sub-newer', token: 'newer-secret', expiration: channel.expiration + 60_000 };
    await w.watch.saveChannel(newer);

    await expect(w.services.watch.acceptNotification(notification(channel, 'reauthorize'))).resolves.toEqual({ kind: 'ignored', reason: 'superseded channel', owner: OWNER });
    expect(await w.watch.currentChannel(OWNER)).toEqual(newer);
    expect(await w.watch.channel(channel.channelId)).toEqual(channel);
    expect([w.calendar.callCount('renew'), w.calendar.callCount('subscribe')]).toEqual([0, 1]);
  });

  it('removed: forgets our record at once, and the channel round it requests subscribes again (nothing to stop: the provider dropped it)', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    w.calendar.removeSubscription(channel.channelId);
    const roundsBefore = w.scheduler.channelMaintenanceRequests;

    await expect(w.services.watch.acceptNotification(notification(channel, 'removed'))).resolves.toEqual({ kind: 'handled', action: 'forgotten', owner: OWNER });
    expect(await w.watch.channel(channel.channelId)).toBeNull();
    expect(w.scheduler.channelMaintenanceRequests).toBe(roundsBefore + 1);
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 1, renewed: 0, stopped: 0 });

    const current = await w.watch.currentChannel(OWNER);
    expect(current).not.toBeNull();
    expect(current?.channelId).not.toBe(channel.channelId);
    expect(w.calendar.subscriptions.get(current?.channelId ?? '')).toMatchObject({ owner: OWNER, secret: current?.token });
    expect(w.calendar.callCount('stop')).toBe(0);
    // A second copy of the same notification finds nothing left to forget.
    await expect(w.services.watch.acceptNotification(notification(channel, 'removed'))).resolves.toEqual({ kind: 'ignored', reason: 'unknown channel' });
    expect(w.calendar.callCount('subscribe')).toBe(2);
  });

  it('removed: only forgotten when the owner has no window to watch any more', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);
    await w.ingest(policyEvent('policy_passing', 20, OWNER));
    expect((await w.latest(20)).status).not.toBe('booked');

    await expect(w.services.watch.acceptNotification(notification(channel, 'removed'))).resolves.toEqual({ kind: 'handled', action: 'forgotten', owner: OWNER });
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 0, stopped: 0 });
    expect(await w.watch.currentChannel(OWNER)).toBeNull();
    expect(await w.watch.channelPage(0, 100)).toEqual([]);
    expect(w.calendar.callCount('subscribe')).toBe(1);
  });
});

describe('CalendarWatchService.maintainChannels: before a subscription expires', () => {
  /** Within the last quarter of the one-hour lifetime (the renewal margin), the window still ahead. */
  const nearExpiry = (w: FakeWorld) => w.clock.advance(50 * 60_000);

  it('renews it when the provider can: the same subscription, a later expiration, nothing stopped', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    nearExpiry(w);

    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 1, stopped: 0 });
    expect(await w.watch.channelPage(0, 100)).toEqual([{ ...channel, expiration: w.clock.now() + 3600_000 }]);
    expect([w.calendar.callCount('subscribe'), w.calendar.callCount('renew'), w.calendar.callCount('stop')]).toEqual([1, 1, 0]);
    // Fresh again: the next round leaves it alone.
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 0, stopped: 0 });
  });

  it('replaces it when the provider cannot renew (Google): a new subscription, the old one stopped', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);
    nearExpiry(w);

    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 1, stopped: 1 });
    const [current] = await w.watch.channelPage(0, 100);
    expect(current.channelId).not.toBe(channel.channelId);
    expect(current.expiration).toBe(w.clock.now() + 3600_000);
    expect(w.calendar.stopped.map((s) => s.id)).toEqual([channel.channelId]);
    expect(w.calendar.callCount('renew')).toBe(0);
  });

  it('replaces it when the renewal fails', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, renew: true });
    const channel = await watched(w);
    nearExpiry(w);
    w.calendar.failNext('renew', new Error('404 subscription not found'));

    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 1, stopped: 1 });
    const [current] = await w.watch.channelPage(0, 100);
    expect(current.channelId).not.toBe(channel.channelId);
    expect(w.calendar.stopped.map((s) => s.id)).toEqual([channel.channelId]);
  });
});

describe('CalendarWatchService: what a first booking and a hand-over cost', () => {
  it('reads a calendar never read before once, before its first booking: the cursor is kept and the zone comes with it', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    w.calendar.addOwner(OWNER, { timeZone: 'Europe/Zurich' });
    await w.ingest(policyEvent('policy_failing', 20, OWNER));
    await w.scheduler.runBookings();
    expect(await w.latest(20)).toMatchObject({ status: 'booked', timeZone: 'Europe/Zurich', start: '2026-11-24T09:00:00.000+01:00' });
    // One full read (it carried the zone), no separate zone read; the cursor is kept for the channel.
    expect([w.calendar.callCount('changes', OWNER), w.calendar.callCount('timeZone', OWNER)]).toEqual([1, 0]);
    expect(await w.watch.syncToken(OWNER)).toBeTruthy();
    // The channel opened within the push horizon needs no read of its own.
    w.clock.set(TUESDAY_EARLY);
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 1, renewed: 0, stopped: 0 });
    expect(w.scheduler.syncRequests).toEqual([]);
  });

  it('keeps the owner’s channel and cursor open across a hand-over to the next host (nothing stopped, nothing reopened)', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);
    await w.ingest(policyEvent('policy_failing', 21, OWNER));
    expect((await w.latest(21)).status).toBe('queued');
    const subscribesBefore = w.calendar.callCount('subscribe');

    // Host 20 passes: its window is withdrawn and host 21 waits for its booking; a channel round runs meanwhile.
    await w.ingest(policyEvent('policy_passing', 20, OWNER));
    expect((await w.latest(21)).status).toBe('pending');
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 0, stopped: 0 });
    await w.scheduler.runWithdrawals();
    await w.scheduler.runBookings();
    expect((await w.latest(21)).status).toBe('booked');
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 0, stopped: 0 });

    expect(await w.watch.currentChannel(OWNER)).toEqual(channel);
    expect([w.calendar.callCount('subscribe') - subscribesBefore, w.calendar.callCount('stop'), w.calendar.callCount('timeZone', OWNER)]).toEqual([0, 0, 0]);
  });

  it('a booking asks for a channel round only when it has something to do for the owner', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const rounds = () => w.journal.entries.filter((e) => e.kind === 'job' && e.method === 'requestChannelMaintenance').length;
    // Booked 21 h ahead, beyond the six-hour push horizon: a round (it stops any channel the owner has).
    await watched(w);
    await w.ingest(policyEvent('policy_failing', 21, OWNER));
    await w.ingest(policyEvent('policy_passing', 20, OWNER));
    await w.scheduler.runWithdrawals();
    const before = rounds();

    // Host 21 booked (09:00 again), inside the horizon, on a calendar whose channel is fresh: the round would leave it.
    await w.scheduler.runBookings();
    expect((await w.latest(21)).status).toBe('booked');
    expect(rounds()).toBe(before);

    // The same booking with the channel due for renewal (15 min before it expires, at 05:45): a round.
    await w.ingest(policyEvent('policy_failing', 22, OWNER));
    await w.ingest(policyEvent('policy_passing', 21, OWNER));
    await w.scheduler.runWithdrawals();
    const beforeDue = rounds();
    w.clock.set('2026-11-24T05:46:00Z');
    await w.scheduler.runBookings();
    expect((await w.latest(22)).status).toBe('booked');
    expect(rounds()).toBe(beforeDue + 1);
  });

  it('stops the channel once the owner has nothing left to book', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const channel = await watched(w);
    await w.ingest(policyEvent('policy_passing', 20, OWNER));
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 0, stopped: 1 });
    expect(w.calendar.stopped.map((s) => s.id)).toEqual([channel.channelId]);
  });
});

describe('CalendarWatchService.maintainChannels: more booked windows than one page', () => {
  it('opens a channel for every owner whose window is inside the push horizon, none beyond, reading a page at a time', async () => {
    const w = fakeWorld({ now: TUESDAY_EARLY });
    const inside = 1001;
    const beyond = 2;
    for (let i = 0; i < inside + beyond; i++) {
      const email = `paged${i}@acme.com`;
      w.calendar.addOwner(email, { timeZone: 'UTC' });
      const day = i < inside ? '2026-11-24' : '2026-11-25';
      const at = new Date(w.clock.now()).toISOString();
      await w.store.commit(
        [
          {
            remediation: {
              id: `h${1000 + i}-1`,
              host: { id: 1000 + i, displayName: `Laptop ${i}`, serialNumber: `SN${i}`, teamId: 1 },
              email,
              policies: [{ id: 7, name: 'Disk encryption' }],
              status: 'booked',
              bookingNumber: 0,
              rebookCount: 0,
              createdAt: at,
              updatedAt: at,
              start: `${day}T09:00:00.000+00:00`,
              end: `${day}T09:30:00.000+00:00`,
            },
            previousStatus: null,
          },
        ],
        w.clock.now(),
      );
    }
    // 1,000 windows on the first page, the 1,001st and the two of Wednesday (beyond the six hours) on the second.
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: inside, renewed: 0, stopped: 0 });
    expect(await w.watch.currentChannel(`paged${inside - 1}@acme.com`)).not.toBeNull();
    expect(await w.watch.currentChannel(`paged${inside}@acme.com`)).toBeNull();

    // The windows move beyond the horizon (the clock goes back a day): every channel goes, over two pages of them,
    // though each stop shifts the list the round pages through.
    w.clock.set(Date.parse('2026-11-23T03:00:00Z'));
    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 0, stopped: inside });
    expect(await w.watch.channelPage(0, 10)).toEqual([]);
    expect(w.calendar.stopped).toHaveLength(inside);
  });
});
