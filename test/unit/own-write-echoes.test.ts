/**
 * The rule "our own writes' echoes are not synced": the counts (real Redis, own prefix) and the decision.
 */
import { Redis } from 'ioredis';
import { onlyOwnEchoes } from '../../src/services/own-write-echoes';
import { WatchStore } from '../../src/store/watch-store';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const redis = new Redis(TEST_REDIS_URL);
let prefix: string;
let ledger: WatchStore;
const owner = 'alice@acme.com';

beforeEach(() => {
  prefix = uniquePrefix('echo');
  ledger = new WatchStore(redis, prefix);
});
afterEach(() => deletePrefix(prefix));
afterAll(() => redis.quit());

const watched = () => ledger.saveChannel({ channelId: 'ch-1', resource: 'res-1', owner, token: 't'.repeat(32), expiration: Date.now() + 60_000 });

describe('onlyOwnEchoes', () => {
  it.each([
    [{ writes: 2, notifications: 2, full: false }, true, 'a hand-over: delete and create, two echoes'],
    [{ writes: 2, notifications: 1, full: false }, true, 'one echo still on its way'],
    [{ writes: 1, notifications: 2, full: false }, false, 'one notification more than our writes: the owner changed something'],
    [{ writes: 0, notifications: 1, full: false }, false, 'the owner alone'],
    [{ writes: 3, notifications: 0, full: false }, false, 'no notification: a sync asked for by something else'],
    [{ writes: 2, notifications: 1, full: true }, false, 'a poll, renewal or missed notifications wants a listing'],
  ])('%j → %s (%s)', (counts, skip) => {
    expect(onlyOwnEchoes(counts)).toBe(skip);
  });
});

describe('WatchStore as the echo ledger', () => {
  it('counts writes only while the calendar is watched (nothing is notified without a channel)', async () => {
    await ledger.ownWrite(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 0, notifications: 0, full: false });
    await watched();
    await ledger.ownWrite(owner);
    await ledger.ownWrite(owner);
    await ledger.notification(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 2, notifications: 1, full: false });
  });

  it('take clears the counts; a full request is kept until taken', async () => {
    await watched();
    await ledger.ownWrite(owner);
    await ledger.fullSyncNeeded(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 1, notifications: 0, full: true });
    expect(await ledger.take(owner)).toEqual({ writes: 0, notifications: 0, full: false });
    expect(await redis.exists(`${prefix}:owner:${owner}:echoes`)).toBe(0);
  });

  it('keeps the counts two minutes at most', async () => {
    await watched();
    await ledger.ownWrite(owner);
    await ledger.notification(owner);
    const ttl = await redis.pttl(`${prefix}:owner:${owner}:echoes`);
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});
