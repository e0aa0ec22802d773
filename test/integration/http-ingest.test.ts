import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer, BODY_LIMIT_BYTES } from '../../src/http/server';
import { BullmqScheduler } from '../../src/jobs/bullmq-scheduler';
import { createLogger } from '../../src/lib/logger';
import { systemClock } from '../../src/lib/clock';
import { RemediationStore } from '../../src/store/remediation-store';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const TOKEN = 'ingest-token-0123456789';
const event = {
  type: 'policy_failing',
  host: { id: 42, display_name: "Victor's Mac", serial_number: 'Z5C4', emails: ['victor@acme.com'], team_id: 1 },
  policy: { id: 7, name: 'Disk encryption enabled', description: 'Why', resolution: 'How' },
  occurred_at: '2026-11-22T10:00:00Z',
};
const fleetBody = {
  timestamp: '2024-03-28T13:57:31.668954-05:00',
  policy: { id: 479, name: 'macOS - OS version up to date', query: 'SELECT 1;', description: 'd', resolution: 'r', critical: false },
  hosts: [
    { id: 1, hostname: 'a', display_name: 'A', url: 'https://fleet/hosts/1' },
    { id: 2, hostname: 'b', display_name: 'B', url: 'https://fleet/hosts/2' },
  ],
};

describe('HTTP ingest (Fastify inject, real BullMQ queue)', () => {
  const prefix = uniquePrefix('http');
  let redis: Redis;
  let scheduler: BullmqScheduler;
  let app: FastifyInstance;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    scheduler = new BullmqScheduler(redis, prefix, systemClock);
    app = await buildHttpServer({
      logger: createLogger('silent'),
      store: new RemediationStore(redis, prefix),
      clock: systemClock,
      tokens: { ingest: TOKEN },
      enqueue: (events) => scheduler.enqueuePolicyEvents(events),
      notify: async () => ({ kind: 'ignored', reason: 'notifications are tested in the watcher tests' }),
      ready: async () => ({ ready: true, checks: { redis: true, workers: true } }),
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await scheduler.close();
    redis.disconnect();
    await deletePrefix(prefix);
  });

  beforeEach(async () => {
    await scheduler.policyEvents.obliterate({ force: true });
  });

  const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: 'POST', url, payload: payload as object, headers });

  it('accepts one event with 202 and puts it on the policy-events queue, named after its type', async () => {
    const res = await post('/v1/policy-events', event);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 1 });
    const jobs = await scheduler.policyEvents.getJobs(['waiting']);
    expect(jobs.map((j) => [j.name, j.data])).toEqual([['policy_failing', event]]);
  });

  it('accepts an array, and the same event twice is one job', async () => {
    const passing = { ...event, type: 'policy_passing', occurred_at: '2026-11-22T11:00:00Z' };
    expect((await post('/v1/policy-events', [event, passing])).json()).toEqual({ accepted: 2 });
    expect((await post('/v1/policy-events', event)).statusCode).toBe(202);
    expect(await scheduler.policyEvents.getWaitingCount()).toBe(2);
  });

  it("turns Fleet's webhook into one policy_failing job per host", async () => {
    const res = await post('/v1/fleet/failing-policies', fleetBody);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 2 });
    const jobs = await scheduler.policyEvents.getJobs(['waiting']);
    expect(jobs.map((j) => j.data.host.id).sort()).toEqual([1, 2]);
    expect(jobs.every((j) => j.name === 'policy_failing' && j.data.host.emails === undefined)).toBe(true);
  });

  it.each([
    ['/v1/policy-events', { ...event, host: { ...event.host, id: 'x' } }, 'host.id'],
    ['/v1/policy-events', { ...event, type: 'nope' }, 'type'],
    ['/v1/policy-events', { ...event, occurred_at: 'soon' }, 'occurred_at'],
    ['/v1/policy-events', [event, { ...event, policy: { id: 1 } }], '[1].policy.name'],
    ['/v1/fleet/failing-policies', { ...fleetBody, hosts: [{ id: 0 }] }, 'hosts[0].id'],
    ['/v1/fleet/failing-policies', { ...fleetBody, policy: undefined }, 'policy'],
  ])('%s answers 400 naming the field (%#) and enqueues nothing', async (url, body, field) => {
    const res = await post(url, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', field });
    expect(res.json().message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
    expect(await scheduler.policyEvents.getWaitingCount()).toBe(0);
  });

  it('answers 400 to malformed JSON and an empty body', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v1/policy-events', payload: '{"type":', headers: { ...auth, 'content-type': 'application/json' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_JSON');
    const empty = await app.inject({ method: 'POST', url: '/v1/policy-events', payload: '', headers: { ...auth, 'content-type': 'application/json' } });
    expect(empty.statusCode).toBe(400);
  });

  it('answers 401 without the token or with a wrong one', async () => {
    expect((await post('/v1/policy-events', event, {})).statusCode).toBe(401);
    expect((await post('/v1/policy-events', event, { authorization: 'Bearer wrong-token-0123456789' })).statusCode).toBe(401);
    expect((await post('/v1/fleet/failing-policies', fleetBody, { authorization: TOKEN })).statusCode).toBe(401);
    expect(await scheduler.policyEvents.getWaitingCount()).toBe(0);
  });

  it('answers 413 to an oversized body', async () => {
    const huge = { ...event, policy: { ...event.policy, description: 'x'.repeat(BODY_LIMIT_BYTES) } };
    const res = await post('/v1/policy-events', huge);
    expect(res.statusCode).toBe(413);
    expect(await scheduler.policyEvents.getWaitingCount()).toBe(0);
  });

  it('validates the remediations query', async () => {
    expect((await app.inject({ url: '/v1/remediations?host_id=abc' })).json()).toMatchObject({ statusCode: 400, field: 'host_id' });
    expect((await app.inject({ url: '/v1/remediations?status=done' })).json()).toMatchObject({ statusCode: 400, field: 'status' });
    expect((await app.inject({ url: '/v1/remediations?email=nope' })).json()).toMatchObject({ statusCode: 400, field: 'email' });
    expect((await app.inject({ url: '/v1/remediations?colour=red' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/remediations?from=yesterday' })).json()).toMatchObject({ statusCode: 400, field: 'from' });
    expect((await app.inject({ url: '/v1/remediations?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z' })).json()).toMatchObject({ field: 'to' });
    expect((await app.inject({ url: '/v1/remediations?cursor=bm9wZQ' })).json()).toMatchObject({ statusCode: 400, field: 'cursor' });
    expect((await app.inject({ url: '/v1/remediations?limit=0' })).json()).toMatchObject({ statusCode: 400, field: 'limit' });
    expect((await app.inject({ url: '/v1/events?after=abc' })).json()).toMatchObject({ statusCode: 400, field: 'after' });
    expect((await app.inject({ url: '/v1/events?type=window.exploded' })).json()).toMatchObject({ statusCode: 400, field: 'type' });
    expect((await app.inject({ url: '/v1/hosts/x/maintenance' })).json()).toMatchObject({ statusCode: 400, field: 'id' });
    expect((await app.inject({ url: '/v1/remediations/h1-1' })).json()).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    const ok = await app.inject({ url: '/v1/remediations?host_id=42&team_id=3&policy_id=7' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ remediations: [], next: null });
  });

  it('answers health and unknown routes', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const missing = await app.inject({ url: '/v2/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('NOT_FOUND');
  });
});

describe('HTTP ingest when Redis is unreachable', () => {
  it('answers 503, never 202 for something not stored', async () => {
    // A real Redis client whose server is gone: every write is refused at once.
    const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const app = await buildHttpServer({
      logger: createLogger('silent'),
      store: new RemediationStore(dead, '{dead}'),
      clock: systemClock,
      tokens: {},
      enqueue: async (events) => {
        await dead.lpush('{dead}:events', ...events.map((e) => JSON.stringify(e)));
      },
      notify: async () => ({ kind: 'ignored', reason: 'notifications are tested in the watcher tests' }),
      ready: async () => ({ ready: false, checks: { redis: false, workers: false } }),
    });
    const res = await app.inject({ method: 'POST', url: '/v1/policy-events', payload: event });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('UNAVAILABLE');
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    await app.close();
    dead.disconnect();
  });
});
