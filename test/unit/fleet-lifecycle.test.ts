import type { Remediation } from '../../src/domain/remediation';
import {
  decide,
  FLEET_UNREACHABLE_PREFIX,
  HOST_OFFLINE_REASON,
  type Decision,
  type Transition,
} from '../../src/domain/remediation-lifecycle';

// Fleet as the source of truth (issue 9): every change Fleet's results cause is decide()'s, with actor `fleet`.

const NOW = Date.parse('2026-11-24T14:10:00Z');
const START = '2026-11-24T09:00:00.000-05:00'; // 14:00Z
const END = '2026-11-24T09:30:00.000-05:00'; // 14:30Z
const host = { id: 42, displayName: 'Alice’s MacBook', serialNumber: 'C02', teamId: 3 };
const disk = { id: 7, name: 'Disk encryption' };
const firewall = { id: 9, name: 'Firewall' };

function rem(patch: Partial<Remediation> = {}): Remediation {
  return {
    id: 'h42-1',
    host,
    email: 'alice@acme.com',
    status: 'booked',
    policies: [disk, firewall],
    bookingNumber: 0,
    rebookCount: 0,
    start: START,
    end: END,
    timeZone: 'America/New_York',
    calendarEventId: 'ev0',
    originalDate: '2026-11-24',
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:00.000Z',
    ...patch,
  };
}

const fired = (patch: Partial<Remediation> = {}) => rem({ status: 'fired', firedAt: '2026-11-24T14:00:00.000Z', ...patch });

function ok(d: Decision): Transition {
  if (!d.ok) throw new Error(`refused: ${d.reason}`);
  return d;
}

describe('a policy Fleet reports passing (actor fleet)', () => {
  it('one of two passes: it leaves the remediation, remediation.updated, the status stays', () => {
    const t = ok(decide(rem(), { type: 'policy_passing', policyId: 7, actor: 'fleet' }, { now: NOW - 3_600_000 }));
    expect(t.remediation.status).toBe('booked');
    expect(t.remediation.policies).toEqual([firewall]);
    expect(t.events).toEqual([
      { type: 'remediation.updated', actor: 'fleet', data: { policies: [firewall], policies_added: [], policies_removed: [7] } },
    ]);
  });

  it('the last one passes: resolved, remediation.resolved by fleet, the owner freed', () => {
    const t = ok(decide(rem({ policies: [disk] }), { type: 'policy_passing', policyId: 7, actor: 'fleet' }, { now: NOW - 3_600_000 }));
    expect(t.remediation.status).toBe('resolved');
    expect(t.events).toHaveLength(1);
    expect(t.events[0]).toMatchObject({ type: 'remediation.resolved', actor: 'fleet', data: { previous_status: 'booked', status: 'resolved', policy_id: 7, calendar_event_id: 'ev0' } });
    expect(t.releasesOwner).toBe(true);
    expect(t.index).toMatchObject({ openForHost: false, activeForOwner: false });
  });
});

describe('Fleet unreachable: nothing changes on a guess', () => {
  const reason = `${FLEET_UNREACHABLE_PREFIX} (Fleet API answered 503): policy results as last known`;

  it('keeps the status and policies, says why in the reason, no event', () => {
    for (const status of ['unassigned', 'queued', 'pending', 'booked', 'firing'] as const) {
      const before = rem({ status, reason: status === 'queued' ? 'waiting: bob has a window' : undefined });
      const t = ok(decide(before, { type: 'fleet_unreachable', reason }, { now: NOW }));
      expect(t.remediation.status).toBe(status);
      expect(t.remediation.policies).toEqual(before.policies);
      expect(t.remediation.reason).toBe(reason);
      expect(t.events).toEqual([]);
      expect(t.index).toEqual({});
    }
  });

  it('the same outage again is no change; Fleet back restores the reason it had', () => {
    const queued = rem({ status: 'queued', reason: 'waiting: bob has a window' });
    const noted = ok(decide(queued, { type: 'fleet_unreachable', reason }, { now: NOW })).remediation;
    expect(ok(decide(noted, { type: 'fleet_unreachable', reason }, { now: NOW })).unchanged).toBe(true);
    const other = ok(decide(noted, { type: 'fleet_unreachable', reason: `${FLEET_UNREACHABLE_PREFIX} (429)` }, { now: NOW })).remediation;
    const back = ok(decide(other, { type: 'fleet_reachable' }, { now: NOW }));
    expect(back.remediation.reason).toBe('waiting: bob has a window');
    expect(back.remediation.reasonBeforeFleet).toBeUndefined();
    expect(back.events).toEqual([]);
  });

  it('Fleet reachable with no Fleet reason is no change; a closed remediation is not touched', () => {
    expect(ok(decide(rem({ reason: 'the day was full' }), { type: 'fleet_reachable' }, { now: NOW })).unchanged).toBe(true);
    expect(decide(fired(), { type: 'fleet_unreachable', reason }, { now: NOW }).ok).toBe(false);
    expect(decide(rem(), { type: 'fleet_unreachable', reason: 'something else' }, { now: NOW }).ok).toBe(false);
  });
});

describe('FLEET_REQUIRE_ONLINE: an offline host at its window', () => {
  it('started and offline: held booked with the reason, no event', () => {
    const t = ok(decide(rem(), { type: 'host_offline', until: END }, { now: NOW }));
    expect(t.remediation.status).toBe('booked');
    expect(t.remediation.reason).toMatch(/^host offline: the window fires when it comes online/);
    expect(t.events).toEqual([]);
  });

  it('not started yet: refused', () => {
    expect(decide(rem(), { type: 'host_offline', until: END }, { now: Date.parse(START) - 1000 }).ok).toBe(false);
  });

  it('offline through the window: booked → pending, window.rebooked by fleet with the reason "host offline"', () => {
    const t = ok(decide(rem(), { type: 'host_offline_rebook' }, { now: Date.parse(END) + 1000 }));
    expect(t.remediation).toMatchObject({ status: 'pending', bookingNumber: 1, rebookCount: 1, start: undefined, calendarEventId: undefined });
    expect(t.events).toEqual([
      {
        type: 'window.rebooked',
        actor: 'fleet',
        data: { reason: HOST_OFFLINE_REASON, previous_start: START, previous_end: END, previous_event_id: 'ev0', rebook_count: 1, previous_status: 'booked', status: 'pending' },
      },
    ]);
    expect(t.index).toEqual({ pendingSince: Date.parse(END) + 1000 });
  });

  it('before the window ends, or when not booked: refused', () => {
    expect(decide(rem(), { type: 'host_offline_rebook' }, { now: NOW }).ok).toBe(false);
    expect(decide(rem({ status: 'firing' }), { type: 'host_offline_rebook' }, { now: Date.parse(END) + 1000 }).ok).toBe(false);
  });
});

describe('after a fired window (REBOOK_AFTER_FIRE_MINUTES)', () => {
  it('the follow-up is recorded once, with the policies still failing in the reason; no status change', () => {
    const t = ok(decide(fired(), { type: 'fleet_followed_up', stillFailing: [9] }, { now: NOW }));
    expect(t.remediation.status).toBe('fired');
    expect(t.remediation.fleetFollowedUpAt).toBe(new Date(NOW).toISOString());
    expect(t.remediation.reason).toMatch(/still failing after the window \(policies 9\)/);
    expect(t.events).toEqual([]);
    expect(ok(decide(t.remediation, { type: 'fleet_followed_up', stillFailing: [9] }, { now: NOW })).unchanged).toBe(true);
  });

  it('works for delivery_failed and firing windows; refused for a window that never fired', () => {
    expect(ok(decide(fired({ status: 'delivery_failed' }), { type: 'fleet_followed_up', stillFailing: [] }, { now: NOW })).remediation.status).toBe('delivery_failed');
    expect(ok(decide(fired({ status: 'firing' }), { type: 'fleet_followed_up', stillFailing: [] }, { now: NOW })).remediation.status).toBe('firing');
    expect(decide(rem(), { type: 'fleet_followed_up', stillFailing: [] }, { now: NOW }).ok).toBe(false);
    expect(decide(rem({ status: 'resolved' }), { type: 'fleet_followed_up', stillFailing: [] }, { now: NOW }).ok).toBe(false);
  });

  it('a policy still failing opens the host’s next remediation: remediation.created by fleet', () => {
    const t = ok(
      decide(
        null,
        { type: 'policy_failing', id: 'h42-2', host, policy: firewall, owner: { email: 'alice@acme.com', busyWith: null }, actor: 'fleet' },
        { now: NOW },
      ),
    );
    expect(t.remediation.status).toBe('pending');
    expect(t.events.map((e) => [e.type, e.actor])).toEqual([
      ['remediation.created', 'fleet'],
      ['remediation.assigned', 'system'],
    ]);
  });
});
