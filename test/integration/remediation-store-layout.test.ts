/**
 * The Redis store keeps a host's and an owner's small state in one hash each (`{mw}:host:<id>`,
 * `{mw}:owner:<email>`). A daemon before 2026-12 kept every pointer in a key of its own: an upgraded daemon reads
 * those while the hash has none, and moves each when it next writes it — the one-host-per-owner rule and the event
 * order survive the upgrade.
 */
import { Redis } from 'ioredis';
import type { Remediation } from '../../src/domain/remediation';
import { RemediationStore } from '../../src/store/remediation-store';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const OWNER = 'dana@acme.com';
const T0 = Date.parse('2026-11-23T10:00:00Z');

function booked(id: string, hostId: number): Remediation {
  const at = new Date(T0).toISOString();
  return {
    id,
    host: { id: hostId, displayName: `Laptop ${hostId}`, serialNumber: `SN${hostId}`, teamId: 1 },
    email: OWNER,
    policies: [{ id: 7, name: 'P' }],
    status: 'booked',
    bookingNumber: 0,
    rebookCount: 0,
    createdAt: at,
    updatedAt: at,
    start: '2026-11-24T09:00:00.000+00:00',
    end: '2026-11-24T09:30:00.000+00:00',
  };
}

describe('RemediationStore key layout (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let store: RemediationStore;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(() => redis.disconnect());
  beforeEach(() => {
    prefix = uniquePrefix('layout');
    store = new RemediationStore(redis, prefix);
  });
  afterEach(() => deletePrefix(prefix));

  it('writes the pointers into the host’s and owner’s hashes', async () => {
    const r = booked(await store.nextId(42), 42);
    await store.commit([{ remediation: r, previousStatus: null, index: { openForHost: true, activeForOwner: true } }], T0);
    expect(r.id).toBe('h42-1');
    expect(await redis.hgetall(`${prefix}:host:42`)).toEqual({ seq: '1', open: 'h42-1' });
    expect(await redis.hget(`${prefix}:owner:${OWNER}`, 'active')).toBe('h42-1');
    expect(await store.openIdForHost(42)).toBe('h42-1');
    expect(await store.activeForOwner(OWNER)).toBe('h42-1');
    await store.commit([{ remediation: { ...r, status: 'resolved' }, previousStatus: 'booked', index: { openForHost: false, activeForOwner: false } }], T0);
    expect(await store.openIdForHost(42)).toBeNull();
    expect(await store.activeForOwner(OWNER)).toBeNull();
  });

  it('reads an older daemon’s pointers and id counter, and moves them at the next change', async () => {
    await redis
      .multi()
      .set(`${prefix}:host:42:open`, 'h42-3')
      .set(`${prefix}:host:42:seq`, '3')
      .set(`${prefix}:owner:${OWNER}:active`, 'h42-3')
      .exec();
    expect(await store.openIdForHost(42)).toBe('h42-3');
    expect(await store.activeForOwner(OWNER)).toBe('h42-3');
    // The counter continues: no id is given twice.
    expect(await store.nextId(42)).toBe('h42-4');
    expect(await redis.exists(`${prefix}:host:42:seq`)).toBe(0);

    const r = booked('h42-3', 42);
    await store.commit([{ remediation: { ...r, status: 'resolved' }, previousStatus: 'booked', index: { openForHost: false, activeForOwner: false } }], T0);
    expect(await store.openIdForHost(42)).toBeNull();
    expect(await store.activeForOwner(OWNER)).toBeNull();
    expect(await redis.exists(`${prefix}:host:42:open`, `${prefix}:owner:${OWNER}:active`)).toBe(0);
  });

  it('a host’s remediations come from its counter, an owner’s from a small sorted set; older daemons’ sets still listed', async () => {
    const older = { ...booked('h42-1', 42), status: 'resolved' as const };
    // Written by a daemon before 2026-12: the remediation and sets of the host's and the owner's ids.
    await redis.multi().set(`${prefix}:rem:h42-1`, JSON.stringify(older)).sadd(`${prefix}:host:42:rems`, 'h42-1').sadd(`${prefix}:owner:${OWNER}:rems`, 'h42-1').exec();
    // Written by the daemon before this one: a sorted set of the host's ids, its counter in the host's hash.
    const middle = { ...booked('h42-2', 42), status: 'resolved' as const, createdAt: new Date(T0 + 500).toISOString() };
    await redis.multi().set(`${prefix}:rem:h42-2`, JSON.stringify(middle)).zadd(`${prefix}:host:42:rem-ids`, T0 + 500, 'h42-2').zadd(`${prefix}:owner:${OWNER}:rem-ids`, T0 + 500, 'h42-2').hset(`${prefix}:host:42`, 'seq', '2').exec();

    const id = await store.nextId(42);
    expect(id).toBe('h42-3');
    const newer = { ...booked(id, 42), createdAt: new Date(T0 + 1000).toISOString() };
    await store.commit([{ remediation: newer, previousStatus: null }], T0);
    // No per-host index is written any more; the owner's ids go in their hash.
    expect(await redis.zrange(`${prefix}:host:42:rem-ids`, '0', '-1')).toEqual(['h42-2']);
    expect(await redis.zrange(`${prefix}:owner:${OWNER}:rem-ids`, '0', '-1')).toEqual(['h42-2']);
    expect(await redis.hget(`${prefix}:owner:${OWNER}`, 'ids')).toBe('h42-3');
    expect((await store.list({ hostId: 42 })).remediations.map((r) => r.id)).toEqual(['h42-3', 'h42-2', 'h42-1']);
    expect((await store.list({ email: OWNER })).remediations.map((r) => r.id)).toEqual(['h42-3', 'h42-2', 'h42-1']);
    // An id given but never saved (a daemon killed in between) is passed over.
    await store.nextId(42);
    expect((await store.list({ hostId: 42 })).remediations).toHaveLength(3);
  });

  it('an owner’s ids stay in their hash while they fit a compact value, then go to the sorted set; each once', async () => {
    const owner = 'many.hosts@acme.com';
    const ids: string[] = [];
    for (let host = 1000; host < 1012; host++) {
      const id = await store.nextId(host);
      ids.push(id);
      await store.commit([{ remediation: { ...booked(id, host), email: owner, status: 'queued', createdAt: new Date(T0 + host).toISOString() }, previousStatus: null }], T0);
    }
    const inHash = ((await redis.hget(`${prefix}:owner:${owner}`, 'ids')) ?? '').split(' ');
    const inSet = await redis.zrange(`${prefix}:owner:${owner}:rem-ids`, '0', '-1');
    expect(inHash.join(' ').length).toBeLessThanOrEqual(64);
    expect(inSet.length).toBeGreaterThan(0);
    expect([...inHash, ...inSet].sort()).toEqual([...ids].sort());
    expect(await redis.object('ENCODING', `${prefix}:owner:${owner}`)).toBe('listpack');
    // Saved again as another owner's and back: no id twice.
    const first = { ...booked(ids[0], 1000), email: owner, status: 'queued' as const, createdAt: new Date(T0 + 1000).toISOString() };
    await store.commit([{ remediation: { ...first, email: OWNER }, previousStatus: 'queued', owner: owner }], T0);
    await store.commit([{ remediation: first, previousStatus: 'queued', owner: OWNER }], T0);
    const listed = (await store.list({ email: owner, limit: 100 })).remediations.map((r) => r.id);
    expect(listed).toEqual([...ids].reverse());
  });

  it('event order: an older daemon’s record of the last event still holds back an earlier one', async () => {
    await redis.set(`${prefix}:host:42:policy:7:at`, String(T0 + 100), 'EX', 3600);
    expect(await store.markLatestEvent(42, 7, T0 + 50, 3600)).toBe(false);
    expect(await store.markLatestEvent(42, 7, T0 + 200, 3600)).toBe(true);
    expect(await redis.exists(`${prefix}:host:42:policy:7:at`)).toBe(0);
    expect(await store.markLatestEvent(42, 7, T0 + 150, 3600)).toBe(false);
    // A record past its life no longer orders (as the key's TTL did).
    expect(await store.markLatestEvent(42, 8, T0 + 100, 0)).toBe(true);
    expect(await store.markLatestEvent(42, 8, T0 + 50, 3600)).toBe(true);
  });

  it('the time zone cache is a field of the owner’s hash that answers until it expires', async () => {
    await store.cacheTimeZone(OWNER, 'America/New_York', 3600);
    expect(await store.cachedTimeZone(OWNER)).toBe('America/New_York');
    await store.cacheTimeZone(OWNER, 'Europe/Paris', 0);
    expect(await store.cachedTimeZone(OWNER)).toBeNull();
    expect(await redis.exists(`${prefix}:tz:${OWNER}`)).toBe(0);
  });

  it('records and events are packed; an older daemon’s plain JSON ones still read, in the feed too', async () => {
    const older = { ...booked('h42-1', 42), status: 'booked' as const };
    const olderEvent = { id: 'evt_old1', type: 'window.booked', occurred_at: new Date(T0).toISOString(), remediation_id: 'h42-1', host_id: 42, email: OWNER, actor: 'system', data: { status: 'booked' } };
    // As a daemon before packing wrote them: the record's JSON, an event's JSON object, a feed entry pointing at it.
    await redis.multi().set(`${prefix}:rem:h42-1`, JSON.stringify(older)).rpush(`${prefix}:rem:h42-1:history`, JSON.stringify(olderEvent)).xadd(`${prefix}:events`, '*', 'r', 'h42-1', 'i', '0').exec();
    const newer = booked('h43-1', 43);
    const [stored] = await store.commit([{ remediation: newer, previousStatus: null, events: [{ type: 'remediation.created', actor: 'producer', data: { policies: newer.policies } }] }], T0 + 1000);

    const rawRecord = await redis.getBuffer(`${prefix}:rem:h43-1`);
    const [rawEvent] = await redis.lrangeBuffer(`${prefix}:rem:h43-1:history`, 0, -1);
    expect(rawRecord?.[0]).toBe(0x01);
    expect(rawEvent[0]).toBe(0x01);

    expect(await store.get('h42-1')).toEqual(older);
    expect(await store.getMany(['h42-1', 'h43-1'])).toEqual([older, newer]);
    expect(await store.history('h42-1')).toEqual([olderEvent]);
    expect(await store.history('h43-1')).toEqual([stored]);
    expect((await store.readFeed({ limit: 10 })).events).toEqual([olderEvent, stored]);
  });

  it('open remediations are listed in `open`, closed ones in `rems`; listing reads both, older daemons’ ids once', async () => {
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    // An older daemon kept every id in `rems`, the open ones in `open` too.
    const legacyOpen = { ...booked('h1-1', 1), createdAt: at(1), updatedAt: at(1) };
    const legacyClosed = { ...booked('h2-1', 2), status: 'resolved' as const, createdAt: at(2), updatedAt: at(2) };
    await redis
      .multi()
      .set(`${prefix}:rem:h1-1`, JSON.stringify(legacyOpen))
      .set(`${prefix}:rem:h2-1`, JSON.stringify(legacyClosed))
      .zadd(`${prefix}:rems`, T0 + 1, 'h1-1', T0 + 2, 'h2-1')
      .zadd(`${prefix}:open`, T0 + 1, 'h1-1')
      .exec();
    // 450 new ones (3 chunks of the listing's reads), every third closed, some at the same creation time.
    const fresh = Array.from({ length: 450 }, (_, i) => ({ ...booked(`h${100 + i}-1`, 100 + i), createdAt: at(10 + Math.floor(i / 2)), status: i % 3 === 0 ? ('resolved' as const) : ('booked' as const) }));
    await store.commit(fresh.map((r) => ({ remediation: r, previousStatus: null })), T0);
    expect(await redis.zcard(`${prefix}:open`)).toBe(1 + 300);
    expect(await redis.zcard(`${prefix}:rems`)).toBe(2 + 150);
    expect(await redis.zscore(`${prefix}:rems`, 'h101-1')).toBeNull();

    // Closing moves an id from `open` to `rems`; the legacy open one closing stays in `rems` once.
    await store.commit([{ remediation: { ...fresh[1], status: 'resolved' }, previousStatus: 'booked' }, { remediation: { ...legacyOpen, status: 'cancelled' }, previousStatus: 'booked' }], T0);
    expect(await redis.zscore(`${prefix}:open`, 'h101-1')).toBeNull();
    expect(await redis.zscore(`${prefix}:rems`, 'h101-1')).toBe(String(Date.parse(fresh[1].createdAt)));
    expect(await redis.zscore(`${prefix}:open`, 'h1-1')).toBeNull();

    // Every remediation listed once, newest first (creation time, then id, descending), page after page.
    const expected = [...fresh.map((r) => ({ id: r.id, ms: Date.parse(r.createdAt) })), { id: 'h1-1', ms: T0 + 1 }, { id: 'h2-1', ms: T0 + 2 }]
      .sort((a, b) => b.ms - a.ms || (a.id < b.id ? 1 : -1))
      .map((e) => e.id);
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 100, cursor });
      listed.push(...page.remediations.map((r) => r.id));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(listed).toEqual(expected);
    expect((await store.list({ status: 'resolved', limit: 500 })).remediations).toHaveLength(151 + 1);

    // Counts rebuilt from both sets count each remediation once.
    await redis.del(`${prefix}:status-counts`);
    expect(await store.recountStatusesIfMissing()).toBe(true);
    expect(await store.statusCounts()).toEqual({ booked: 299, resolved: 152, cancelled: 1 });
  });
});
