import type { Remediation } from '../../src/domain/remediation';
import { decide, type Decision, type Transition } from '../../src/domain/remediation-lifecycle';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const START = '2026-11-24T09:00:00.000-05:00';
const END = '2026-11-24T09:30:00.000-05:00';
const LATER = { start: '2026-11-26T09:00:00.000-05:00', end: '2026-11-26T09:30:00.000-05:00' };

const booked = (patch: Partial<Remediation> = {}): Remediation => ({
  id: 'h42-1',
  host: { id: 42, displayName: 'Mac', serialNumber: 'C02', teamId: 3 },
  email: 'alice@acme.com',
  status: 'booked',
  policies: [{ id: 7, name: 'Disk encryption' }],
  bookingNumber: 0,
  rebookCount: 0,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  start: START,
  end: END,
  timeZone: 'America/New_York',
  calendarEventId: 'ev0',
  originalDate: '2026-11-24',
  ...patch,
});

function ok(d: Decision): Transition {
  if (!d.ok) throw new Error(`refused: ${d.reason}`);
  return d;
}

describe('maintenance policies in the lifecycle (deferrals, deadline)', () => {
  it('a booking under maintenance policies records the deadline and deferral cap; without, nothing', () => {
    const pending = booked({ status: 'pending', start: undefined, end: undefined, calendarEventId: undefined });
    const h = { type: 'window_booked', start: START, end: END, eventId: 'ev0', timeZone: 'America/New_York', onlyTimeLeft: false, date: '2026-11-24' } as const;
    const withPolicy = ok(decide({ ...pending, rebookEarliest: true }, { ...h, policy: { deadline: '2026-11-27T00:00:00.000-05:00', maxDeferrals: 1 } }, { now: NOW }));
    expect(withPolicy.remediation).toMatchObject({ status: 'booked', deadline: '2026-11-27T00:00:00.000-05:00', maxDeferrals: 1 });
    expect(withPolicy.remediation.rebookEarliest).toBeUndefined();
    const without = ok(decide(pending, h, { now: NOW }));
    expect(without.remediation.deadline).toBeUndefined();
    expect(without.remediation.maxDeferrals).toBeUndefined();
  });

  it('a followed move later records the deferrals used', () => {
    const t = ok(decide(booked(), { type: 'window_moved', ...LATER, actor: 'owner', deferralsUsed: 1 }, { now: NOW }));
    expect(t.remediation).toMatchObject({ ...LATER, deferralsUsed: 1 });
    expect(t.events.map((e) => e.type)).toEqual(['window.moved']);
  });

  it('an undone move keeps the window and yields window.moved by the system, back from the owner’s time, with the reason', () => {
    const t = ok(decide(booked({ deferralsUsed: 1, maxDeferrals: 1 }), { type: 'move_undone', ownerStart: LATER.start, ownerEnd: LATER.end, reason: 'no more' }, { now: NOW }));
    expect(t.remediation).toMatchObject({ status: 'booked', start: START, end: END, deferralsUsed: 1, deferralsExhausted: 'no more' });
    expect(t.events).toEqual([
      expect.objectContaining({
        type: 'window.moved',
        actor: 'system',
        data: { previous_start: LATER.start, previous_end: LATER.end, start: START, end: END, booking_number: 0, reason: 'no more' },
      }),
    ]);
  });

  it('only a booked window is put back', () => {
    const d = decide(booked({ status: 'pending' }), { type: 'move_undone', ownerStart: LATER.start, ownerEnd: LATER.end, reason: 'x' }, { now: NOW });
    expect(d.ok).toBe(false);
  });

  it('a followed delete counts a deferral; beyond the cap it is rebooked at the earliest slot, saying why', () => {
    const followed = ok(decide(booked(), { type: 'window_lost', reason: 'deleted', deferralsUsed: 1 }, { now: NOW }));
    expect(followed.remediation).toMatchObject({ status: 'pending', deferralsUsed: 1, rebookCount: 1 });
    expect(followed.remediation.rebookEarliest).toBeUndefined();
    const early = ok(decide(booked({ deferralsUsed: 1 }), { type: 'window_lost', reason: 'deleted', earliest: { note: 'no more' } }, { now: NOW }));
    expect(early.remediation).toMatchObject({ status: 'pending', deferralsUsed: 1, rebookEarliest: true, deferralsExhausted: 'no more' });
    expect(early.events[0]).toMatchObject({ type: 'window.rebooked', data: { earliest: true, note: 'no more' } });
  });
});
