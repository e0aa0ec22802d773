import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { WatchStore, type ChannelRecord } from '../../src/store/watch-store';
import { CrashGuard, expectWellFormedAnswer } from '../support/fuzz-guards';
import { rawRequest, type RawRequest } from '../support/hostile-input';
import { createLoggedApp, type LoggedApp } from '../support/logged-app';
import { changedKeys, deleteKeys, snapshotPrefix } from '../support/redis-snapshot';

/**
 * Forged, broken and genuine Google push notifications to `POST /v1/google/notifications`, on the daemon's real HTTP
 * server and the real CalendarWatchService (App composition root, not started), with one channel we "opened" in the
 * real WatchStore. Only a notification with our channel id AND its secret token (and, if given, its resource id)
 * enqueues a calendar sync; anything else changes nothing in Redis. Never a 5xx, never a crash.
 */

const SEED = 20_261_123;
const RUNS = 400;
const URL = '/v1/google/notifications';
/** Google's own content type for these empty-bodied POSTs. */
const GOOGLE_CONTENT_TYPE = 'application/json; utf-8';

interface Notification {
  channelId?: string;
  token?: string;
  resourceId?: string;
  resourceState?: string;
  messageNumber?: string;
  extra: Record<string, string>;
  /** Absent: Google's empty body. */
  raw?: RawRequest;
}

const tally: Record<string, number> = {};

describe('forged and genuine push notifications (fast-check, real server, watch service, Redis, BullMQ)', () => {
  let env: LoggedApp;
  let http: FastifyInstance;
  let redis: Redis;
  const guard = new CrashGuard();
  const channel: ChannelRecord = {
    channelId: `mw-${randomBytes(16).toString('hex')}`,
    resource: `res-${randomBytes(12).toString('base64url')}`,
    owner: 'watched@acme.com',
    token: randomBytes(32).toString('hex'),
    expiration: Date.now() + 86_400_000,
  };

  const syncJobs = () => env.probe.queues.calendarSync.getJobs();
  const jobCounts = async () => {
    const s = env.probe.queues;
    const queues = [s.policyEvents, s.bookings, s.fires, s.calendarSync, s.calendarWatch, s.lifecycle];
    const counts = await Promise.all(queues.map((q) => q.getJobCounts()));
    return counts.map((c) => Object.values(c).reduce((a, b) => a + b, 0));
  };

  beforeAll(async () => {
    env = await createLoggedApp({ label: 'fuzz-notify', level: 'debug' });
    http = env.app.http;
    redis = env.probe.redis;
    await http.ready();
    await new WatchStore(redis, env.prefix).saveChannel(channel);
    await jobCounts(); // the queues write their metadata on first use, not during a request
    guard.install();
  });

  afterAll(async () => {
    guard.uninstall();
    console.info(`notification fuzz answers (seed ${SEED}): ${JSON.stringify(tally)}`);
    await env?.stop();
  });

  afterEach(() => {
    expect(guard.crashes).toEqual([]);
    expect(env.logs.text()).not.toContain(channel.token);
  });

  const inject = (n: Notification): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { ...n.extra };
    const set = (name: string, value?: string) => {
      if (value !== undefined) headers[name] = value;
    };
    set('x-goog-channel-id', n.channelId);
    set('x-goog-channel-token', n.token);
    set('x-goog-resource-id', n.resourceId);
    set('x-goog-resource-state', n.resourceState);
    set('x-goog-message-number', n.messageNumber);
    if (!n.raw) return http.inject({ method: 'POST', url: URL, headers: { ...headers, 'content-type': GOOGLE_CONTENT_TYPE } });
    if (n.raw.contentType !== undefined) headers['content-type'] = n.raw.contentType;
    return http.inject({ method: 'POST', url: URL, headers, payload: n.raw.body });
  };

  /** What the verification rule says: ours, with its secret, about its resource, and not the handshake. */
  const genuine = (n: Notification) =>
    n.channelId === channel.channelId &&
    n.token === channel.token &&
    (n.resourceId === undefined || n.resourceId === channel.resource) &&
    n.resourceState !== 'sync';

  /**
   * Sends it; a genuine one must enqueue exactly one sync for the owner and touch nothing else but the owner's
   * notification count (own-write-echoes.ts), any other nothing.
   */
  async function sendAndCheck(n: Notification): Promise<LightMyRequestResponse> {
    const before = await snapshotPrefix(redis, env.prefix);
    const res = await inject(n);
    const verdict = `${res.statusCode}${res.statusCode === 204 ? (genuine(n) ? ' sync' : ' ignored') : ''}`;
    tally[verdict] = (tally[verdict] ?? 0) + 1;
    expectWellFormedAnswer(res);
    if (!n.raw) expect(res.statusCode).toBe(204);
    const changed = changedKeys(before, await snapshotPrefix(redis, env.prefix));
    if (res.statusCode === 204 && genuine(n)) {
      expect((await syncJobs()).map((j) => j.data)).toEqual([{ owner: channel.owner }]);
      const echoes = `${env.prefix}:owner:${channel.owner}:echoes`;
      expect(changed.filter((key) => !key.startsWith(`${env.prefix}:calendar-sync:`))).toEqual([echoes]);
      expect(await redis.hget(echoes, 'notifications')).toBe('1');
      await deleteKeys(redis, `${env.prefix}:calendar-sync:*`);
      await redis.del(echoes);
    } else {
      expect(changed).toEqual([]);
      expect(await jobCounts()).toEqual([0, 0, 0, 0, 0, 0]);
    }
    return res;
  }

  it('a genuine notification enqueues one sync; our channel id with a wrong token, or a made-up channel, none', async () => {
    const ours = { channelId: channel.channelId, token: channel.token, resourceId: channel.resource, resourceState: 'exists', messageNumber: '7', extra: {} };
    await sendAndCheck(ours);
    expect(tally['204 sync']).toBe(1);
    await sendAndCheck({ ...ours, token: randomBytes(32).toString('hex') });
    await sendAndCheck({ ...ours, channelId: `mw-${randomBytes(16).toString('hex')}` });
    await sendAndCheck({ ...ours, resourceId: 'someone-elses-resource' });
    await sendAndCheck({ ...ours, resourceState: 'sync' });
    expect(tally['204 ignored']).toBe(4);
  });

  it('random X-Goog-* headers and bodies: never a 5xx, a sync only for the genuine article', async () => {
    const printable = (maxLength: number) =>
      fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength });
    /** The real value (often), near misses of it, garbage, huge values, or nothing. */
    const around = (real: string, forged: fc.Arbitrary<string>) =>
      fc.oneof(
        { arbitrary: fc.constant(real), weight: 8 },
        { arbitrary: forged, weight: 2 },
        { arbitrary: fc.constant(undefined), weight: 1 },
        { arbitrary: printable(80), weight: 1 },
        { arbitrary: fc.constantFrom(`${real}x`, real.slice(0, -1), real.toUpperCase(), real.repeat(2), `${real},${real}`), weight: 1 },
        { arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => `${real}${'a'.repeat(n)}`), weight: 1 },
      );
    const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
    const notification: fc.Arbitrary<Notification> = fc.record(
      {
        channelId: around(channel.channelId, hex(16).map((h) => `mw-${h}`)),
        token: around(channel.token, hex(32)),
        resourceId: around(channel.resource, printable(30)),
        resourceState: fc.oneof(fc.constantFrom('exists', 'not_exists', 'sync', undefined), printable(20)),
        messageNumber: fc.oneof(fc.constant(undefined), fc.nat().map(String), printable(30)),
        extra: fc.dictionary(
          fc.constantFrom('x-goog-resource-uri', 'x-goog-channel-expiration', 'x-goog-changed', 'x-goog-foo', 'authorization'),
          fc.oneof(printable(100), fc.integer({ min: 1000, max: 20_000 }).map((n) => 'h'.repeat(n))),
        ),
        raw: fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: rawRequest, weight: 1 }),
      },
      { requiredKeys: ['extra'] },
    );
    await fc.assert(
      fc.asyncProperty(notification, async (n) => {
        const res = await sendAndCheck(n);
        expect([204, 400, 413, 415]).toContain(res.statusCode);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(tally['204 sync']).toBeGreaterThan(30);
    expect(tally['204 ignored']).toBeGreaterThan(100);
  });
});
