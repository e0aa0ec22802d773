/**
 * What one window costs on Microsoft 365, counted at the Graph emulator for the whole daemon: the calls of a
 * first booking, and of a change the owner makes (one notification → one delta). The README's figures come from here.
 */
import { postFailing } from '../support/fixtures';
import { calendarSettled } from '../support/settled';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

describe('Graph calls per booking and per change (Microsoft 365)', () => {
  const clock = new TestClock('2026-11-23T12:00:00Z');
  const t = useDaemon({ label: 'graph-calls', clock, provider: 'microsoft' });

  it('a first booking: one delta read, the mailbox zone, getSchedule, the create, the subscription', async () => {
    const graph = t.env.graph!;
    const owner = t.env.calendars.addOwner('counted@acme.com', 'Europe/Berlin');
    graph.resetCalls();
    await postFailing(t, 2001, owner);
    const r = await t.daemon.waitForStatus(2001, 'booked');
    expect(r.start).toBe('2026-11-24T09:00:00.000+01:00');
    await waitFor(() => t.env.calendars.subscriptions(owner).length === 1, { what: 'the subscription' });
    await calendarSettled(t.env);
    expect(graph.callCounts({ mailbox: owner })).toEqual({
      'calendarView.delta': 1,
      'mailboxSettings.get': 1,
      'calendar.getSchedule': 1,
      'events.create': 1,
    });
    // POST /subscriptions names no mailbox in its path: counted apart.
    expect(graph.calls.filter((c) => c.method.startsWith('subscriptions.')).map((c) => c.method)).toEqual(['subscriptions.create']);
    // MSAL keeps the app's token: at most one token request, whatever the number of owners.
    expect(graph.calls.filter((c) => c.method === 'token').length).toBeLessThanOrEqual(1);
    const entra = new Set(['token', 'openid-configuration', 'instance-discovery', 'jwks']);
    expect(graph.calls.filter((c) => !entra.has(c.method) && !c.immutableIds)).toEqual([]);

    // The owner moves the window: one notification, one delta, the move followed (no other call).
    graph.resetCalls();
    const [window] = t.env.calendars.windows(owner);
    t.env.calendars.moveAsOwner(owner, window.id, '2026-11-24T13:00:00Z', '2026-11-24T13:30:00Z');
    await waitFor(async () => (await t.daemon.remediations({ host_id: 2001 }))[0]?.start === '2026-11-24T14:00:00.000+01:00', { what: 'the move followed' });
    await calendarSettled(t.env);
    expect(graph.callCounts({ mailbox: owner })).toEqual({ 'calendarView.delta': 1 });
  });
});

describe('Graph lifecycle notifications, end to end (emulator → /v1/microsoft/lifecycle → watch service)', () => {
  const clock = new TestClock('2026-11-23T12:00:00Z');
  const t = useDaemon({ label: 'graph-lifecycle', clock, provider: 'microsoft' });

  async function watched(hostId: number, owner: string) {
    t.env.calendars.addOwner(owner);
    await postFailing(t, hostId, owner);
    await t.daemon.waitForStatus(hostId, 'booked');
    await waitFor(() => t.env.calendars.subscriptions(owner).length === 1, { what: `subscription on ${owner}` });
    await calendarSettled(t.env);
    return t.env.graph!.subscriptions().find((s) => s.mailbox === owner)!;
  }

  it('reauthorizationRequired: the subscription is renewed (and unpaused), and the calendar synced for what the pause hid', async () => {
    const graph = t.env.graph!;
    const sub = await watched(2101, 'reauth@acme.com');
    graph.resetCalls();
    graph.sendLifecycleNotification(sub.id, 'reauthorizationRequired');
    await waitFor(() => graph.calls.some((c) => c.method === 'subscriptions.update' && c.status === 200), { what: 'the renewal' });
    await waitFor(() => graph.callCounts({ mailbox: 'reauth@acme.com' })['calendarView.delta'] === 1, { what: 'the sync after the pause' });
    expect(graph.subscriptions().find((s) => s.id === sub.id)).toMatchObject({ paused: false });
  });

  it('subscriptionRemoved: a new subscription is made; missed: the calendar is synced', async () => {
    const graph = t.env.graph!;
    const sub = await watched(2102, 'removed@acme.com');
    graph.resetCalls();
    graph.sendLifecycleNotification(sub.id, 'subscriptionRemoved');
    await waitFor(() => graph.subscriptions().some((s) => s.mailbox === 'removed@acme.com' && s.id !== sub.id), { what: 'a new subscription' });
    const renewed = graph.subscriptions().find((s) => s.mailbox === 'removed@acme.com')!;
    await calendarSettled(t.env);
    graph.resetCalls();
    graph.sendLifecycleNotification(renewed.id, 'missed');
    await waitFor(() => graph.callCounts({ mailbox: 'removed@acme.com' })['calendarView.delta'] === 1, { what: 'the sync after missed notifications' });
  });
});
