import { eventIdFor, OWNED_BY_PROPERTY } from '../../src/domain/event-id';
import { policyEvent } from '../support/daemon-client';
import { addOwner, orphanEvent, postFailing } from '../support/fixtures';
import { calendarSettled } from '../support/settled';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// Monday 23 November 2026, 12:00 UTC: "next Tuesday" is the 24th in every zone used here.
const MONDAY_NOON = '2026-11-23T12:00:00Z';

describe('booking a maintenance window (daemon + Redis + Calendar emulator)', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'booking', clock });
  beforeEach(() => {
    clock.set(MONDAY_NOON);
    t.env.emulator.clearFaults();
  });

  const meeting = (email: string, from: string, to: string, extra: Record<string, unknown> = {}) =>
    t.env.emulator.createEventAsOwner(email, { summary: 'Busy', start: { dateTime: from }, end: { dateTime: to }, ...extra });

  it('books the first free 30-minute slot next Tuesday in the owner time zone, with an explanatory event', async () => {
    const owner = addOwner(t, 'zoe@acme.com', 'Europe/Zurich');
    meeting(owner, '2026-11-24T09:00:00+01:00', '2026-11-24T10:00:00+01:00');
    meeting(owner, '2026-11-24T10:00:00+01:00', '2026-11-24T10:30:00+01:00', { transparency: 'transparent' });
    meeting(owner, '2026-11-24T10:30:00+01:00', '2026-11-24T11:15:00+01:00');
    t.env.emulator.resetCalls();

    const res = await t.daemon.post(
      '/v1/policy-events',
      policyEvent('policy_failing', { id: 101, emails: [owner], display_name: "Zoe's MacBook", serial_number: 'C02ZOE' }, {
        id: 7,
        name: 'Disk encryption enabled',
        description: 'An unencrypted disk exposes company data if the laptop is lost.',
        resolution: 'We will turn on FileVault.',
      }),
    );
    expect(res).toEqual({ status: 202, body: { accepted: 1 } });

    const r = await t.daemon.waitForStatus(101, 'booked');
    // 10:00–10:30 is only "free" (transparent) time: it may be booked. 11:15 is not on the :00/:30 grid.
    expect(r.start).toBe('2026-11-24T10:00:00.000+01:00');
    expect(r.end).toBe('2026-11-24T10:30:00.000+01:00');
    expect(r).toMatchObject({ email: owner, time_zone: 'Europe/Zurich', policies: [{ id: 7, name: 'Disk encryption enabled' }] });
    expect(r.calendar_event_id).toBe(eventIdFor(r.id, 0));

    const event = t.env.emulator.events(owner).find((e) => e.id === r.calendar_event_id);
    expect(event).toBeDefined();
    expect(event?.summary).toBe('Scheduled maintenance');
    expect(event?.description).toContain('Acme Corp');
    expect(event?.description).toContain("Zoe's MacBook");
    expect(event?.description).toContain('An unencrypted disk exposes company data');
    expect(event?.description).toContain('We will turn on FileVault.');
    expect(event?.extendedProperties?.private?.[OWNED_BY_PROPERTY]).toBe(r.id);
    expect(Date.parse(event?.start.dateTime ?? '')).toBe(Date.parse('2026-11-24T09:00:00Z'));

    // Google calls for one booked and watched window: one token, one full listing of the calendar before booking
    // (its sync token, and the calendar's zone: no settings read), one freeBusy, one insert, then one channel.
    await waitFor(() => t.env.emulator.callCounts({ owner })['events.watch'] === 1, { what: 'the channel' });
    // No other call to come: every notification (the echo of our insert) handled, no job left to make one.
    await calendarSettled(t.env);
    expect(t.env.emulator.callCounts({ owner })).toEqual({
      token: 1,
      'freebusy.query': 1,
      'events.insert': 1,
      'events.watch': 1,
      'events.list': 1,
    });
    expect(t.env.emulator.calls.filter((c) => c.method !== 'token').every((c) => c.quotaUser === owner)).toBe(true);
  });

  it('puts the window in the last slot of a full day and says it was the only time left', async () => {
    const owner = addOwner(t, 'fully.booked@acme.com', 'America/New_York');
    meeting(owner, '2026-11-24T08:00:00-05:00', '2026-11-24T18:00:00-05:00');
    await postFailing(t, 102, owner);
    const r = await t.daemon.waitForStatus(102, 'booked');
    expect(r.start).toBe('2026-11-24T16:30:00.000-05:00');
    expect(r.end).toBe('2026-11-24T17:00:00.000-05:00');
    const event = t.env.emulator.events(owner).find((e) => e.id === r.calendar_event_id);
    expect(event?.description).toMatch(/no remaining availability/i);
  });

  it('books later today when today is Tuesday and a slot still fits, on the :00/:30 grid', async () => {
    const owner = addOwner(t, 'kiran@acme.com', 'Asia/Kolkata');
    clock.set('2026-11-24T10:07:00+05:30');
    await postFailing(t, 103, owner);
    const r = await t.daemon.waitForStatus(103, 'booked');
    expect(r.start).toBe('2026-11-24T10:30:00.000+05:30');
  });

  it('falls back to the configured time zone when the calendar cannot tell its zone', async () => {
    // Neither the first read of the calendar (events.list carries its zone) nor the setting answers.
    const owner = addOwner(t, 'no.settings@acme.com', 'Asia/Tokyo', { settingsError: 500 });
    t.env.emulator.injectFault({ method: 'events.list', owner, status: 500 });
    try {
      await postFailing(t, 104, owner);
      const r = await t.daemon.waitForStatus(104, 'booked');
      expect(r.time_zone).toBe('America/New_York');
      expect(r.start).toBe('2026-11-24T09:00:00.000-05:00');
      expect(t.env.emulator.calls.filter((c) => c.owner === owner && c.method === 'settings.get').length).toBeGreaterThan(0);
    } finally {
      t.env.emulator.clearFaults();
    }
  });

  it('takes the zone from the first read of the calendar when the setting cannot be read', async () => {
    const owner = addOwner(t, 'list.zone@acme.com', 'Asia/Tokyo', { settingsError: 500 });
    await postFailing(t, 189, owner);
    const r = await t.daemon.waitForStatus(189, 'booked');
    expect(r.time_zone).toBe('Asia/Tokyo');
    expect(r.start).toBe('2026-11-24T09:00:00.000+09:00');
    expect(t.env.emulator.callCounts({ owner })['settings.get']).toBeUndefined();
  });

  it('asks freeBusy for many owners in one request', async () => {
    const owners = Array.from({ length: 12 }, (_, i) => `batch${i}@acme.com`);
    for (const o of owners) addOwner(t, o, 'Europe/London');
    t.env.emulator.resetCalls();
    const res = await t.daemon.post(
      '/v1/policy-events',
      owners.map((email, i) => policyEvent('policy_failing', { id: 200 + i, emails: [email] })),
    );
    expect(res.body).toEqual({ accepted: 12 });
    for (let i = 0; i < owners.length; i++) await t.daemon.waitForStatus(200 + i, 'booked');
    const inserts = owners.map((owner) => t.env.emulator.callCounts({ owner })['events.insert']);
    expect(inserts).toEqual(owners.map(() => 1));
    // freeBusy is asked once per batch, for every owner in it, impersonating the batch's first owner.
    const freeBusy = t.env.emulator.calls.filter((c) => c.method === 'freebusy.query');
    expect(freeBusy.length).toBeLessThanOrEqual(3);
  });

  it('treats a calendar error inside the freeBusy answer as unknown, not free, and retries later', async () => {
    const owner = addOwner(t, 'broken.calendar@acme.com');
    t.env.emulator.setCalendarError(owner, 'internalError');
    await postFailing(t, 105, owner);
    await waitFor(async () => (await t.daemon.remediations({ host_id: 105 }))[0]?.reason?.includes('unknown'), { what: 'deferral' });
    const [pending] = await t.daemon.remediations({ host_id: 105 });
    expect(pending.status).toBe('pending');
    expect(t.env.emulator.events(owner)).toHaveLength(0);

    t.env.emulator.setCalendarError(owner, null);
    clock.advance(31_000);
    await t.env.probe.queues.requestBooking();
    const r = await t.daemon.waitForStatus(105, 'booked');
    expect(r.start).toBe('2026-11-24T09:00:00.000+00:00');
  });

  it('asks freeBusy as the owner when the batch’s answer says their calendar is not visible to another user', async () => {
    const visible = addOwner(t, 'shares@acme.com');
    const hidden = addOwner(t, 'private.person@acme.com', 'UTC', { sharesFreeBusy: false });
    meeting(hidden, '2026-11-24T09:00:00Z', '2026-11-24T09:30:00Z');
    t.env.emulator.resetCalls();
    await t.daemon.post('/v1/policy-events', [
      policyEvent('policy_failing', { id: 115, emails: [visible] }),
      policyEvent('policy_failing', { id: 116, emails: [hidden] }),
    ]);
    // Booked at once (not deferred as "unknown"), around the meeting only the owner's own query can see.
    const r = await t.daemon.waitForStatus(116, 'booked', 5000);
    expect(r.start).toBe('2026-11-24T09:30:00.000+00:00');
    expect((await t.daemon.waitForStatus(115, 'booked')).start).toBe('2026-11-24T09:00:00.000+00:00');
    const freeBusyAs = t.env.emulator.calls.filter((c) => c.method === 'freebusy.query').map((c) => c.owner);
    expect(freeBusyAs).toEqual([visible, hidden]);
  });

  it('retries a failed insert without ever creating a second event', async () => {
    const owner = addOwner(t, 'retry@acme.com');
    t.env.emulator.injectFault({ method: 'events.insert', owner, status: 503, times: 2 });
    await postFailing(t, 106, owner);
    const r = await t.daemon.waitForStatus(106, 'booked', 20_000);
    expect(t.env.emulator.events(owner)).toHaveLength(1);
    expect(t.env.emulator.events(owner)[0].id).toBe(r.calendar_event_id);
  });

  it('adopts the event a crashed attempt already inserted (409) instead of adding another', async () => {
    const owner = addOwner(t, 'crashed@acme.com');
    // A previous attempt inserted the event and died before recording it.
    const orphanId = orphanEvent(t, owner, 'h107-1');
    await postFailing(t, 107, owner);
    const r = await t.daemon.waitForStatus(107, 'booked');
    expect(r.id).toBe('h107-1');
    expect(r.calendar_event_id).toBe(orphanId);
    expect(t.env.emulator.events(owner)).toHaveLength(1);
  });

  it('books under a fresh id when a crashed attempt’s event was deleted by the owner before it was recorded', async () => {
    const owner = addOwner(t, 'spent@acme.com');
    const spentId = orphanEvent(t, owner, 'h111-1');
    t.env.emulator.deleteEventAsOwner(owner, spentId);
    await postFailing(t, 111, owner);
    const r = await t.daemon.waitForStatus(111, 'booked');
    expect(r.calendar_event_id).toBe(eventIdFor('h111-1', 1));
    expect(t.env.emulator.events(owner).map((e) => e.id)).toEqual([r.calendar_event_id]);
  });

  it('keeps the same event twice as one remediation, and merges further failing policies', async () => {
    const owner = addOwner(t, 'twice@acme.com');
    const first = policyEvent('policy_failing', { id: 108, emails: [owner] }, { id: 1 });
    await t.daemon.post('/v1/policy-events', [first, first]);
    await t.daemon.post('/v1/policy-events', first);
    await t.daemon.waitForStatus(108, 'booked');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 108, emails: [owner] }, { id: 2, name: 'Firewall on' }));
    await waitFor(async () => (await t.daemon.remediations({ host_id: 108 }))[0]?.policies.length === 2, { what: 'merge' });
    const all = await t.daemon.remediations({ host_id: 108 });
    expect(all).toHaveLength(1);
    expect(all[0].policies).toEqual([
      { id: 1, name: 'Policy 1' },
      { id: 2, name: 'Firewall on' },
    ]);
    expect(t.env.emulator.events(owner)).toHaveLength(1);
    await waitFor(() => t.env.emulator.events(owner)[0].description?.includes('Firewall on'), { what: 'description refresh' });
  });

  it('keeps a host without a usable owner as unassigned, with the reason, visible in the API', async () => {
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 109, emails: [] }));
    const r = await t.daemon.waitForStatus(109, 'unassigned');
    expect(r.reason).toBe('no owner email known for the host');
    expect((await t.daemon.remediations({ status: 'unassigned' })).map((x) => x.host_id)).toContain(109);
  });
});
