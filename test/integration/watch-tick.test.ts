/**
 * The watch tick (channel round, stranded deliveries, lifecycle dispatch, poll) on real Redis and real BullMQ
 * workers, with services that record what they were asked: a channel round that fails does not keep the poll —
 * the safety net for lost push notifications — from running.
 */
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE } from '../../src/jobs/queue-names';
import { Workers, type WorkerServices } from '../../src/jobs/workers';
import { createLogger } from '../../src/lib/logger';
import { LogCapture } from '../support/log-capture';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

describe('the watch tick', () => {
  const prefix = uniquePrefix('watch-tick');
  let connection: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let workers: Workers;
  const logs = new LogCapture();
  const asked: string[] = [];

  beforeAll(async () => {
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUE.calendarWatch, { connection, prefix });
    events = new QueueEvents(QUEUE.calendarWatch, { connection: { url: TEST_REDIS_URL }, prefix });
    await events.waitUntilReady();
    const services = {
      watch: {
        maintainChannels: async () => {
          asked.push('channel round');
          throw new Error('channel lock busy');
        },
        pollDue: async () => {
          asked.push('poll');
          return ['lost@acme.com'];
        },
      },
      fires: {
        recoverStranded: async () => {
          asked.push('stranded');
          return 0;
        },
        claimArmed: async () => ({ taken: 0, sending: Promise.resolve() }),
      },
      lifecycle: {
        dispatch: async () => {
          asked.push('lifecycle');
          return 0;
        },
      },
    } as unknown as WorkerServices;
    const scheduler = { promoteDueTimers: async () => 0, channelRoundStarting: async () => undefined };
    workers = new Workers({ url: TEST_REDIS_URL }, prefix, services, createLogger('debug', logs), scheduler);
    workers.start();
  });

  afterAll(async () => {
    await workers.close();
    await events.close();
    await queue.close();
    connection.disconnect();
    await deletePrefix(prefix);
  });

  it('polls even when the channel round fails, and the tick is recorded as failed with that error', async () => {
    const job = await queue.add('watch-tick', {}, { removeOnFail: { count: 10 } });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow('channel lock busy');
    expect(asked).toEqual(['channel round', 'stranded', 'lifecycle', 'poll']);
    expect(logs.atLeast(50).filter((l) => l.msg === 'watch tick: a step failed (the others ran)').map((l) => l.step)).toEqual(['channel round']);
  });
});
