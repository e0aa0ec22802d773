/**
 * The rule "our own writes' echoes are not synced": the counts (real Redis, own prefix) and the decision.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { countingOwnWrites, onlyOwnEchoes, type EchoCounts } from '../../src/services/own-write-echoes';
import type { NewWindowEvent } from '../../src/ports/calendar';
import { FakeCalendar } from '../support/fake-calendar';
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
  it.each<[EchoCounts, boolean, string]>([
    [{ writes: 2, notifications: 2, full: false }, true, 'a hand-over: delete and create, two echoes'],
    [{ writes: 2, notifications: 1, full: false }, true, 'one echo still on its way'],
    [{ writes: 1, notifications: 2, full: false }, false, 'one notification more than our writes: the owner changed something'],
    [{ writes: 0, notifications: 1, full: false }, false, 'the owner alone'],
    [{ writes: 3, notifications: 0, full: false }, false, 'no notification: a sync asked for by something else'],
    [{ writes: 2, notifications: 1, full: true }, false, 'a poll, renewal or missed notifications wants a listing'],
    [{ writes: 0, notifications: 0, full: false, takenBefore: true }, true, 'its notification was taken by the sync before it'],
    [{ writes: 1, notifications: 0, full: false, takenBefore: true }, true, 'the same, with a write whose echo is still on its way'],
    [{ writes: 0, notifications: 0, full: false, takenBefore: false }, false, 'nothing taken lately: the counts may have expired'],
    [{ writes: 0, notifications: 0, full: true, takenBefore: true }, false, 'a full request lists whatever was taken'],
  ])('%j → %s (%s)', (counts, skip) => {
    expect(onlyOwnEchoes(counts)).toBe(skip);
  });
});

describe('WatchStore as the echo ledger', () => {
  it('counts writes only while the calendar is watched (nothing is notified without a channel)', async () => {
    await ledger.ownWrite(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 0, notifications: 0, full: false, takenBefore: false });
    await watched();
    await ledger.ownWrite(owner);
    await ledger.ownWrite(owner);
    await ledger.notification(owner);
    // (taken before: the take above, a moment ago)
    expect(await ledger.take(owner)).toEqual({ writes: 2, notifications: 1, full: false, takenBefore: true });
  });

  it('take clears the counts and marks them taken (two minutes); a full request is kept until taken', async () => {
    await watched();
    await ledger.ownWrite(owner);
    await ledger.fullSyncNeeded(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 1, notifications: 0, full: true, takenBefore: false });
    // The next sync sees that an earlier one took the counts; only the mark is left.
    expect(await ledger.take(owner)).toEqual({ writes: 0, notifications: 0, full: false, takenBefore: true });
    expect(await redis.hgetall(`${prefix}:owner:${owner}:echoes`)).toEqual({ taken: '1' });
    const ttl = await redis.pttl(`${prefix}:owner:${owner}:echoes`);
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it('takes back a write that failed, never below none', async () => {
    await watched();
    await ledger.ownWrite(owner);
    await ledger.ownWrite(owner);
    await ledger.ownWriteFailed(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 1, notifications: 0, full: false, takenBefore: false });
    await ledger.ownWriteFailed(owner);
    await ledger.notification(owner);
    expect(await ledger.take(owner)).toEqual({ writes: 0, notifications: 1, full: false, takenBefore: true });
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

describe('countingOwnWrites', () => {
  const event: NewWindowEvent = {
    key: 'mwabc0',
    remediationId: 'h1-1',
    bookingNumber: 0,
    start: '2026-11-24T09:00:00.000Z',
    end: '2026-11-24T09:30:00.000Z',
    timeZone: 'UTC',
    title: 'Maintenance window',
    description: 'why',
  };

  it('counts a write before it goes out (its echo may come before its answer) and takes back one that failed', async () => {
    await watched();
    const seenDuringTheCall: number[] = [];
    // The provider notifies us while the insert is still on its way: the count must already be there.
    class NotifyingFirst extends FakeCalendar {
      override async createEvent(o: string, e: NewWindowEvent) {
        seenDuringTheCall.push((await redis.hget(`${prefix}:owner:${o}:echoes`, 'writes')) === '1' ? 1 : 0);
        return super.createEvent(o, e);
      }
    }
    const fake = new NotifyingFirst();
    fake.addOwner(owner);
    const calendar = countingOwnWrites(fake, ledger, pino({ level: 'silent' }));
    await calendar.createEvent(owner, event);
    expect(seenDuringTheCall).toEqual([1]);
    expect(await ledger.take(owner)).toMatchObject({ writes: 1, notifications: 0, full: false });

    fake.failNext('deleteEvent', new Error('HTTP 503'));
    await expect(calendar.deleteEvent(owner, 'nope')).rejects.toThrow('HTTP 503');
    expect(await ledger.take(owner)).toMatchObject({ writes: 0, notifications: 0, full: false });
  });
});
