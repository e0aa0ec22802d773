/**
 * The Redis WatchStore across the upgrade to the provider-neutral port: channel records written by an older daemon
 * name the resource `resourceId`; they are read as `resource`, so the channels it opened keep being verified,
 * renewed and stopped (same Redis keys).
 */
import { Redis } from 'ioredis';
import { WatchStore, type ChannelRecord } from '../../src/store/watch-store';
import { fakeWorld, policyEvent } from '../support/fake-services';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const OWNER = 'legacy@acme.com';

let redis: Redis;
let prefix: string;
beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(() => redis.disconnect());
beforeEach(() => {
  prefix = uniquePrefix('watch-store');
});
afterEach(() => deletePrefix(prefix));

/** What the daemon before the port change wrote for a channel: the same keys, the resource as `resourceId`. */
async function writeLegacyChannel(c: { channelId: string; resourceId: string; owner: string; token: string; expiration: number }): Promise<void> {
  await redis
    .multi()
    .set(`${prefix}:channel:${c.channelId}`, JSON.stringify(c))
    .zadd(`${prefix}:channels`, c.expiration, c.channelId)
    .set(`${prefix}:owner:${c.owner}:channel`, c.channelId)
    .exec();
}

describe('WatchStore', () => {
  it('saves and reads a channel (its record an array under the same keys as before; the owner’s pointer in their hash)', async () => {
    const store = new WatchStore(redis, prefix);
    const record: ChannelRecord = { channelId: 'mw-new', resource: 'res-new', owner: OWNER, token: 'secret', expiration: 1_900_000_000_000 };
    await store.saveChannel(record);
    expect(JSON.parse((await redis.get(`${prefix}:channel:mw-new`)) ?? 'null')).toEqual(['mw-new', 'res-new', OWNER, 'secret', 1_900_000_000_000]);
    await store.saveChannel({ ...record, renewRequested: true });
    expect(await store.channel('mw-new')).toEqual({ ...record, renewRequested: true });
    await store.saveChannel(record);
    expect(await redis.hget(`${prefix}:owner:${OWNER}`, 'channel')).toBe('mw-new');
    expect(await redis.exists(`${prefix}:owner:${OWNER}:channel`)).toBe(0);
    expect(await redis.zscore(`${prefix}:channels`, 'mw-new')).toBe(String(record.expiration));
    expect(await store.channel('mw-new')).toEqual(record);
  });

  it('reads a page of owners’ current channels at once: the hash’s pointer, an older daemon’s key, none, a lost record', async () => {
    const store = new WatchStore(redis, prefix);
    const a: ChannelRecord = { channelId: 'mw-a', resource: 'res-a', owner: 'a@acme.com', token: 't-a', expiration: 1_900_000_000_000 };
    await store.saveChannel(a);
    await writeLegacyChannel({ channelId: 'mw-old', resourceId: 'res-old', owner: OWNER, token: 't-old', expiration: 1_900_000_000_001 });
    // An owner whose pointer names a record that is gone.
    await redis.hset(`${prefix}:owner:lost@acme.com`, 'channel', 'mw-lost');
    const owners = ['a@acme.com', 'nobody@acme.com', OWNER, 'lost@acme.com'];
    expect(await store.currentChannelIds(owners)).toEqual(['mw-a', null, 'mw-old', 'mw-lost']);
    expect(await store.currentChannels(owners)).toEqual([a, null, { channelId: 'mw-old', resource: 'res-old', owner: OWNER, token: 't-old', expiration: 1_900_000_000_001 }, null]);
    // Each answers as the one-owner read does.
    for (const [i, owner] of owners.entries()) expect((await store.currentChannels(owners))[i]).toEqual(await store.currentChannel(owner));
    expect(await store.currentChannels([])).toEqual([]);
  });

  it('reads a record an older daemon wrote with `resourceId`', async () => {
    const legacy = { channelId: 'mw-old', resourceId: 'res-old', owner: OWNER, token: 'old-secret', expiration: 1_900_000_000_000 };
    await writeLegacyChannel(legacy);
    const store = new WatchStore(redis, prefix);
    const expected: ChannelRecord = { channelId: 'mw-old', resource: 'res-old', owner: OWNER, token: 'old-secret', expiration: legacy.expiration };
    expect(await store.channel('mw-old')).toEqual(expected);
    expect(await store.currentChannel(OWNER)).toEqual(expected);
    expect(await store.channelPage(0, 100)).toEqual([expected]);
    await store.removeChannel(expected);
    expect(await store.channelPage(0, 100)).toEqual([]);
    expect(await store.currentChannel(OWNER)).toBeNull();
  });

  it('reads the JSON object a daemon before the array form wrote', async () => {
    const record: ChannelRecord = { channelId: 'mw-obj', resource: 'res-obj', owner: OWNER, token: 'obj-secret', expiration: 1_900_000_000_000, renewRequested: true };
    await redis.multi().set(`${prefix}:channel:mw-obj`, JSON.stringify(record)).zadd(`${prefix}:channels`, record.expiration, 'mw-obj').hset(`${prefix}:owner:${OWNER}`, 'channel', 'mw-obj').exec();
    const store = new WatchStore(redis, prefix);
    expect(await store.channel('mw-obj')).toEqual(record);
    expect(await store.currentChannel(OWNER)).toEqual(record);
  });

  it('the sync state an older daemon kept in keys of its own is read, and moves into the owner’s hash when written', async () => {
    await redis.multi().set(`${prefix}:owner:${OWNER}:sync-token`, 'old-token').set(`${prefix}:owner:${OWNER}:synced-at`, '1700000000000').exec();
    const store = new WatchStore(redis, prefix);
    expect(await store.syncToken(OWNER)).toBe('old-token');
    expect(await store.lastSync(OWNER)).toBe(1_700_000_000_000);
    await store.setSyncToken(OWNER, 'new-token');
    await store.markSynced(OWNER, 1_800_000_000_000);
    expect(await redis.hgetall(`${prefix}:owner:${OWNER}`)).toEqual({ sync: 'new-token', synced: '1800000000000' });
    expect(await redis.exists(`${prefix}:owner:${OWNER}:sync-token`, `${prefix}:owner:${OWNER}:synced-at`)).toBe(0);
    expect(await store.syncToken(OWNER)).toBe('new-token');
    await store.setSyncToken(OWNER, null);
    expect(await store.syncToken(OWNER)).toBeNull();
  });

  it('an own write is counted while the owner has a channel, in either layout', async () => {
    const store = new WatchStore(redis, prefix);
    const echoes = `${prefix}:owner:${OWNER}:echoes`;
    await store.ownWrite(OWNER);
    expect(await redis.hget(echoes, 'writes')).toBeNull();
    await writeLegacyChannel({ channelId: 'mw-old', resourceId: 'res-old', owner: OWNER, token: 't', expiration: 1_900_000_000_000 });
    await store.ownWrite(OWNER);
    expect(await redis.hget(echoes, 'writes')).toBe('1');
    await store.saveChannel({ channelId: 'mw-new', resource: 'r', owner: OWNER, token: 't', expiration: 1_900_000_000_000 });
    await store.ownWrite(OWNER);
    expect(await redis.hget(echoes, 'writes')).toBe('2');
  });

  it('an upgraded daemon verifies notifications against an old channel and replaces it before it expires', async () => {
    const w = fakeWorld({ now: '2026-11-23T12:00:00Z', watchStore: new WatchStore(redis, prefix) });
    w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
    await w.ingest(policyEvent('policy_failing', 40, OWNER));
    await w.scheduler.runBookings();
    expect((await w.latest(40)).status).toBe('booked');
    w.clock.set('2026-11-24T05:00:00Z');
    // The channel the old daemon opened, expiring in 10 minutes.
    const legacy = { channelId: 'mw-old', resourceId: 'res-old', owner: OWNER, token: 'old-secret', expiration: w.clock.now() + 600_000 };
    await writeLegacyChannel(legacy);

    const genuine = { subscriptionId: 'mw-old', secret: 'old-secret', resource: 'res-old', kind: 'changed' } as const;
    await expect(w.services.watch.acceptNotification(genuine)).resolves.toEqual({ kind: 'sync', owner: OWNER });
    await expect(w.services.watch.acceptNotification({ ...genuine, resource: 'res-other' })).resolves.toEqual({
      kind: 'ignored',
      reason: 'wrong resource id',
      owner: OWNER,
    });

    expect(await w.services.watch.maintainChannels()).toEqual({ opened: 0, renewed: 1, stopped: 1 });
    // Stopped as the provider knows it: its id and resource.
    expect(w.calendar.stopped).toEqual([{ id: 'mw-old', resource: 'res-old', expiration: legacy.expiration }]);
    const current = await w.watch.currentChannel(OWNER);
    expect(current?.channelId).not.toBe('mw-old');
    const raw = (await redis.get(`${prefix}:channel:${current?.channelId}`)) ?? 'null';
    expect(JSON.parse(raw)).toEqual([current?.channelId, current?.resource, OWNER, current?.token, current?.expiration]);
  });
});
