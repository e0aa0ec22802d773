import { statusFromHistory } from '../../src/domain/remediation-lifecycle';
import { fakeWorld, policyEvent, type FakeWorld } from '../support/fake-services';

const MONDAY_NOON = '2026-11-23T12:00:00Z';
const OWNER = 'bob@acme.com';

async function bookedWithQueued(w: FakeWorld) {
  w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
  await w.ingest(policyEvent('policy_failing', 40, OWNER));
  await w.scheduler.runBookings();
  await w.ingest(policyEvent('policy_failing', 41, OWNER));
  return { booked: await w.latest(40), queued: await w.latest(41) };
}

async function fired(w: FakeWorld) {
  w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
  await w.ingest(policyEvent('policy_failing', 50, OWNER));
  await w.scheduler.runBookings();
  w.clock.set('2026-11-24T09:00:00Z');
  await w.scheduler.runFires();
  return w.latest(50);
}

describe('services on in-memory ports: admin actions and deliveries', () => {
  it('cancels a queued remediation: off the owner’s queue, nothing handed over, the booked one untouched', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const { booked, queued } = await bookedWithQueued(w);

    const result = await w.services.admin.cancel(queued.id, 'host retired');

    expect(result).toMatchObject({ kind: 'ok', calendar: 'none', remediation: { status: 'cancelled', reason: 'host retired' } });
    expect(w.store.waitingOf(OWNER)).toEqual([]);
    expect(await w.store.activeForOwner(OWNER)).toBe(booked.id);
    expect(await w.store.get(booked.id)).toMatchObject({ status: 'booked' });
    expect(w.scheduler.withdrawalsRequested).toEqual([]);
    const history = await w.history(queued.id);
    expect(history[history.length - 1]).toMatchObject({
      type: 'remediation.cancelled',
      actor: 'admin',
      data: { reason: 'host retired', previous_status: 'queued', status: 'cancelled' },
    });
    expect(await w.store.openIdForHost(41)).toBeNull();
  });

  it('cancels a booked remediation: its event is withdrawn (asked before the commit) and the queued host is handed over', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const { booked, queued } = await bookedWithQueued(w);

    const result = await w.services.admin.cancel(booked.id, 'decommissioned');

    expect(result).toMatchObject({ kind: 'ok', calendar: 'removed', remediation: { status: 'cancelled' } });
    const asked = w.journal.indexOf((e) => e.kind === 'job' && e.method === 'withdrawEvent');
    const saved = w.journal.indexOf((e) => e.kind === 'commit' && e.events.includes('remediation.cancelled'));
    expect(asked).toBeGreaterThanOrEqual(0);
    expect(saved).toBeGreaterThan(asked);
    expect(w.scheduler.withdrawalsRequested).toEqual([{ remediationId: booked.id, owner: OWNER, eventId: booked.calendarEventId }]);
    expect((await w.history(booked.id)).at(-1)).toMatchObject({
      type: 'remediation.cancelled',
      actor: 'admin',
      data: { start: booked.start, calendar_event_id: booked.calendarEventId, previous_status: 'booked' },
    });
    expect((await w.history(queued.id)).at(-1)).toMatchObject({ type: 'remediation.assigned', data: { via: 'hand_over' } });

    await w.scheduler.runWithdrawals();
    expect(w.calendar.event(OWNER, booked.calendarEventId as string)?.cancelled).toBe(true);
    await w.scheduler.runBookings();
    expect(await w.store.get(queued.id)).toMatchObject({ status: 'booked', start: booked.start });
    // The cancelled one's fire job finds nothing to fire.
    w.clock.set('2026-11-24T09:00:00Z');
    await w.scheduler.runFires();
    expect(w.sender.sent.map((m) => JSON.parse(m.body).host_id)).toEqual([41]);
  });

  it('refuses what the state does not allow, naming the state', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const r = await fired(w);
    expect(r.status).toBe('fired');

    const cancel = await w.services.admin.cancel(r.id, 'too late');
    expect(cancel).toEqual({ kind: 'conflict', status: 'fired', reason: expect.stringContaining('fired') });
    expect(await w.services.admin.fireNow(r.id)).toMatchObject({ kind: 'conflict', status: 'fired', reason: expect.stringContaining('fired') });
    expect(await w.services.admin.reschedule(r.id, Date.parse('2026-12-01T09:00:00Z'))).toMatchObject({ kind: 'conflict', status: 'fired' });
    expect(await w.services.admin.cancel('h999-1', 'nobody')).toEqual({ kind: 'not_found' });
    // Nothing changed: the history still ends where the state is.
    expect((await w.store.get(r.id))?.status).toBe('fired');
    expect(statusFromHistory(await w.history(r.id))).toBe('fired');
    expect((await w.history(r.id)).some((e) => e.type === 'remediation.cancelled')).toBe(false);
  });

  it('redelivers a fired remediation: the job starts it (delivery.started by the admin), same body, new webhook-id', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const r = await fired(w);
    const first = w.sender.sent[0];

    const asked = await w.services.fires.redeliver(r.id);
    expect(asked).toMatchObject({ kind: 'accepted', deliveryNumber: 2 });
    // Only the job is written: the remediation moves when the job's first attempt runs.
    expect(await w.store.get(r.id)).toMatchObject({ status: 'fired' });
    expect(await w.services.fires.redeliver('h999-1')).toEqual({ kind: 'not_found' });

    w.sender.answerNext({ kind: 'answered', status: 500 });
    await w.scheduler.runFires();
    expect(await w.store.get(r.id)).toMatchObject({ status: 'firing', delivery: { number: 2, attempts: 1 } });
    // In progress: not redelivered again.
    expect(await w.services.fires.redeliver(r.id)).toMatchObject({ kind: 'nothing_to_redeliver', reason: expect.stringContaining('in progress') });

    const [retry] = w.scheduler.openJobs(w.scheduler.deliveries);
    w.clock.set(retry.dueAt);
    await w.scheduler.runFires();
    expect(await w.store.get(r.id)).toMatchObject({ status: 'fired', delivery: { number: 2, attempts: 2, lastStatus: 200 } });

    const [, second, third] = w.sender.sent;
    expect(second.body).toBe(first.body);
    expect(third).toEqual(second);
    expect(second.id).not.toBe(first.id);
    expect((await w.history(r.id)).slice(-3).map((e) => [e.type, e.actor, e.data.delivery_number])).toEqual([
      ['delivery.succeeded', 'system', 1],
      ['delivery.started', 'admin', 2],
      ['delivery.succeeded', 'system', 2],
    ]);
  });

  it('records window.upcoming once per window start, and not for a start the window left', async () => {
    const w = fakeWorld({ now: MONDAY_NOON, notifyBeforeMinutes: 15 });
    w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
    await w.ingest(policyEvent('policy_failing', 60, OWNER));
    await w.scheduler.runBookings();
    const r = await w.latest(60);
    const [job] = w.scheduler.openJobs(w.scheduler.upcoming);
    expect(job).toMatchObject({ dueAt: Date.parse('2026-11-24T08:45:00Z'), data: { remediationId: r.id, start: r.start, minutesBefore: 15 } });

    w.clock.set(job.dueAt);
    await w.scheduler.runNotices();
    // The same job again (a retry after a crash, a second replica): nothing new.
    await w.services.notices.upcoming(job.data);
    await w.services.notices.upcoming(job.data);
    const upcoming = (await w.history(r.id)).filter((e) => e.type === 'window.upcoming');
    expect(upcoming).toHaveLength(1);
    expect(upcoming[0]).toMatchObject({ actor: 'system', data: { start: r.start, minutes_before: 15 } });

    // The owner moves it to 11:00: the old start's notice is refused, the new start gets its own.
    w.calendar.moveEventAsOwner(OWNER, r.calendarEventId as string, '2026-11-24T11:00:00Z', '2026-11-24T11:30:00Z');
    await w.services.watch.syncOwner(OWNER);
    expect(await w.store.get(r.id)).toMatchObject({ start: '2026-11-24T11:00:00.000+00:00' });
    await w.services.notices.upcoming(job.data);
    w.clock.set('2026-11-24T10:45:00Z');
    await w.scheduler.runNotices();
    expect((await w.history(r.id)).filter((e) => e.type === 'window.upcoming').map((e) => e.data.start)).toEqual([
      '2026-11-24T09:00:00.000+00:00',
      '2026-11-24T11:00:00.000+00:00',
    ]);
  });
});

describe('services on in-memory ports: a started window whose delivery job was never added', () => {
  it('is delivered by the stranded-delivery sweep (not given up) once it is old enough to be stranded', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
    await w.ingest(policyEvent('policy_failing', 60, OWNER));
    await w.scheduler.runBookings();
    const booked = await w.latest(60);
    expect(await w.services.admin.fireNow(booked.id)).toMatchObject({ kind: 'ok' });
    // The daemon died between storing the start and adding the delivery's job: no job carries delivery 1.
    w.scheduler.deliveries.clear();
    expect(await w.store.get(booked.id)).toMatchObject({ status: 'firing', delivery: { number: 1, attempts: 0 } });

    // A sweep right after the start leaves it alone (its job may be on its way)...
    expect(await w.services.fires.recoverStranded()).toBe(0);
    expect(w.scheduler.deliveries.size).toBe(0);
    // ...later it delivers it, rather than giving up a webhook that was never tried.
    w.clock.advance(31_000);
    expect(await w.services.fires.recoverStranded()).toBe(1);
    await w.scheduler.runFires();
    expect(await w.store.get(booked.id)).toMatchObject({ status: 'fired', delivery: { number: 1, attempts: 1, lastStatus: 200 } });
    expect(w.sender.sent).toHaveLength(1);
  });
});
