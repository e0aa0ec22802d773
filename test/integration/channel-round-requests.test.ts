/**
 * Requests for a channel round (every booking, move, delete and fire makes one) wait as at most one job, across
 * daemons: real Redis, real queues, two schedulers on one prefix standing for two daemons.
 */
import { Redis } from 'ioredis';
import { BullmqScheduler } from '../../src/jobs/bullmq-scheduler';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { TestClock } from '../support/test-clock';

describe('channel round requests (real Redis)', () => {
  const prefix = uniquePrefix('rounds');
  let redis: Redis;
  let d1: BullmqScheduler;
  let d2: BullmqScheduler;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    d1 = new BullmqScheduler(redis, prefix, new TestClock());
    d2 = new BullmqScheduler(redis, prefix, new TestClock());
  });
  afterAll(async () => {
    await d1.close();
    await d2.close();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  const waitingRounds = async () =>
    (await d1.calendarWatch.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j.name === 'maintain-channels').length;

  it('a burst of requests from two daemons waits as one round; a request after the round started adds the next', async () => {
    const burst = async (d: BullmqScheduler) => {
      for (let i = 0; i < 20; i++) {
        await Promise.all(Array.from({ length: 10 }, () => d.requestChannelMaintenance()));
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await Promise.all([burst(d1), burst(d2)]);
    expect(await waitingRounds()).toBe(1);
    expect(await redis.pttl(`${prefix}:channel-round:asked`)).toBeGreaterThan(0);

    // The worker takes the job and the round starts: what is asked from now on is not answered by it.
    const [job] = await d1.calendarWatch.getJobs(['waiting', 'delayed']);
    await job.remove();
    await d2.channelRoundStarting();
    expect(await redis.exists(`${prefix}:channel-round:asked`)).toBe(0);
    await new Promise((r) => setTimeout(r, 60)); // past d2's own "added a moment ago" shortcut
    await d2.requestChannelMaintenance();
    await d1.requestChannelMaintenance();
    expect(await waitingRounds()).toBe(1);
  });

  it('a request whose job cannot be added leaves no mark behind (the next request adds it)', async () => {
    await deletePrefix(prefix);
    // The queue's job counter holds what INCR refuses: BullMQ's add fails inside Redis.
    await redis.set(`${prefix}:calendar-watch:id`, 'not a number');
    await expect(d1.requestChannelMaintenance()).rejects.toThrow(/not an integer/);
    expect(await redis.exists(`${prefix}:channel-round:asked`)).toBe(0);
    await redis.del(`${prefix}:calendar-watch:id`);
    await new Promise((r) => setTimeout(r, 60));
    await d2.requestChannelMaintenance();
    expect(await waitingRounds()).toBe(1);
  });
});
