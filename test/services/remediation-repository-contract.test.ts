import { Redis } from 'ioredis';
import type { Remediation, RemediationStatus } from '../../src/domain/remediation';
import type { RemediationRepository, StateWrite } from '../../src/services/ports';
import { RemediationStore } from '../../src/store/remediation-store';
import { InMemoryRemediationStore } from '../support/in-memory-remediation-store';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

/**
 * The in-memory store the service tests run on answers like the Redis store: the same calls on both, the same
 * answers expected. (Leases and TTLs in real time here: the in-memory one runs on the system clock.)
 */
const T0 = Date.parse('2026-11-23T10:00:00Z');

function rem(id: string, hostId: number, patch: Partial<Remediation> & { status: RemediationStatus }, createdOffsetMs = 0): Remediation {
  const at = new Date(T0 + createdOffsetMs).toISOString();
  return {
    id,
    host: { id: hostId, displayName: `Laptop ${hostId}`, serialNumber: `SN${hostId}`, teamId: hostId % 2 },
    email: 'dana@acme.com',
    policies: [{ id: hostId % 3, name: 'P' }],
    bookingNumber: 0,
    rebookCount: 0,
    createdAt: at,
    updatedAt: at,
    ...patch,
  };
}

const write = (r: Remediation, extra: Partial<StateWrite> = {}): StateWrite => ({ remediation: r, previousStatus: null, events: [{ type: 'remediation.created', actor: 'producer', data: { status: r.status } }], ...extra });

type Factory = { name: string; make: () => Promise<{ store: RemediationRepository; close: () => Promise<void> }> };

const factories: Factory[] = [
  { name: 'InMemoryRemediationStore', make: async () => ({ store: new InMemoryRemediationStore(), close: async () => undefined }) },
  {
    name: 'RemediationStore (Redis)',
    make: async () => {
      const redis = new Redis(TEST_REDIS_URL);
      const prefix = uniquePrefix('contract');
      return {
        store: new RemediationStore(redis, prefix),
        close: async () => {
          redis.disconnect();
          await deletePrefix(prefix);
        },
      };
    },
  },
];

describe.each(factories)('RemediationRepository contract: $name', ({ make }) => {
  let store: RemediationRepository;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ store, close } = await make());
  });
  afterEach(async () => {
    await close();
  });

  it('commits state, pointers, status counts and events together; history and feed agree', async () => {
    const a = rem('h1-1', 1, { status: 'pending' });
    const b = rem('h3-1', 3, { status: 'queued' }, 1000);
    const c = rem('h2-1', 2, { status: 'queued' }, 2000);
    const stored = await store.commit(
      [
        write(a, { index: { openForHost: true, activeForOwner: true, pendingSince: T0 } }),
        write(b, { index: { openForHost: true, waiting: true } }),
        write(c, { index: { openForHost: true, waiting: true } }),
      ],
      T0,
    );
    expect(stored.map((e) => [e.remediation_id, e.type, e.occurred_at])).toEqual([
      ['h1-1', 'remediation.created', new Date(T0).toISOString()],
      ['h3-1', 'remediation.created', new Date(T0).toISOString()],
      ['h2-1', 'remediation.created', new Date(T0).toISOString()],
    ]);
    expect(new Set(stored.map((e) => e.id)).size).toBe(3);
    expect(await store.activeForOwner('dana@acme.com')).toBe('h1-1');
    expect(await store.firstWaiting('dana@acme.com')).toBe('h2-1');
    expect(await store.openIdForHost(3)).toBe('h3-1');
    expect(await store.countPendingBookings()).toBe(1);
    expect(await store.statusCounts()).toEqual({ pending: 1, queued: 2 });

    // Booked: off the booking queue, on the booked index; the history grows.
    const booked = { ...a, status: 'booked' as const, start: '2026-11-24T09:00:00.000Z', end: '2026-11-24T09:30:00.000Z' };
    await store.commit([{ remediation: booked, previousStatus: 'pending', index: { pending: false }, events: [{ type: 'window.booked', actor: 'system', data: { status: 'booked' } }] }], T0 + 5);
    expect(await store.countPendingBookings()).toBe(0);
    expect((await store.bookedPage(0, 10)).map((r) => r.id)).toEqual(['h1-1']);
    expect((await store.history('h1-1')).map((e) => e.type)).toEqual(['remediation.created', 'window.booked']);
    expect(await store.statusCounts()).toEqual({ pending: 0, queued: 2, booked: 1 });

    // Hand-over: the first leaves (active cleared), the lowest host id is next.
    const fired = { ...booked, status: 'firing' as const, firedAt: new Date(T0 + 10).toISOString() };
    const next = { ...c, status: 'pending' as const };
    await store.commit(
      [
        { remediation: fired, previousStatus: 'booked', index: { activeForOwner: false }, events: [{ type: 'window.started', actor: 'system', data: {} }] },
        { remediation: next, previousStatus: 'queued', index: { waiting: false, activeForOwner: true, pendingSince: T0 + 10 }, events: [{ type: 'remediation.assigned', actor: 'system', data: {} }] },
      ],
      T0 + 10,
    );
    expect(await store.activeForOwner('dana@acme.com')).toBe('h2-1');
    expect(await store.firstWaiting('dana@acme.com')).toBe('h3-1');
    expect((await store.allFiring()).map((r) => r.id)).toEqual(['h1-1']);
    expect(await store.bookedPage(0, 10)).toEqual([]);

    const feed = await store.readFeed({ limit: 100 });
    expect(feed.events.map((e) => `${e.remediation_id} ${e.type}`)).toEqual([
      'h1-1 remediation.created',
      'h3-1 remediation.created',
      'h2-1 remediation.created',
      'h1-1 window.booked',
      'h1-1 window.started',
      'h2-1 remediation.assigned',
    ]);
    expect(feed.next).toBe(await store.feedHead());
  });

  it('pages the feed with filters and a scan bound: no gaps, no repeats, next stays put when nothing is new', async () => {
    for (let i = 0; i < 12; i++) {
      await store.commit([write(rem(`h${10 + (i % 3)}-${i}`, 10 + (i % 3), { status: 'unassigned' }, i))], T0 + i);
    }
    const seen: string[] = [];
    let after: string | undefined;
    let calls = 0;
    for (;;) {
      const page = await store.readFeed({ after, limit: 2, hostId: 11, scan: 3 });
      calls++;
      seen.push(...page.events.map((e) => e.remediation_id));
      if (page.next === (after ?? null)) break;
      after = page.next ?? undefined;
    }
    expect(seen).toEqual(['h11-1', 'h11-4', 'h11-7', 'h11-10']);
    expect(calls).toBeGreaterThan(2);
    expect(await store.readFeed({ after, limit: 5 })).toEqual({ events: [], next: after });
    expect((await store.readFeed({ limit: 100, type: 'window.booked' })).events).toEqual([]);
  });

  it('lists newest first with filters, a page at a time', async () => {
    const rs = [
      rem('h20-1', 20, { status: 'booked', start: '2026-11-24T09:00:00.000Z' }, 0),
      rem('h21-1', 21, { status: 'booked', start: '2026-11-24T10:00:00.000Z' }, 1000),
      rem('h22-1', 22, { status: 'fired', start: '2026-11-25T09:00:00.000Z' }, 2000),
      rem('h23-1', 23, { status: 'queued' }, 2000),
    ];
    // Ids come from the host's counter, as in the daemon (a store may list a host's remediations by it).
    for (const r of rs) expect(await store.nextId(r.host.id)).toBe(r.id);
    await store.commit(rs.map((r) => write(r)), T0);
    const ids = async (f: Parameters<RemediationRepository['list']>[0]) => (await store.list(f)).remediations.map((r) => r.id);
    expect(await ids({})).toEqual(['h23-1', 'h22-1', 'h21-1', 'h20-1']);
    expect(await ids({ status: 'booked' })).toEqual(['h21-1', 'h20-1']);
    expect(await ids({ teamId: 0 })).toEqual(['h22-1', 'h20-1']);
    expect(await ids({ policyId: 2 })).toEqual(['h23-1', 'h20-1']);
    expect(await ids({ from: Date.parse('2026-11-24T09:30:00Z'), to: Date.parse('2026-11-25T09:00:00Z') })).toEqual(['h21-1']);
    expect(await ids({ hostId: 22 })).toEqual(['h22-1']);
    expect(await ids({ email: 'DANA@acme.com', status: 'queued' })).toEqual(['h23-1']);
    const first = await store.list({ limit: 3 });
    expect(first.remediations.map((r) => r.id)).toEqual(['h23-1', 'h22-1', 'h21-1']);
    const second = await store.list({ limit: 3, cursor: first.next as string });
    expect(second).toEqual({ remediations: [expect.objectContaining({ id: 'h20-1' })], next: null });
  });

  it('hands armed windows out once each, earliest first and only when due; numbers the windows booked at a start', async () => {
    const at = (m: number) => new Date(T0 + m * 60_000).toISOString();
    await store.armWindow({ remediationId: 'h41-1', bookingNumber: 2, start: at(5) });
    await store.armWindow({ remediationId: 'h40-1', bookingNumber: 0, start: at(1) });
    await store.armWindow({ remediationId: 'h42-1', bookingNumber: 0, start: at(1) });
    // Armed again (a repeated look): still one entry.
    await store.armWindow({ remediationId: 'h40-1', bookingNumber: 0, start: at(1) });
    expect(await store.takeArmedWindows(T0, 10)).toEqual([]);
    expect(await store.takeArmedWindows(T0 + 60_000, 1)).toEqual([{ remediationId: 'h40-1', bookingNumber: 0, start: at(1) }]);
    expect(await store.takeArmedWindows(T0 + 10 * 60_000, 10)).toEqual([
      { remediationId: 'h42-1', bookingNumber: 0, start: at(1) },
      { remediationId: 'h41-1', bookingNumber: 2, start: at(5) },
    ]);
    expect(await store.takeArmedWindows(T0 + 10 * 60_000, 10)).toEqual([]);

    const start = Date.parse('2026-11-24T09:00:00.000Z');
    expect(await Promise.all([store.nextRankAt(start), store.nextRankAt(start), store.nextRankAt(start)]).then((r) => r.sort())).toEqual([0, 1, 2]);
    expect(await store.nextRankAt(start + 1)).toBe(0);
    expect(await store.nextRankAt(start)).toBe(3);
  });

  it('takes only the locks that are free for a batch, and gives them back', async () => {
    let release!: () => void;
    const holding = store.withOwnerLock('owner:held@acme.com', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    const held = await store.withOwnerLocks(['owner:a@acme.com', 'owner:held@acme.com', 'owner:a@acme.com', 'host:7'], async (h) => [...h].sort());
    expect(held).toEqual(['host:7', 'owner:a@acme.com']);
    release();
    await holding;
    // Released: a single lock can be taken at once again, and so can the batch.
    expect(await store.withOwnerLock('owner:a@acme.com', async () => 'ok')).toBe('ok');
    expect(await store.withOwnerLocks(['owner:a@acme.com', 'owner:held@acme.com'], async (h) => h.size)).toBe(2);
  });

  it('leases pending bookings to one claimer, defers only queued ones, orders events per host and policy', async () => {
    const r1 = rem('h30-1', 30, { status: 'pending' });
    const r2 = rem('h31-1', 31, { status: 'pending' });
    await store.commit([write(r1, { index: { pendingSince: T0 } }), write(r2, { index: { pendingSince: T0 + 1 } })], T0);
    // A second pendingSince does not push it back in line (NX).
    await store.commit([{ remediation: r1, index: { pendingSince: T0 + 50 } }], T0 + 50);
    const now = Date.now();
    expect(await store.claimPendingBookings(1, T0 + 10, 60_000)).toEqual(['h30-1']);
    expect(await store.claimPendingBookings(5, T0 + 10, 60_000)).toEqual(['h31-1']);
    expect(await store.claimPendingBookings(5, T0 + 10, 60_000)).toEqual([]);
    await store.releaseBookingLeases(['h30-1']);
    await store.deferPendingBooking('h30-1', now + 3600_000);
    await store.deferPendingBooking('h99-1', T0);
    expect(await store.countPendingBookings()).toBe(2);
    expect(await store.claimPendingBookings(5, T0 + 10, 60_000)).toEqual([]);
    expect(await store.claimPendingBookings(5, now + 3600_000, 60_000)).toEqual(['h30-1']);
    await store.removePendingBooking('h31-1');
    expect(await store.countPendingBookings()).toBe(1);

    expect(await store.markLatestEvent(30, 7, T0 + 100, 60)).toBe(true);
    expect(await store.markLatestEvent(30, 7, T0 + 50, 60)).toBe(false);
    expect(await store.markLatestEvent(30, 8, T0 + 50, 60)).toBe(true);
    expect(await store.markLatestEvent(30, 7, T0 + 100, 60)).toBe(true);
    expect(await store.nextId(30)).toBe('h30-1');
    expect(await store.nextId(30)).toBe('h30-2');
    await store.cacheTimeZone('dana@acme.com', 'Europe/Paris', 60);
    expect(await store.cachedTimeZone('dana@acme.com')).toBe('Europe/Paris');
    expect(await store.cachedTimeZone('erin@acme.com')).toBeNull();
  });

  it('serialises work under one lock name and lets other names run', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holder = store.withOwnerLock('owner:x@acme.com', async () => {
      order.push('a start');
      await gate;
      order.push('a end');
    });
    const waiter = store.withOwnerLock('owner:x@acme.com', async () => {
      order.push('b');
    });
    await store.withOwnerLock('owner:y@acme.com', async () => {
      order.push('other');
    });
    // Wait until the holder is in (Redis: it took the lock), then let it go.
    while (!order.includes('a start')) await new Promise((r) => setImmediate(r));
    release();
    await Promise.all([holder, waiter]);
    expect(order.indexOf('b')).toBeGreaterThan(order.indexOf('a end'));
    expect(order).toContain('other');
  });
});
