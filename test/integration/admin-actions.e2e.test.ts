import { policyEvent } from '../support/daemon-client';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const MONDAY_NOON = '2026-11-23T12:00:00Z';

/** Admin actions end to end (cancel, fire-now, reschedule) and the maintenance-state API around a window. */
describe('admin actions and the maintenance-state API', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'admin-actions', clock });
  beforeEach(() => clock.set(MONDAY_NOON));

  const resolutionHooks = (hostId: number) =>
    t.env.webhook.requests.filter((r) => r.url === '/resolution' && (r.body as { host_id: number }).host_id === hostId);

  it('cancel: the future event is deleted, the status is cancelled, the owner’s next host is booked; 404 and 409', async () => {
    const owner = 'cancel@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 801, emails: [owner] }));
    const booked = await t.daemon.waitForStatus(801, 'booked');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 802, emails: [owner] }));
    await t.daemon.waitForStatus(802, 'queued');

    const res = await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, { reason: 'laptop replaced' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: booked.id, status: 'cancelled', reason: 'laptop replaced', calendar_event: 'removed' });
    await waitFor(() => !t.env.emulator.events(owner).some((e) => e.id === booked.calendar_event_id), { what: 'event deleted' });
    const next = await t.daemon.waitForStatus(802, 'booked');
    expect(t.env.emulator.events(owner).map((e) => e.id)).toEqual([next.calendar_event_id]);
    const { history } = await t.daemon.remediation(booked.id);
    expect(history[history.length - 1]).toMatchObject({ type: 'remediation.cancelled', actor: 'admin', data: { reason: 'laptop replaced', previous_status: 'booked', status: 'cancelled' } });

    expect((await t.daemon.post('/v1/remediations/h999999-1/cancel', {})).status).toBe(404);
    const again = await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'INVALID_STATE' });
    expect(again.body.message).toContain('cancelled');
    expect((await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, { reason: 42 })).body).toMatchObject({ statusCode: 400, field: 'reason' });
    expect((await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, { why: 'x' })).status).toBe(400);
  });

  it('fire-now: the resolution webhook goes out now, the booked event is removed, the owner’s next host is booked', async () => {
    const owner = 'firenow@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'Europe/Zurich' });
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 811, emails: [owner], serial_number: 'FN811' }));
    const booked = await t.daemon.waitForStatus(811, 'booked');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 812, emails: [owner] }));
    await t.daemon.waitForStatus(812, 'queued');

    const res = await t.daemon.post(`/v1/remediations/${booked.id}/fire-now`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: booked.id, calendar_event: 'removed' });
    expect(['firing', 'fired']).toContain(res.body.status);
    const fired = await t.daemon.waitForStatus(811, 'fired');
    expect(resolutionHooks(811)).toHaveLength(1);
    expect(resolutionHooks(811)[0].body).toMatchObject({ host_id: 811, host_serial_number: 'FN811', failing_policies: [{ id: 7, name: 'Policy 7' }] });
    // The window is the one that happened: from now, its booked length.
    expect(Date.parse(fired.start as string)).toBeLessThan(Date.parse(booked.start as string));
    expect(Date.parse(fired.end as string) - Date.parse(fired.start as string)).toBe(30 * 60_000);
    await waitFor(() => !t.env.emulator.events(owner).some((e) => e.id === booked.calendar_event_id), { what: 'booked event removed' });
    await t.daemon.waitForStatus(812, 'booked');
    const { history } = await t.daemon.remediation(booked.id);
    expect(history.map((e) => [e.type, e.actor]).slice(-2)).toEqual([
      ['window.started', 'admin'],
      ['delivery.succeeded', 'system'],
    ]);
    expect(history[history.length - 2].data).toMatchObject({ booked_start: booked.start });

    // Already fired: 409 naming the state.
    const again = await t.daemon.post(`/v1/remediations/${booked.id}/fire-now`, {});
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('fired');
    expect((await t.daemon.post('/v1/remediations/h999999-1/fire-now', {})).status).toBe(404);
  });

  it('reschedule: the event is patched (same id, no freeBusy), the window fires at the new start; 400 for a past start', async () => {
    const owner = 'resched@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 821, emails: [owner] }));
    const booked = await t.daemon.waitForStatus(821, 'booked');
    const callsBefore = t.env.emulator.callCounts({ owner });

    const res = await t.daemon.post(`/v1/remediations/${booked.id}/reschedule`, { start: '2026-11-26T14:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: booked.id, status: 'booked', start: '2026-11-26T14:00:00.000+00:00', end: '2026-11-26T14:30:00.000+00:00' });
    const [event] = t.env.emulator.events(owner);
    expect(event.id).toBe(booked.calendar_event_id);
    expect(Date.parse(event.start.dateTime as string)).toBe(Date.parse('2026-11-26T14:00:00Z'));
    const callsAfter = t.env.emulator.callCounts({ owner });
    expect(callsAfter['freebusy.query'] ?? 0).toBe(callsBefore['freebusy.query'] ?? 0);
    expect(callsAfter['events.insert']).toBe(callsBefore['events.insert']);
    expect((callsAfter['events.patch'] ?? 0) - (callsBefore['events.patch'] ?? 0)).toBe(1);
    // Our own patch echoes back on the calendar: judged against the new start, it changes nothing.
    await t.env.emulator.notificationsSettled();
    const after = await t.daemon.remediation(booked.id);
    expect(after.status).toBe('booked');
    expect(after.history.filter((e) => e.type === 'window.moved').map((e) => e.actor)).toEqual(['admin']);

    expect((await t.daemon.post(`/v1/remediations/${booked.id}/reschedule`, { start: '2026-11-20T14:00:00Z' })).body).toMatchObject({ statusCode: 400, field: 'start' });
    expect((await t.daemon.post(`/v1/remediations/${booked.id}/reschedule`, { start: 'tomorrow' })).body).toMatchObject({ statusCode: 400, field: 'start' });
    expect((await t.daemon.post(`/v1/remediations/${booked.id}/reschedule`, {})).body).toMatchObject({ statusCode: 400, field: 'start' });
    expect((await t.daemon.post('/v1/remediations/h999999-1/reschedule', { start: '2026-11-26T14:00:00Z' })).status).toBe(404);
    await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, {});
    const conflict = await t.daemon.post(`/v1/remediations/${booked.id}/reschedule`, { start: '2026-11-26T15:00:00Z' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toContain('cancelled');

    // Moved to three seconds from now: it fires then (once), not at its old Tuesday start.
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 822, emails: [owner] }));
    const second = await t.daemon.waitForStatus(822, 'booked');
    const soon = new Date(Math.ceil((clock.now() + 3000) / 1000) * 1000).toISOString();
    expect((await t.daemon.post(`/v1/remediations/${second.id}/reschedule`, { start: soon })).status).toBe(200);
    const fired = await t.daemon.waitForStatus(822, 'fired', 10_000);
    expect(Date.parse(fired.start as string)).toBe(Date.parse(soon));
    expect(resolutionHooks(822)).toHaveLength(1);
    expect(Date.parse((resolutionHooks(822)[0].body as { timestamp: string }).timestamp)).toBeGreaterThanOrEqual(Date.parse(soon));
  });

  it('lists remediations a page at a time, newest first, filtered by team, policy and window start', async () => {
    const owners = ['page1@acme.com', 'page2@acme.com', 'page3@acme.com', 'page4@acme.com', 'page5@acme.com'];
    for (const [i, owner] of owners.entries()) {
      t.env.emulator.addUser(owner, { timeZone: 'UTC' });
      await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 840 + i, emails: [owner], team_id: i % 2 === 0 ? 40 : 41 }, { id: 70 + (i % 2) }));
      await t.daemon.waitForStatus(840 + i, 'booked');
    }
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { remediations: Array<{ id: string; host_id: number }>; next: string | null } } = await t.daemon.get(
        `/v1/remediations?team_id=40&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      pages.push(res.body.remediations.map((r) => r.id));
      cursor = res.body.next;
    } while (cursor);
    // Hosts 840, 842, 844 are in team 40: newest first, two per page, nothing repeated or missed.
    expect(pages.flat()).toEqual(['h844-1', 'h842-1', 'h840-1']);
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    const byPolicy = await t.daemon.get('/v1/remediations?policy_id=71&limit=10');
    expect(byPolicy.body.remediations.map((r: { host_id: number }) => r.host_id)).toEqual([843, 841]);
    const inRange = await t.daemon.get('/v1/remediations?from=2026-11-24T09:00:00Z&to=2026-11-24T09:01:00Z&team_id=41');
    expect(inRange.body.remediations.map((r: { host_id: number }) => r.host_id)).toEqual([843, 841]);
    const none = await t.daemon.get('/v1/remediations?from=2026-11-25T00:00:00Z&team_id=41');
    expect(none.body).toEqual({ remediations: [], next: null });
  });

  it('maintenance state: before, during and after the window', async () => {
    const owner = 'state@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    const state = async () => (await t.daemon.get('/v1/hosts/831/maintenance')).body;
    expect(await state()).toEqual({ host_id: 831, in_window: false, window: null, remaining_seconds: 0, next_window: null, status: null });

    clock.set('2026-11-24T08:59:57Z');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 831, emails: [owner] }));
    const booked = await t.daemon.waitForStatus(831, 'booked');
    const window = { start: booked.start, end: booked.end };
    expect(await state()).toMatchObject({ in_window: false, window: null, next_window: window, status: 'booked' });

    await t.daemon.waitForStatus(831, 'fired');
    clock.set('2026-11-24T09:10:00Z');
    expect(await state()).toEqual({ host_id: 831, in_window: true, window, remaining_seconds: 20 * 60, next_window: null, status: 'fired' });

    clock.set('2026-11-24T09:30:00Z');
    expect(await state()).toMatchObject({ in_window: false, window: null, remaining_seconds: 0, next_window: null, status: 'fired' });
  });
});
