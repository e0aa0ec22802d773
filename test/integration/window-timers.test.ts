/**
 * Far-off window jobs wait as timers in one sorted set (WindowTimers) and become BullMQ jobs TIMER_HORIZON_MS
 * before they are due (BullmqScheduler.promoteDueTimers): real Redis, real queues, a clock we move.
 */
import { Redis } from 'ioredis';
import { BullmqScheduler } from '../../src/jobs/bullmq-scheduler';
import { TIMER_HORIZON_MS, TIMER_LEASE_MS, WindowTimers, parseTimerMember, timerMember, type WindowTimer } from '../../src/jobs/window-timers';
import type { Remediation } from '../../src/domain/remediation';
import type { FireRequest } from '../../src/services/fire-service';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { TestClock } from '../support/test-clock';

const START = '2026-11-24T09:00:00.000-05:00';
const START_MS = Date.parse(START);

function booked(id: string, bookingNumber = 0, start = START): Remediation {
  return { id, bookingNumber, start, status: 'booked' } as Remediation;
}

describe('window timers (real Redis)', () => {
  const prefix = uniquePrefix('timers');
  let redis: Redis;
  let timers: WindowTimers;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    timers = new WindowTimers(redis, prefix);
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });
  beforeEach(() => deletePrefix(prefix));

  const fire = (id: string, dueMs: number): WindowTimer => ({ kind: 'fire', remediationId: id, bookingNumber: 0, start: START, dueMs });

  it('a member keeps the start as booked (offset included) and parses back', () => {
    const up: WindowTimer = { kind: 'upcoming', remediationId: 'h1-2', bookingNumber: 3, start: START, minutesBefore: 15, dueMs: START_MS - 900_000 };
    expect(timerMember(up)).toBe(`u|h1-2|3|${START}|15`);
    expect(parseTimerMember(timerMember(up), up.dueMs)).toEqual(up);
    expect(parseTimerMember(timerMember(fire('h1-2', 5)), 5)).toEqual(fire('h1-2', 5));
    expect(parseTimerMember('x|h1|0|nonsense', 1)).toBeNull();
  });

  it('takes only timers due within the horizon, each once, earliest first', async () => {
    const now = START_MS - 3_600_000;
    await timers.add([fire('late', START_MS - 1000), fire('soon', now + TIMER_HORIZON_MS - 1), fire('sooner', now + 10)]);
    const taken = await timers.take(now, 10);
    expect(taken.map((t) => t.timer.remediationId)).toEqual(['sooner', 'soon']);
    expect(await timers.take(now, 10)).toEqual([]);
    expect(await timers.waiting([fire('late', 0), fire('soon', 0)])).toEqual([true, false]);
    expect(await timers.count()).toBe(1);
  });

  it('a taken timer not done comes back after its lease, with its due time; a done one does not', async () => {
    const now = START_MS - 600_000;
    await timers.add([fire('crashed', now + 5), fire('finished', now + 6)]);
    const [crashed, finished] = await timers.take(now, 10);
    await timers.done([finished.ref]);
    expect(await timers.take(now + TIMER_LEASE_MS - 1, 10)).toEqual([]);
    const again = await timers.take(now + TIMER_LEASE_MS, 10);
    expect(again.map((t) => t.timer)).toEqual([crashed.timer]);
    expect(again[0].timer.dueMs).toBe(now + 5);
  });

  it('a timer set again for the same window keeps one member with the new due time', async () => {
    await timers.add([fire('h9-1', 100)]);
    await timers.add([fire('h9-1', 200)]);
    expect(await timers.count()).toBe(1);
    expect(await redis.zscore(`${prefix}:window-timers`, timerMember(fire('h9-1', 0)))).toBe('200');
  });
});

describe('BullmqScheduler: far windows wait as timers, near ones get their jobs', () => {
  const prefix = uniquePrefix('timer-jobs');
  const clock = new TestClock(START_MS - 86_400_000);
  let redis: Redis;
  let scheduler: BullmqScheduler;
  let rank = 0;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    scheduler = new BullmqScheduler(redis, prefix, clock, undefined, async () => rank++);
  });
  afterAll(async () => {
    await scheduler.close();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('a window a day away: one timer for both jobs; the notice comes at its horizon, then the fire job at its own', async () => {
    clock.set(START_MS - 86_400_000);
    const r = booked('h1-1');
    await scheduler.scheduleWindow(r, 15);
    expect(await scheduler.fires.getJob(`fire-h1-1-0-${START_MS}`)).toBeUndefined();
    expect(await redis.zrange(`${prefix}:window-timers`, '0', '-1', 'WITHSCORES')).toEqual([`w|h1-1|0|${START}|15`, String(START_MS - 15 * 60_000)]);
    expect(await scheduler.promoteDueTimers(100)).toBe(0);

    // The notice comes due first (15 minutes before the start); the fire timer takes the window's place.
    clock.set(START_MS - 15 * 60_000 - TIMER_HORIZON_MS + 1000);
    rank = 3;
    expect(await scheduler.promoteDueTimers(100)).toBe(1);
    const notice = await scheduler.lifecycle.getJob(`upcoming-h1-1-0-${START_MS}`);
    expect(notice?.data).toEqual({ remediationId: 'h1-1', bookingNumber: 0, start: START, minutesBefore: 15 });
    expect(notice?.opts.delay).toBeGreaterThan(TIMER_HORIZON_MS - 2000);
    expect(notice?.opts.delay).toBeLessThanOrEqual(TIMER_HORIZON_MS - 1000);
    const lookAheadMs = 1000 + 3 * 5;
    expect(await redis.zrange(`${prefix}:window-timers`, '0', '-1', 'WITHSCORES')).toEqual([`f|h1-1|0|${START}`, String(START_MS - lookAheadMs)]);
    expect(await scheduler.fires.getJob(`fire-h1-1-0-${START_MS}`)).toBeUndefined();

    clock.set(START_MS - 30_000);
    expect(await scheduler.promoteDueTimers(100)).toBe(1);
    const job = await scheduler.fires.getJob(`fire-h1-1-0-${START_MS}`);
    expect(job?.data as FireRequest).toEqual({ remediationId: 'h1-1', bookingNumber: 0, start: START, lookAheadMs });
    expect(job?.opts.delay).toBeGreaterThan(30_000 - lookAheadMs - 1000);
    expect(job?.opts.delay).toBeLessThanOrEqual(30_000 - lookAheadMs);
    expect(await scheduler.timers.count()).toBe(0);
  });

  it('a window whose notice is near gets both jobs at once; with no notice, a far one waits as a fire timer', async () => {
    clock.set(START_MS - 60_000);
    rank = 0;
    await scheduler.scheduleWindow(booked('h2-1'), 15);
    expect(await scheduler.fires.getJob(`fire-h2-1-0-${START_MS}`)).toBeDefined();
    expect(await scheduler.lifecycle.getJob(`upcoming-h2-1-0-${START_MS}`)).toBeDefined();
    expect(await scheduler.timers.count()).toBe(0);

    clock.set(START_MS - 86_400_000);
    await scheduler.scheduleWindow(booked('h2-2'), 0);
    expect(await redis.zrange(`${prefix}:window-timers`, '0', '-1')).toEqual([`f|h2-2|0|${START}`]);
    expect(await scheduler.lifecycle.getJob(`upcoming-h2-2-0-${START_MS}`)).toBeUndefined();
  });

  it('the start-up check counts waiting timers as the window’s jobs and adds only what is missing', async () => {
    await deletePrefix(prefix);
    clock.set(START_MS - 7 * 86_400_000);
    const waiting = booked('h3-1');
    await scheduler.scheduleWindow(waiting, 15);
    const lost = booked('h4-1');
    // Its notice was promoted and lost (a crash between): only the fire timer is left.
    const halfway = booked('h5-1');
    await scheduler.timers.add([{ kind: 'fire', remediationId: 'h5-1', bookingNumber: 0, start: START, dueMs: START_MS - 1000 }]);
    expect(await scheduler.ensureWindowJobs([waiting, lost, halfway], 15)).toBe(1);
    const ref = (id: string) => ({ remediationId: id, bookingNumber: 0, start: START, dueMs: 0 });
    expect(
      await scheduler.timers.waiting([
        { kind: 'window', ...ref('h3-1'), minutesBefore: 15 },
        { kind: 'window', ...ref('h4-1'), minutesBefore: 15 },
        { kind: 'fire', ...ref('h5-1') },
        { kind: 'upcoming', ...ref('h5-1'), minutesBefore: 15 },
      ]),
    ).toEqual([true, true, true, true]);
    expect(await scheduler.timers.count()).toBe(4);
    expect(await scheduler.ensureWindowJobs([waiting, lost, halfway], 15)).toBe(0);
    expect(await scheduler.timers.count()).toBe(4);
  });
});
