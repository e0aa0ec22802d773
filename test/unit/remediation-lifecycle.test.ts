import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Delivery, Remediation } from '../../src/domain/remediation';
import { decide, statusFromHistory, type Decision, type Happening, type Transition } from '../../src/domain/remediation-lifecycle';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const START = '2026-11-24T09:00:00.000-05:00';
const END = '2026-11-24T09:30:00.000-05:00';
const host = { id: 42, displayName: 'Alice’s MacBook', serialNumber: 'C02', teamId: 3 };
const policy = { id: 7, name: 'Disk encryption', description: 'why', resolution: 'what' };

function base(patch: Partial<Remediation> = {}): Remediation {
  return {
    id: 'h42-1',
    host,
    email: 'alice@acme.com',
    status: 'pending',
    policies: [policy],
    bookingNumber: 0,
    rebookCount: 0,
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:00.000Z',
    ...patch,
  };
}

const booked = (patch: Partial<Remediation> = {}) =>
  base({ status: 'booked', start: START, end: END, timeZone: 'America/New_York', calendarEventId: 'ev0', originalDate: '2026-11-24', ...patch });

function delivery(number: number): Delivery {
  return { number, webhookId: `msg_h42-1_x_b0_d${number}`, body: '{}', attempts: 0, createdAt: new Date(NOW).toISOString(), deadline: END };
}

const firing = (patch: Partial<Remediation> = {}) => booked({ status: 'firing', firedAt: START, delivery: { ...delivery(1), attempts: 1 }, ...patch });

function ok(d: Decision): Transition {
  if (!d.ok) throw new Error(`refused: ${d.reason}`);
  return d;
}

const types = (d: Decision) => ok(d).events.map((e) => e.type);

/** Every arrow of the README's lifecycle diagram: from, happening → to, with the events it yields. */
const ARROWS: Array<[string, Remediation | null, Happening, string, string[], string]> = [
  ['new, owner unknown', null, { type: 'policy_failing', id: 'h42-1', host, policy, owner: { email: null, reason: 'no owner email' }, actor: 'producer' }, 'unassigned', ['remediation.created'], 'producer'],
  ['new, owner free', null, { type: 'policy_failing', id: 'h42-1', host, policy, owner: { email: 'alice@acme.com', busyWith: null }, actor: 'fleet' }, 'pending', ['remediation.created', 'remediation.assigned'], 'fleet'],
  ['new, owner busy', null, { type: 'policy_failing', id: 'h42-1', host, policy, owner: { email: 'alice@acme.com', busyWith: { remediationId: 'h9-1', hostId: 9, hostName: 'other' } }, actor: 'producer' }, 'queued', ['remediation.created', 'remediation.assigned', 'remediation.queued'], 'producer'],
  ['unassigned → pending', base({ status: 'unassigned', email: null }), { type: 'policy_failing', host, policy, owner: { email: 'alice@acme.com', busyWith: null }, actor: 'producer' }, 'pending', ['remediation.assigned'], 'system'],
  ['unassigned → queued', base({ status: 'unassigned', email: null }), { type: 'policy_failing', host, policy, owner: { email: 'alice@acme.com', busyWith: { remediationId: 'h9-1', hostId: 9, hostName: 'other' } }, actor: 'producer' }, 'queued', ['remediation.assigned', 'remediation.queued'], 'system'],
  ['queued → pending (hand-over)', base({ status: 'queued' }), { type: 'owner_freed' }, 'pending', ['remediation.assigned'], 'system'],
  ['pending → unassigned', base(), { type: 'owner_unavailable', reason: 'invalid_grant' }, 'unassigned', ['remediation.unassigned'], 'system'],
  ['pending → booked', base(), { type: 'window_booked', start: START, end: END, eventId: 'ev0', timeZone: 'America/New_York', onlyTimeLeft: false, date: '2026-11-24' }, 'booked', ['window.booked'], 'system'],
  ['booked → booked (moved by the owner)', booked(), { type: 'window_moved', start: '2026-11-24T11:00:00.000-05:00', end: '2026-11-24T11:30:00.000-05:00', actor: 'owner' }, 'booked', ['window.moved'], 'owner'],
  ['booked → booked (moved by an admin)', booked(), { type: 'window_moved', start: '2026-11-25T11:00:00.000-05:00', end: '2026-11-25T11:30:00.000-05:00', actor: 'admin' }, 'booked', ['window.moved'], 'admin'],
  ['booked → pending (deleted: rebook)', booked(), { type: 'window_lost', reason: 'deleted' }, 'pending', ['window.rebooked'], 'owner'],
  ['booked → booked (upcoming notice)', booked(), { type: 'window_upcoming', start: START, minutesBefore: 15 }, 'booked', ['window.upcoming'], 'system'],
  ['booked → firing (window started)', booked(), { type: 'window_started', delivery: delivery(1), actor: 'system' }, 'firing', ['window.started'], 'system'],
  ['firing → fired', firing(), { type: 'delivery_succeeded', number: 1, status: 200 }, 'fired', ['delivery.succeeded'], 'system'],
  ['firing → delivery_failed', firing(), { type: 'delivery_failed', number: 1, status: 500, error: 'HTTP 500' }, 'delivery_failed', ['delivery.failed'], 'system'],
  ['fired → firing (redelivery)', firing({ status: 'fired' }), { type: 'redelivery_started', delivery: delivery(2), actor: 'admin' }, 'firing', ['delivery.started'], 'admin'],
  ['delivery_failed → firing (redelivery)', firing({ status: 'delivery_failed' }), { type: 'redelivery_started', delivery: delivery(2), actor: 'admin' }, 'firing', ['delivery.started'], 'admin'],
  ['fired: window ended', firing({ status: 'fired', end: '2026-11-23T11:30:00.000Z', start: '2026-11-23T11:00:00.000Z' }), { type: 'window_ended', start: '2026-11-23T11:00:00.000Z' }, 'fired', ['window.ended'], 'system'],
  ['booked → resolved', booked(), { type: 'policy_passing', policyId: 7, actor: 'fleet' }, 'resolved', ['remediation.resolved'], 'fleet'],
  ['queued → resolved', base({ status: 'queued' }), { type: 'policy_passing', policyId: 7, actor: 'producer' }, 'resolved', ['remediation.resolved'], 'producer'],
  ['firing → resolved', firing(), { type: 'policy_passing', policyId: 7, actor: 'producer' }, 'resolved', ['remediation.resolved'], 'producer'],
  ['unassigned → cancelled', base({ status: 'unassigned', email: null }), { type: 'cancelled', reason: 'decommissioned', actor: 'admin' }, 'cancelled', ['remediation.cancelled'], 'admin'],
  ['queued → cancelled', base({ status: 'queued' }), { type: 'cancelled', reason: 'x', actor: 'admin' }, 'cancelled', ['remediation.cancelled'], 'admin'],
  ['pending → cancelled', base(), { type: 'cancelled', reason: 'x', actor: 'admin' }, 'cancelled', ['remediation.cancelled'], 'admin'],
  ['booked → cancelled', booked(), { type: 'cancelled', reason: 'x', actor: 'admin' }, 'cancelled', ['remediation.cancelled'], 'admin'],
];

describe('remediation lifecycle: every arrow yields its event', () => {
  it.each(ARROWS)('%s', (_name, from, happening, to, events, actor) => {
    const t = ok(decide(from, happening, { now: NOW }));
    expect(t.remediation.status).toBe(to);
    expect(t.events.map((e) => e.type)).toEqual(events);
    // The first event carries who caused it (the producer that reported a failure; the daemon that then
    // found the owner is `system`); status-changing events say where it went.
    expect(t.events[0].actor).toBe(actor);
    expect(t.events.slice(1).every((e) => e.actor === 'system')).toBe(true);
    if (from === null || from.status !== to) expect(statusFromHistory(t.events)).toBe(to);
    // A new object: the input is never changed.
    if (from) expect(t.remediation).not.toBe(from);
  });

  it('records what changed in each event’s data', () => {
    const moved = ok(decide(booked(), { type: 'window_moved', start: '2026-11-24T11:00:00.000-05:00', end: '2026-11-24T11:30:00.000-05:00', actor: 'owner' }, { now: NOW }));
    expect(moved.events[0].data).toMatchObject({ previous_start: START, start: '2026-11-24T11:00:00.000-05:00', booking_number: 0 });
    const lost = ok(decide(booked(), { type: 'window_lost', reason: 'moved_to_past' }, { now: NOW }));
    expect(lost.events[0].data).toMatchObject({ reason: 'moved_to_past', previous_start: START, previous_event_id: 'ev0', rebook_count: 1 });
    expect(lost.remediation).toMatchObject({ bookingNumber: 1, rebookCount: 1, start: undefined, calendarEventId: undefined });
    const failed = ok(decide(firing(), { type: 'delivery_failed', number: 1, status: 503, error: 'HTTP 503' }, { now: NOW }));
    expect(failed.events[0].data).toMatchObject({ http_status: 503, error: 'HTTP 503', webhook_id: 'msg_h42-1_x_b0_d1', attempts: 1 });
    expect(failed.remediation.reason).toBe('resolution webhook not delivered: HTTP 503');
  });

  it('frees the owner (hand-over) exactly when the remediation leaves pending/booked', () => {
    const releases = (from: Remediation, h: Happening) => ok(decide(from, h, { now: NOW })).releasesOwner;
    expect(releases(booked(), { type: 'window_started', delivery: delivery(1), actor: 'system' })).toBe(true);
    expect(releases(booked(), { type: 'cancelled', reason: 'x', actor: 'admin' })).toBe(true);
    expect(releases(base(), { type: 'owner_unavailable', reason: 'x' })).toBe(true);
    expect(releases(booked(), { type: 'policy_passing', policyId: 7, actor: 'producer' })).toBe(true);
    expect(releases(booked(), { type: 'window_lost', reason: 'deleted' })).toBe(false);
    expect(releases(base({ status: 'queued' }), { type: 'policy_passing', policyId: 7, actor: 'producer' })).toBe(false);
    expect(releases(firing(), { type: 'delivery_succeeded', number: 1 })).toBe(false);
  });

  it('counts delivery 1\'s first attempt with the start when asked to (a burst claimed together), and only then', () => {
    const plain = ok(decide(booked(), { type: 'window_started', delivery: delivery(1), actor: 'system' }, { now: NOW }));
    expect(plain.remediation.delivery).toMatchObject({ attempts: 0 });
    expect(plain.remediation.delivery?.lastAttemptAt).toBeUndefined();
    const attempting = ok(decide(booked(), { type: 'window_started', delivery: delivery(1), actor: 'system', attempting: true }, { now: NOW }));
    expect(attempting.remediation).toMatchObject({ status: 'firing', delivery: { number: 1, attempts: 1, lastAttemptAt: new Date(NOW).toISOString() } });
    expect(types(attempting)).toEqual(['window.started']);
    expect(attempting.releasesOwner).toBe(true);
  });

  it('keeps a remediation open while other policies still fail (remediation.updated, no status change)', () => {
    const two = booked({ policies: [policy, { id: 9, name: 'Firewall' }] });
    const t = ok(decide(two, { type: 'policy_passing', policyId: 7, actor: 'producer' }, { now: NOW }));
    expect(t.remediation.status).toBe('booked');
    expect(t.events).toEqual([{ type: 'remediation.updated', actor: 'producer', data: { policies: [{ id: 9, name: 'Firewall' }], policies_added: [], policies_removed: [7] } }]);
    const merged = ok(decide(booked(), { type: 'policy_failing', host, policy: { id: 9, name: 'Firewall' }, actor: 'fleet' }, { now: NOW }));
    expect(types(merged)).toEqual(['remediation.updated']);
    expect(merged.remediation.policies.map((p) => p.id)).toEqual([7, 9]);
  });

  it('answers a repeat as unchanged (no event): the same failing policy, the same move, a second notice', () => {
    expect(ok(decide(booked(), { type: 'policy_failing', host, policy, actor: 'producer' }, { now: NOW })).unchanged).toBe(true);
    expect(ok(decide(booked(), { type: 'window_moved', start: START, end: END, actor: 'owner' }, { now: NOW })).unchanged).toBe(true);
    const noticed = booked({ notified: { upcoming: START } });
    expect(ok(decide(noticed, { type: 'window_upcoming', start: START, minutesBefore: 15 }, { now: NOW })).unchanged).toBe(true);
  });
});

describe('remediation lifecycle: illegal transitions are refused', () => {
  const REFUSED: Array<[string, Remediation | null, Happening]> = [
    ['book a booked window', booked(), { type: 'window_booked', start: START, end: END, eventId: 'ev1', timeZone: 'UTC', onlyTimeLeft: false, date: '2026-11-24' }],
    ['start a pending one', base(), { type: 'window_started', delivery: delivery(1), actor: 'system' }],
    ['start a firing one again', firing(), { type: 'window_started', delivery: delivery(1), actor: 'system' }],
    ['move a pending one', base(), { type: 'window_moved', start: START, end: END, actor: 'admin' }],
    ['move into the past', booked(), { type: 'window_moved', start: '2026-11-20T09:00:00Z', end: '2026-11-20T09:30:00Z', actor: 'admin' }],
    ['move to end before start', booked(), { type: 'window_moved', start: '2026-11-25T09:30:00Z', end: '2026-11-25T09:00:00Z', actor: 'admin' }],
    ['rebook a firing one', firing(), { type: 'window_lost', reason: 'deleted' }],
    ['cancel a firing one', firing(), { type: 'cancelled', reason: 'x', actor: 'admin' }],
    ['cancel a fired one', firing({ status: 'fired' }), { type: 'cancelled', reason: 'x', actor: 'admin' }],
    ['cancel a resolved one', base({ status: 'resolved' }), { type: 'cancelled', reason: 'x', actor: 'admin' }],
    ['resolve a cancelled one', base({ status: 'cancelled' }), { type: 'policy_passing', policyId: 7, actor: 'producer' }],
    ['redeliver a booked one', booked(), { type: 'redelivery_started', delivery: delivery(1), actor: 'admin' }],
    ['redeliver out of order', firing({ status: 'fired' }), { type: 'redelivery_started', delivery: delivery(3), actor: 'admin' }],
    ['deliver a stale delivery', firing({ delivery: delivery(2) }), { type: 'delivery_succeeded', number: 1 }],
    ['hand over to a pending one', base(), { type: 'owner_freed' }],
    ['notice a window that moved', booked(), { type: 'window_upcoming', start: '2026-11-25T09:00:00Z', minutesBefore: 15 }],
    ['notice a window whose start has passed', booked({ start: '2026-11-23T09:00:00.000Z', end: '2026-11-23T09:30:00.000Z' }), { type: 'window_upcoming', start: '2026-11-23T09:00:00.000Z', minutesBefore: 15 }],
    ['end a window that has not started', booked(), { type: 'window_ended', start: START }],
    ['end a window before its end', firing(), { type: 'window_ended', start: START }],
    ['merge into a firing one', firing(), { type: 'policy_failing', host, policy: { id: 9, name: 'x' }, actor: 'producer' }],
    ['act on nothing', null, { type: 'policy_passing', policyId: 7, actor: 'producer' }],
  ];

  it.each(REFUSED)('%s', (_name, from, happening) => {
    const d = decide(from, happening, { now: NOW });
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.status).toBe(from?.status ?? null);
      expect(d.reason.length).toBeGreaterThan(0);
    }
  });
});

describe('no code outside the lifecycle module assigns a status', () => {
  const SRC = join(__dirname, '../../src');
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });

  it('finds status assignments only in src/domain/remediation-lifecycle.ts (the emulator has its own event statuses)', () => {
    // `x.status = …`, `status: 'booked'` in an object written to a remediation, Object.assign(…, { status }).
    const assignment = /\.status\s*=[^=]|Object\.assign\([^)]*status|\bstatus:\s*'(unassigned|queued|pending|booked|firing|fired|delivery_failed|resolved|cancelled)'/;
    const offenders = files(SRC)
      .filter((f) => !f.includes(`${join('src', 'sandbox')}`) && !f.endsWith(join('domain', 'remediation-lifecycle.ts')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => [line, i + 1] as const)
          .filter(([line]) => assignment.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//'))
          .map(([line, n]) => `${relative(SRC, f)}:${n}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});
