import { statusFromHistory } from '../../src/domain/remediation-lifecycle';
import { fakeWorld, policyEvent } from '../support/fake-services';

const OWNER = 'carol@acme.com';

describe('services on in-memory ports: a remediation’s history', () => {
  it('created → booked → moved by the owner → deleted and rebooked → booked → started → delivered, in order, with its actors', async () => {
    const w = fakeWorld({ now: '2026-11-23T12:00:00Z', notifyBeforeMinutes: 15 });
    w.calendar.addOwner(OWNER, { timeZone: 'UTC' });

    await w.ingest(policyEvent('policy_failing', 70, OWNER, 7, 'fleet'));
    await w.scheduler.runBookings();
    const booked = await w.latest(70);
    expect(booked).toMatchObject({ status: 'booked', start: '2026-11-24T09:00:00.000+00:00' });

    // The owner drags it to 10:00; the sync sees it.
    w.clock.advance(60_000);
    w.calendar.moveEventAsOwner(OWNER, booked.calendarEventId as string, '2026-11-24T10:00:00Z', '2026-11-24T10:30:00Z');
    await w.services.watch.syncOwner(OWNER);
    expect(await w.store.get(booked.id)).toMatchObject({ status: 'booked', start: '2026-11-24T10:00:00.000+00:00' });

    // Tuesday 08:00 the owner deletes it: rebooked on the business day after the original date.
    w.clock.set('2026-11-24T08:00:00Z');
    w.calendar.deleteEventAsOwner(OWNER, booked.calendarEventId as string);
    await w.services.watch.syncOwner(OWNER);
    expect(await w.store.get(booked.id)).toMatchObject({ status: 'pending', bookingNumber: 1, rebookCount: 1 });
    await w.scheduler.runBookings();
    const rebooked = await w.store.get(booked.id);
    expect(rebooked).toMatchObject({ status: 'booked', start: '2026-11-25T09:00:00.000+00:00' });
    expect(rebooked?.calendarEventId).not.toBe(booked.calendarEventId);

    // Wednesday: the notice at 08:45 (the stale jobs of the earlier starts are refused), the fire at 09:00.
    w.clock.set('2026-11-25T08:45:00Z');
    await w.scheduler.runNotices();
    w.clock.set('2026-11-25T09:00:00Z');
    await w.scheduler.runFires();
    expect(await w.store.get(booked.id)).toMatchObject({ status: 'fired' });
    w.clock.set('2026-11-25T09:30:00Z');
    await w.scheduler.runNotices();

    const history = await w.history(booked.id);
    expect(history.map((e) => [e.type, e.actor])).toEqual([
      ['remediation.created', 'fleet'],
      ['remediation.assigned', 'system'],
      ['window.booked', 'system'],
      ['window.moved', 'owner'],
      ['window.rebooked', 'owner'],
      ['window.booked', 'system'],
      ['window.upcoming', 'system'],
      ['window.started', 'system'],
      ['delivery.succeeded', 'system'],
      ['window.ended', 'system'],
    ]);
    const byType = (type: string) => history.filter((e) => e.type === type);
    expect(byType('window.moved')[0].data).toMatchObject({ previous_start: '2026-11-24T09:00:00.000+00:00', start: '2026-11-24T10:00:00.000+00:00' });
    expect(byType('window.rebooked')[0].data).toMatchObject({ reason: 'deleted', previous_start: '2026-11-24T10:00:00.000+00:00', rebook_count: 1 });
    expect(byType('window.booked').map((e) => e.data.booking_number)).toEqual([0, 1]);
    expect(byType('window.upcoming')[0].data).toMatchObject({ start: '2026-11-25T09:00:00.000+00:00' });
    expect(byType('delivery.succeeded')[0].data).toMatchObject({ http_status: 200, delivery_number: 1 });
    for (const e of history) expect(e).toMatchObject({ remediation_id: booked.id, host_id: 70, email: OWNER });
    expect(history.map((e) => e.occurred_at)).toEqual([...history.map((e) => e.occurred_at)].sort());
    expect(statusFromHistory(history)).toBe('fired');

    // The global feed holds the same events, in the same order, each once; its cursor pages through them.
    const pages: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await w.store.readFeed({ after, limit: 3, hostId: 70 });
      pages.push(...page.events.map((e) => e.id));
      if (page.events.length === 0) break;
      after = page.next ?? undefined;
    }
    expect(pages).toEqual(history.map((e) => e.id));
    // One webhook to Fleet, once.
    expect(w.sender.sent).toHaveLength(1);
    expect(JSON.parse(w.sender.sent[0].body)).toMatchObject({ host_id: 70, failing_policies: [{ id: 7, name: 'Policy 7' }] });
  });

  it('an owner whose calendar refuses us: unassigned (remediation.unassigned) and their queued host is handed over', async () => {
    const w = fakeWorld({ now: '2026-11-23T12:00:00Z' });
    const gone = 'gone@acme.com';
    await w.ingest(policyEvent('policy_failing', 80, gone));
    await w.ingest(policyEvent('policy_failing', 81, gone));
    w.calendar.setUnavailable(gone, 'invalid_grant');
    await w.scheduler.runBookings();

    const first = await w.latest(80);
    expect(first).toMatchObject({ status: 'unassigned' });
    expect((await w.history(first.id)).at(-1)).toMatchObject({ type: 'remediation.unassigned', data: { previous_status: 'pending', status: 'unassigned' } });
    // The next host meets the same refusal in the next round.
    await w.scheduler.runBookings();
    const second = await w.latest(81);
    expect((await w.history(second.id)).map((e) => e.type)).toEqual([
      'remediation.created',
      'remediation.assigned',
      'remediation.queued',
      'remediation.assigned',
      'remediation.unassigned',
    ]);
    for (const r of [first, second]) expect(statusFromHistory(await w.history(r.id))).toBe((await w.store.get(r.id))?.status);
  });
});
