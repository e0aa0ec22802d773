import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { CrashGuard, expectWellFormedAnswer } from '../support/fuzz-guards';
import {
  applyMutation,
  authorizationHeader,
  carriesToken,
  fieldName,
  fleetWebhookMutation,
  POLLUTION,
  policyEventMutation,
  rawRequest,
  validFleetWebhook,
  validPolicyEvent,
  type RawRequest,
} from '../support/hostile-input';
import { createLoggedApp, type LoggedApp } from '../support/logged-app';
import { changedKeys, deleteKeys, snapshotPrefix } from '../support/redis-snapshot';

/**
 * Hostile and broken input to `POST /v1/policy-events` and `POST /v1/fleet/failing-policies`, on the daemon's real
 * HTTP server (App composition root, not started: no worker takes the jobs away), real Redis and BullMQ.
 * Every answer: never a 5xx, never a crash; a 4xx is `{statusCode, code, error, message}` and a 400 names a field;
 * a rejected request changes nothing in Redis; an accepted one enqueues exactly one job per distinct event.
 */

const SEED = 20_261_122;
const RUNS = 300;
const TOKEN = randomBytes(24).toString('hex');
const EVENTS = '/v1/policy-events';
const FLEET = '/v1/fleet/failing-policies';
type Url = typeof EVENTS | typeof FLEET;

interface Sent {
  url: Url;
  /** Raw bytes (with their content type) or a value sent as JSON. */
  raw?: RawRequest;
  json?: unknown;
  authorization?: string;
}

/** Answers seen per property, for the release note ("300 runs: 212 × 400, 61 × 202 …"). */
const tally: Record<string, Record<number, number>> = {};

describe('hostile input to the ingest endpoints (fast-check, real server, Redis, BullMQ)', () => {
  let env: LoggedApp;
  let http: FastifyInstance;
  let redis: Redis;
  const guard = new CrashGuard();

  beforeAll(async () => {
    env = await createLoggedApp({ label: 'fuzz-ingest', level: 'info', env: { INGEST_TOKEN: TOKEN } });
    http = env.app.http;
    redis = env.probe.redis;
    await http.ready();
    // The queues write their metadata on first use: before the first snapshot, not during a request.
    await jobCounts();
    guard.install();
  });

  afterAll(async () => {
    guard.uninstall();
    console.info(`ingest fuzz answers (seed ${SEED}): ${JSON.stringify(tally)}`);
    await env?.stop();
  });

  afterEach(() => {
    expect(guard.crashes).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(env.logs.text()).not.toContain(TOKEN);
  });

  const inject = (s: Sent): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = {};
    if (s.authorization !== undefined) headers.authorization = s.authorization;
    const options: InjectOptions = { method: 'POST', url: s.url, headers };
    if (s.raw) {
      if (s.raw.contentType !== undefined) headers['content-type'] = s.raw.contentType;
      options.payload = s.raw.body;
    } else {
      headers['content-type'] = 'application/json';
      options.payload = JSON.stringify(s.json);
    }
    return http.inject(options);
  };

  const jobCounts = async () => {
    const queues = [env.probe.queues.policyEvents, env.probe.queues.bookings, env.probe.queues.fires, env.probe.queues.calendarSync, env.probe.queues.calendarWatch, env.probe.queues.lifecycle];
    const counts = await Promise.all(queues.map((q) => q.getJobCounts()));
    return Object.fromEntries(queues.map((q, i) => [q.name, Object.values(counts[i]).reduce((a, b) => a + b, 0)]));
  };

  /**
   * Sends one request and checks the contract. Returns the response for property-specific checks. The queue is
   * emptied after an accepted request, so every run starts from the same state.
   */
  async function sendAndCheck(property: string, s: Sent): Promise<LightMyRequestResponse> {
    const before = await snapshotPrefix(redis, env.prefix);
    const res = await inject(s);
    (tally[property] ??= {})[res.statusCode] = (tally[property][res.statusCode] ?? 0) + 1;
    expectWellFormedAnswer(res);
    const counts = await jobCounts();
    if (res.statusCode === 202) {
      const sent = s.raw ? JSON.parse(String(s.raw.body)) : s.json;
      const distinct = s.url === EVENTS ? distinctEvents(sent) : distinctHosts(sent);
      expect(res.json()).toEqual({ accepted: s.url === EVENTS ? [sent].flat().length : sent.hosts.length });
      expect(counts).toEqual({ 'policy-events': distinct, bookings: 0, fires: 0, 'calendar-sync': 0, 'calendar-watch': 0, lifecycle: 0 });
      const jobs = await env.probe.queues.policyEvents.getJobs();
      expect(jobs.every((j) => !JSON.stringify(j.data).includes('polluted'))).toBe(true);
      await deleteKeys(redis, `${env.prefix}:policy-events:*`);
    } else {
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(changedKeys(before, await snapshotPrefix(redis, env.prefix))).toEqual([]);
      expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    }
    return res;
  }

  const auth = `Bearer ${TOKEN}`;
  const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };

  it('arbitrary JSON (and valid bodies among it) to either endpoint', async () => {
    const body = fc.oneof(fc.jsonValue(), validPolicyEvent, fc.array(validPolicyEvent, { maxLength: 5 }), validFleetWebhook);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Url>(EVENTS, FLEET), body, async (url, json) => {
        await sendAndCheck('json', { url, json, authorization: auth });
      }),
      params,
    );
    expect(tally.json[202]).toBeGreaterThan(0);
    expect(tally.json[400]).toBeGreaterThan(0);
  });

  it('policy events with one field broken (alone or inside an array, duplicates included): 400 names that field', async () => {
    const request = fc.record({
      events: fc.array(validPolicyEvent, { minLength: 1, maxLength: 4 }),
      at: fc.nat(),
      asArray: fc.boolean(),
      duplicate: fc.boolean(),
      mutation: policyEventMutation,
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ events, at, asArray, duplicate, mutation }) => {
        const list = duplicate ? [...events, events[0]] : events;
        const index = at % list.length;
        const prefix = asArray ? [index] : [];
        const json = applyMutation(asArray ? list : list[0], [...prefix, ...mutation.path], mutation.value);
        const res = await sendAndCheck('policy-event', { url: EVENTS, json, authorization: auth });
        if (mutation.invalid) {
          expect(res.statusCode).toBe(400);
          expect(res.json()).toMatchObject({ code: 'INVALID_INPUT', field: fieldName([...prefix, ...mutation.field]) });
        } else {
          expect([202, 400]).toContain(res.statusCode);
        }
      }),
      params,
    );
  });

  it("Fleet's webhook with one field broken: 400 names that field", async () => {
    await fc.assert(
      fc.asyncProperty(validFleetWebhook, fleetWebhookMutation, async (body, mutation) => {
        const json = applyMutation(body, mutation.path, mutation.value);
        const res = await sendAndCheck('fleet', { url: FLEET, json, authorization: auth });
        if (mutation.invalid) {
          expect(res.statusCode).toBe(400);
          expect(res.json()).toMatchObject({ code: 'INVALID_INPUT', field: fieldName(mutation.field) });
        } else {
          expect([202, 400]).toContain(res.statusCode);
        }
      }),
      params,
    );
  });

  it('raw bytes with assorted content types (none, text/plain, multipart, binary, truncated JSON)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Url>(EVENTS, FLEET), rawRequest, async (url, raw) => {
        const res = await sendAndCheck('raw', { url, raw, authorization: auth });
        expect([202, 400, 413, 415]).toContain(res.statusCode);
      }),
      params,
    );
  });

  it('random Authorization headers: only the exact token gets in, and a 401 changes nothing', async () => {
    const body = fc.oneof(
      validPolicyEvent.map((json) => ({ url: EVENTS as Url, json })),
      validFleetWebhook.map((json) => ({ url: FLEET as Url, json })),
    );
    await fc.assert(
      fc.asyncProperty(body, authorizationHeader(TOKEN), async ({ url, json }, authorization) => {
        const res = await sendAndCheck('authorization', { url, json, authorization });
        if (carriesToken(authorization, TOKEN)) expect(res.statusCode).toBe(202);
        else expect(res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      }),
      params,
    );
  });

  it('prototype-pollution keys anywhere in a body pollute nothing and reach no job', async () => {
    const target = fc.oneof(
      validPolicyEvent.chain((e) => fc.constantFrom<Array<string | number>>([], ['host'], ['policy']).map((at) => ({ url: EVENTS as Url, body: e, at }))),
      validFleetWebhook.chain((b) => fc.constantFrom<Array<string | number>>([], ['policy'], ['hosts', 0]).map((at) => ({ url: FLEET as Url, body: b, at }))),
    );
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom(...POLLUTION), fc.boolean(), async ({ url, body, at }, pollution, merge) => {
        // Either merged into an object of the body (own "__proto__" / "constructor" keys) or replacing it.
        const json = merge ? mergeAt(body, at, pollution) : applyMutation(body, at, pollution);
        await sendAndCheck('pollution', { url, raw: { contentType: 'application/json', body: JSON.stringify(json) }, authorization: auth });
      }),
      params,
    );
  });

  it('at most 1000 events per request: 1001 is a 400, 1000 distinct ones are 1000 jobs', async () => {
    const events = fc.sample(validPolicyEvent, { numRuns: 1001, seed: SEED }).map((e, i) => ({ ...e, host: { ...e.host, id: i + 1 } }));
    const tooMany = await sendAndCheck('limits', { url: EVENTS, json: events, authorization: auth });
    expect(tooMany.json()).toMatchObject({ statusCode: 400, field: '(body)', message: '(body): must hold at most 1000 events' });
    const full = await sendAndCheck('limits', { url: EVENTS, json: events.slice(0, 1000), authorization: auth });
    expect(full.json()).toEqual({ accepted: 1000 });
  });

  it('deep nesting (100,000 levels) is a 400 or ignored, never a stack overflow', async () => {
    const json = (body: string): RawRequest => ({ contentType: 'application/json', body });
    for (const inObjects of [false, true]) {
      const deep = deepJson(100_000, inObjects);
      for (const url of [EVENTS, FLEET] as Url[]) {
        expect((await sendAndCheck('limits', { url, raw: json(deep), authorization: auth })).statusCode).toBe(400);
      }
      const event = JSON.stringify(fc.sample(validPolicyEvent, { numRuns: 1, seed: SEED })[0]);
      const unknownField = await sendAndCheck('limits', { url: EVENTS, raw: json(`{"extra":${deep},${event.slice(1)}`), authorization: auth });
      expect(unknownField.json()).toMatchObject({ statusCode: 400, field: '(body)', message: '(body): unknown field extra' });
      const fleetExtra = `{"timestamp":"2026-11-22T10:00:00Z","policy":{"id":1,"name":"p"},"hosts":[{"id":1,"deep":${deep}}]}`;
      expect((await sendAndCheck('limits', { url: FLEET, raw: json(fleetExtra), authorization: auth })).json()).toEqual({ accepted: 1 });
    }
  });
});

/** Number of distinct events by the contract's identity: type, host, policy and the instant of occurred_at. */
function distinctEvents(sent: unknown): number {
  const events = [sent].flat() as Array<{ type: string; host: { id: number }; policy: { id: number }; occurred_at: string }>;
  return new Set(events.map((e) => `${e.type}|${e.host.id}|${e.policy.id}|${Date.parse(e.occurred_at)}`)).size;
}

function distinctHosts(sent: unknown): number {
  return new Set((sent as { hosts: Array<{ id: number }> }).hosts.map((h) => h.id)).size;
}

/** The body with `extra`'s own keys (e.g. "__proto__") added to the object at `path`; a non-object replaces it. */
function mergeAt(body: unknown, path: Array<string | number>, extra: unknown): unknown {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) return applyMutation(body, path, extra);
  return Object.entries(extra).reduce((acc, [key, value]) => applyMutation(acc, [...path, key], value), body);
}

/** JSON text nested `depth` levels deep (built as text: JSON.stringify itself would overflow the stack). */
function deepJson(depth: number, inObjects: boolean): string {
  return inObjects ? `${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}
