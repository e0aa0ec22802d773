/**
 * The same scenarios on both calendar providers: the whole daemon (composition root, real Redis, the provider's
 * real client: googleapis + JWT for Google, MSAL + undici for Microsoft Graph) against the provider's emulator, driven
 * through one harness (test/support/calendar-harness.ts). Nothing here knows which provider it runs on, except the
 * notification route a forger would post to.
 */
import { request } from 'undici';
import { postFailing, postPassing, webhooksFor } from '../support/fixtures';
import type { ProviderName } from '../support/calendar-harness';
import { calendarSettled } from '../support/settled';
import { startTestEnv, type TestEnv } from '../support/test-app';
import { TestClock } from '../support/test-clock';
import { useDaemon, type DaemonHandle } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// Monday 23 November 2026, 12:00 UTC: windows go on Tuesday the 24th.
const MONDAY_NOON = '2026-11-23T12:00:00Z';
const PROVIDERS: ProviderName[] = ['google', 'microsoft'];

/** Waits until the host's window is booked at another start than `before`. */
function rebooked(t: DaemonHandle, hostId: number, before: string) {
  return waitFor(
    async () => {
      const [r] = await t.daemon.remediations({ host_id: hostId });
      return r?.status === 'booked' && r.start !== before ? r : null;
    },
    { timeoutMs: 10_000, what: `host ${hostId} rebooked` },
  );
}

/** A new owner with one failing host, booked and watched (its subscription open). */
async function bookedAndWatched(t: DaemonHandle, hostId: number, owner: string, zone = 'UTC') {
  t.env.calendars.addOwner(owner, zone);
  await postFailing(t, hostId, owner);
  const r = await t.daemon.waitForStatus(hostId, 'booked');
  await waitFor(() => t.env.calendars.subscriptions(owner).length === 1, { what: `subscription on ${owner}` });
  return r;
}

describe.each(PROVIDERS)('%s: the same maintenance windows on either calendar', (provider) => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: `providers-${provider}`, clock, provider });
  beforeEach(() => clock.set(MONDAY_NOON));

  it('books the first free 30-minute slot next Tuesday in the owner’s zone: one event, ours, explained', async () => {
    const owner = t.env.calendars.addOwner('zoe@acme.com', 'Europe/Zurich');
    t.env.calendars.addBusy(owner, '2026-11-24T09:00:00+01:00', '2026-11-24T10:00:00+01:00', 'Stand-up');
    await postFailing(t, 1001, owner);
    const r = await t.daemon.waitForStatus(1001, 'booked');
    expect(r).toMatchObject({ email: owner, time_zone: 'Europe/Zurich', start: '2026-11-24T10:00:00.000+01:00', end: '2026-11-24T10:30:00.000+01:00' });
    const windows = t.env.calendars.windows(owner);
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ id: r.calendar_event_id, start: Date.parse('2026-11-24T09:00:00Z'), end: Date.parse('2026-11-24T09:30:00Z') });
    expect(windows[0].title).toBe('Scheduled maintenance');
    expect(windows[0].description).toContain('Acme Corp reserved this time');
    expect(windows[0].description).toContain('(Laptop 1001)');
    expect(windows[0].description).toContain('- Policy 7');
  });

  it('puts the window in the last slot of a full day and says it was the only time left', async () => {
    const owner = t.env.calendars.addOwner('full@acme.com', 'America/New_York');
    t.env.calendars.addBusy(owner, '2026-11-24T08:00:00-05:00', '2026-11-24T18:00:00-05:00', 'Offsite');
    await postFailing(t, 1002, owner);
    const r = await t.daemon.waitForStatus(1002, 'booked');
    expect(r.start).toBe('2026-11-24T16:30:00.000-05:00');
    expect(t.env.calendars.windows(owner)[0].description).toContain('there was no remaining availability on your calendar that day');
  });

  it('one host per owner: the second waits, and gets the window when the first passes (its event removed)', async () => {
    const owner = t.env.calendars.addOwner('two.hosts@acme.com');
    await postFailing(t, 1003, owner);
    const first = await t.daemon.waitForStatus(1003, 'booked');
    await postFailing(t, 1004, owner);
    await t.daemon.waitForStatus(1004, 'queued');
    expect(t.env.calendars.windows(owner)).toHaveLength(1);

    await postPassing(t, 1003, owner);
    await t.daemon.waitForStatus(1003, 'resolved');
    const second = await t.daemon.waitForStatus(1004, 'booked');
    await waitFor(() => t.env.calendars.windows(owner).length === 1 && t.env.calendars.windows(owner)[0].id === second.calendar_event_id, {
      what: 'only the second host’s window left',
    });
    expect(second.calendar_event_id).not.toBe(first.calendar_event_id);
  });

  it('a passing policy cancels the window: resolved, the event removed, no webhook', async () => {
    const owner = t.env.calendars.addOwner('passes@acme.com');
    await postFailing(t, 1005, owner);
    await t.daemon.waitForStatus(1005, 'booked');
    await postPassing(t, 1005, owner);
    await t.daemon.waitForStatus(1005, 'resolved');
    await waitFor(() => t.env.calendars.windows(owner).length === 0, { what: 'the event removed' });
    expect(webhooksFor(t, 1005)).toEqual([]);
  });

  it('the owner deletes the window: rebooked on the next business day', async () => {
    const owner = 'deletes@acme.com';
    const r = await bookedAndWatched(t, 1006, owner);
    t.env.calendars.deleteAsOwner(owner, r.calendar_event_id as string);
    const again = await rebooked(t, 1006, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    expect(t.env.calendars.windows(owner).map((w) => w.id)).toEqual([again.calendar_event_id]);
  });

  it('the owner moves the window later: followed, same event, nothing booked anew', async () => {
    const owner = 'moves@acme.com';
    const r = await bookedAndWatched(t, 1007, owner);
    t.env.calendars.moveAsOwner(owner, r.calendar_event_id as string, '2026-11-24T14:00:00Z', '2026-11-24T14:30:00Z');
    const moved = await rebooked(t, 1007, r.start as string);
    expect(Date.parse(moved.start as string)).toBe(Date.parse('2026-11-24T14:00:00Z'));
    expect(moved.calendar_event_id).toBe(r.calendar_event_id);
    expect(t.env.calendars.windows(owner).map((w) => w.id)).toEqual([r.calendar_event_id]);
  });

  it('the owner drags the window into the past: rebooked, the stale event removed', async () => {
    const owner = 'past@acme.com';
    const r = await bookedAndWatched(t, 1008, owner);
    t.env.calendars.moveAsOwner(owner, r.calendar_event_id as string, '2026-11-23T08:00:00Z', '2026-11-23T08:30:00Z');
    const again = await rebooked(t, 1008, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
    await waitFor(() => t.env.calendars.windows(owner).length === 1, { what: 'the stale event removed' });
    expect(t.env.calendars.windows(owner)[0].id).toBe(again.calendar_event_id);
  });

  it('the owner makes it an all-day event: rebooked', async () => {
    const owner = 'allday@acme.com';
    const r = await bookedAndWatched(t, 1009, owner);
    t.env.calendars.makeAllDayAsOwner(owner, r.calendar_event_id as string, '2026-11-24');
    const again = await rebooked(t, 1009, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
  });

  it('fires at the start: Fleet’s payload to the resolution webhook', async () => {
    const owner = t.env.calendars.addOwner('fires@acme.com');
    clock.set('2026-11-24T08:59:57Z');
    await postFailing(t, 1010, owner);
    const booked = await t.daemon.waitForStatus(1010, 'booked');
    expect(booked.start).toBe('2026-11-24T09:00:00.000+00:00');
    const fired = await t.daemon.waitForStatus(1010, 'fired', 20_000);
    const [webhook] = webhooksFor(t, 1010);
    expect(webhook.body).toMatchObject({ host_id: 1010, failing_policies: [{ id: 7, name: 'Policy 7' }] });
    expect(fired.delivery).toMatchObject({ last_status: 200 });
  });

  it('creates fail for a while: retried, and the owner still gets exactly one event', async () => {
    const owner = t.env.calendars.addOwner('faults@acme.com');
    t.env.calendars.failCreates(provider === 'microsoft' ? 429 : 503, 2, 1);
    try {
      await postFailing(t, 1011, owner);
      const r = await t.daemon.waitForStatus(1011, 'booked', 20_000);
      expect(t.env.calendars.windows(owner).map((w) => w.id)).toEqual([r.calendar_event_id]);
    } finally {
      t.env.calendars.clearFaults();
    }
  });

  it('a forged notification (wrong secret) changes nothing and costs no calendar call', async () => {
    const owner = 'forged@acme.com';
    const r = await bookedAndWatched(t, 1012, owner);
    await t.env.calendars.notificationsSettled();
    const [subscription] = t.env.calendars.subscriptions(owner);
    const before = t.env.calendars.callsFor(owner);
    const res =
      provider === 'google'
        ? await request(`${t.env.url}/v1/google/notifications`, {
            method: 'POST',
            headers: { 'x-goog-channel-id': subscription.id, 'x-goog-channel-token': 'forged', 'x-goog-resource-state': 'exists', 'x-goog-message-number': '9' },
          })
        : await request(`${t.env.url}/v1/microsoft/notifications`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ value: [{ subscriptionId: subscription.id, clientState: 'forged', changeType: 'deleted', resource: `users/${owner}/events/x` }] }),
          });
    expect(res.statusCode).toBeLessThan(300);
    await res.body.dump();
    // Had it been taken, its sync would have been enqueued before the answer: wait until no job is left, then look.
    await calendarSettled(t.env, 'whatever the forged notification caused');
    expect(t.env.calendars.callsFor(owner)).toBe(before);
    expect((await t.daemon.remediations({ host_id: 1012 }))[0]).toMatchObject({ status: 'booked', start: r.start });
  });
});

describe.each(PROVIDERS)('%s: a restarted daemon keeps watching', (provider) => {
  const clock = new TestClock(MONDAY_NOON);
  let first: TestEnv | undefined;
  let second: TestEnv | undefined;
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  }, 90_000);

  it('the subscription opened before the restart still brings the owner’s delete, and the window is rebooked', async () => {
    first = await startTestEnv({ label: `providers-restart-${provider}`, clock, provider });
    const owner = first.calendars.addOwner('restart@acme.com');
    const t1: DaemonHandle = { env: first, daemon: first.client };
    await postFailing(t1, 1020, owner);
    const r = await first.client.waitForStatus(1020, 'booked');
    await waitFor(() => first?.calendars.subscriptions(owner).length === 1, { what: 'subscription' });
    // The daemon stops; another starts on the same Redis, the same calendars and the same address.
    await first.app.stop();
    second = await startTestEnv({ label: `providers-restart-${provider}`, clock, provider, reuse: first });
    const t2: DaemonHandle = { env: second, daemon: second.client };
    second.calendars.deleteAsOwner(owner, r.calendar_event_id as string);
    const again = await rebooked(t2, 1020, r.start as string);
    expect(again.start).toBe('2026-11-25T09:00:00.000+00:00');
  });
});
