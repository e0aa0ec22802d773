import type { FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { buildHttpServer } from '../../src/http/server';
import { createLogger } from '../../src/lib/logger';
import { systemClock } from '../../src/lib/clock';
import type { CalendarNotification } from '../../src/ports/calendar';
import type { NotificationVerdict } from '../../src/services/calendar-watch-service';
import { validateEndpoint } from '../../src/sandbox/graph-emulator/validation-handshake';
import { InMemoryRemediationStore } from '../support/in-memory-remediation-store';

/**
 * The Graph notification routes in-process (Fastify inject), plus the emulator's own validation client against a
 * listening server: the handshake, batches handed over item by item, lifecycle events mapped, bad bodies refused
 * with the field named, and 503 when storing fails or is too slow (Graph then delivers again).
 */
describe('Microsoft Graph notification routes', () => {
  let app: FastifyInstance;
  let received: CalendarNotification[] = [];
  let behaviour: 'ok' | 'fail' | 'slow' = 'ok';

  beforeAll(async () => {
    app = await buildHttpServer({
      logger: createLogger('silent'),
      store: new InMemoryRemediationStore(),
      clock: systemClock,
      tokens: { ingest: 'ingest-token-0123456789', admin: 'admin-token-0123456789' },
      enqueue: async () => undefined,
      graphAnswerWithinMs: 200,
      notify: async (n): Promise<NotificationVerdict> => {
        if (behaviour === 'fail') throw new Error('redis down');
        if (behaviour === 'slow') await new Promise((r) => setTimeout(r, 1000));
        received.push(n);
        return n.secret === 'right' ? { kind: 'sync', owner: 'ann@acme.com' } : { kind: 'ignored', reason: 'wrong channel token', owner: 'ann@acme.com' };
      },
      ready: async () => ({ ready: true, checks: { redis: true } }),
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => {
    received = [];
    behaviour = 'ok';
  });

  const token = 'Validation: Testing client application reachability for subscription Request-Id: 1b2f…';

  it.each(['/v1/microsoft/notifications', '/v1/microsoft/lifecycle'])('%s answers the validation handshake with the decoded token as text/plain, without a bearer token', async (url) => {
    const res = await app.inject({
      method: 'POST',
      url: `${url}?validationToken=${encodeURIComponent(token)}`,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe(token);
    expect(received).toEqual([]);
  });

  it('passes the handshake Graph itself performs (the emulator\'s validation client, over a socket)', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const dispatcher = new Agent();
    try {
      for (const path of ['/v1/microsoft/notifications', '/v1/microsoft/lifecycle']) {
        await expect(validateEndpoint(`${address}${path}`, { timeoutMs: 10_000, dispatcher, signal: new AbortController().signal })).resolves.toBeUndefined();
      }
    } finally {
      await dispatcher.close();
    }
  });

  it('hands every change notification of a batch over (subscription id and clientState), then answers 202', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/microsoft/notifications',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: {
        value: [
          { subscriptionId: 's-1', clientState: 'right', changeType: 'updated', resource: 'Users/u1/Events/e1', tenantId: 't' },
          { subscriptionId: 's-2', clientState: 'forged', changeType: 'deleted', resource: 'Users/u2/Events/e2' },
          { subscriptionId: 's-3', changeType: 'created' },
        ],
      },
    });
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    expect(received).toEqual([
      { subscriptionId: 's-1', secret: 'right', kind: 'changed' },
      { subscriptionId: 's-2', secret: 'forged', kind: 'changed' },
      { subscriptionId: 's-3', secret: undefined, kind: 'changed' },
    ]);
  });

  it('maps each lifecycle event to its notification kind', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/microsoft/lifecycle',
      payload: {
        value: [
          { subscriptionId: 's-1', clientState: 'right', lifecycleEvent: 'reauthorizationRequired' },
          { subscriptionId: 's-1', clientState: 'right', lifecycleEvent: 'missed' },
          { subscriptionId: 's-1', clientState: 'right', lifecycleEvent: 'subscriptionRemoved' },
        ],
      },
    });
    expect(res.statusCode).toBe(202);
    expect(received.map((n) => n.kind)).toEqual(['reauthorize', 'missed', 'removed']);
  });

  it.each([
    ['/v1/microsoft/notifications', 'value.0.subscriptionId', { value: [{ clientState: 'x' }] }],
    ['/v1/microsoft/notifications', 'value', { value: [] }],
    ['/v1/microsoft/notifications', 'value', { value: 'nope' }],
    ['/v1/microsoft/notifications', 'body', [1, 2]],
    ['/v1/microsoft/notifications', 'value.0.clientState', { value: [{ subscriptionId: 's', clientState: 'x'.repeat(300) }] }],
    ['/v1/microsoft/lifecycle', 'value.0.lifecycleEvent', { value: [{ subscriptionId: 's', lifecycleEvent: 'exploded' }] }],
  ])('%s refuses a body with a bad %s (400 naming it, nothing handed over)', async (url, field, payload) => {
    const res = await app.inject({ method: 'POST', url, payload: payload as object });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_INPUT', field });
    expect(received).toEqual([]);
  });

  it('refuses an empty body (no handshake token) with 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/microsoft/notifications', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'body' });
  });

  it('refuses an oversized validation token with 400', async () => {
    const res = await app.inject({ method: 'POST', url: `/v1/microsoft/notifications?validationToken=${'a'.repeat(2000)}`, payload: '' , headers: { 'content-type': 'text/plain' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'validationToken' });
  });

  it('answers 503 when the notifications could not be stored, so that Graph delivers them again', async () => {
    behaviour = 'fail';
    const res = await app.inject({ method: 'POST', url: '/v1/microsoft/notifications', payload: { value: [{ subscriptionId: 's-1', clientState: 'right' }] } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('answers 503 within the answer time when storing is too slow (Graph throttles endpoints slower than 3 s)', async () => {
    behaviour = 'slow';
    const started = Date.now();
    const res = await app.inject({ method: 'POST', url: '/v1/microsoft/lifecycle', payload: { value: [{ subscriptionId: 's-1', clientState: 'right', lifecycleEvent: 'missed' }] } });
    expect(res.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
