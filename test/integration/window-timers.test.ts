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

  it('a window a day away: no job, two timers; at the horizon the jobs come with the delay left and the look-ahead', async () => {
    clock.set(START_MS - 86_400_000);
    const r = booked('h1-1');
    rank = 3;
    await scheduler.scheduleFire(r);
    await scheduler.scheduleUpcoming(r, 15);
    expect(await scheduler.fires.getJob(`fire-h1-1-0-${START_MS}`)).toBeUndefined();
    expect(await scheduler.timers.count()).toBe(2);
    expect(await scheduler.promoteDueTimers(100)).toBe(0);

    // The notice comes due first (15 minutes before the start).
    clock.set(START_MS - 15 * 60_000 - TIMER_HORIZON_MS + 1000);
    expect(await scheduler.promoteDueTimers(100)).toBe(1);
    const notice = await scheduler.lifecycle.getJob(`upcoming-h1-1-0-${START_MS}`);
    expect(notice?.data).toEqual({ remediationId: 'h1-1', bookingNumber: 0, start: START, minutesBefore: 15 });
    expect(notice?.opts.delay).toBeGreaterThan(TIMER_HORIZON_MS - 2000);
    expect(notice?.opts.delay).toBeLessThanOrEqual(TIMER_HORIZON_MS - 1000);

    clock.set(START_MS - 30_000);
    expect(await scheduler.promoteDueTimers(100)).toBe(1);
    const job = await scheduler.fires.getJob(`fire-h1-1-0-${START_MS}`);
    const lookAheadMs = 1000 + 3 * 5;
    expect(job?.data as FireRequest).toEqual({ remediationId: 'h1-1', bookingNumber: 0, start: START, lookAheadMs });
    expect(job?.opts.delay).toBeGreaterThan(30_000 - lookAheadMs - 1000);
    expect(job?.opts.delay).toBeLessThanOrEqual(30_000 - lookAheadMs);
    expect(await scheduler.timers.count()).toBe(0);
  });

  it('a window inside the horizon gets its job at once', async () => {
    clock.set(START_MS - 60_000);
    rank = 0;
    await scheduler.scheduleFire(booked('h2-1'));
    expect(await scheduler.fires.getJob(`fire-h2-1-0-${START_MS}`)).toBeDefined();
    expect(await scheduler.timers.waiting([{ kind: 'fire', remediationId: 'h2-1', bookingNumber: 0, start: START, dueMs: 0 }])).toEqual([false]);
  });

  it('the start-up check counts a waiting timer as the window’s job and adds only what is missing', async () => {
    clock.set(START_MS - 7 * 86_400_000);
    const waiting = booked('h3-1');
    await scheduler.scheduleFire(waiting);
    await scheduler.scheduleUpcoming(waiting, 15);
    const lost = booked('h4-1');
    expect(await scheduler.ensureWindowJobs([waiting, lost], 15)).toBe(1);
    expect(await scheduler.timers.waiting([
      { kind: 'fire', remediationId: 'h4-1', bookingNumber: 0, start: START, dueMs: 0 },
      { kind: 'upcoming', remediationId: 'h4-1', bookingNumber: 0, start: START, minutesBefore: 15, dueMs: 0 },
    ])).toEqual([true, true]);
    expect(await scheduler.ensureWindowJobs([waiting, lost], 15)).toBe(0);
  });
});
