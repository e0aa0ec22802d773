import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { TEST_TOKENS, policyEvent } from '../support/daemon-client';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';

/** What an operator watches the daemon with: metrics, the OpenAPI document, the queue dashboard. */
describe('operations: /metrics, /openapi.json and /docs, /admin/queues', () => {
  const clock = new TestClock('2026-11-24T08:59:57Z');
  const t = useDaemon({ label: 'operations', clock });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${t.env.url}${path}`, { headers });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  it('exposes Prometheus metrics of what happened, with no owner or host in any label', async () => {
    const owner = 'metrics-owner@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    // Three seconds before a Tuesday 09:00 slot, set now (a slow start-up must not eat into them).
    clock.set('2026-11-24T08:59:57Z');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 9001, emails: [owner], display_name: 'Secret Host Name' }));
    await t.daemon.waitForStatus(9001, 'fired', 10_000);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const value = (line: string) => Number(res.text.split('\n').find((l) => l.startsWith(line))?.split(' ').pop());
    expect(value('mw_bookings_total')).toBe(1);
    expect(value('mw_fires_total{actor="system"}')).toBe(1);
    expect(value('mw_delivery_attempts_total{webhook="resolution",outcome="delivered"}')).toBe(1);
    expect(value('mw_lifecycle_events_total{type="window.started"}')).toBe(1);
    expect(value('mw_fire_lateness_seconds_count')).toBe(1);
    expect(value('mw_remediations{status="fired"}')).toBe(1);
    expect(value('mw_google_calls_total{method="events.insert",status="200"}')).toBe(1);
    expect(value('mw_redis_up')).toBe(1);
    expect(res.text).toMatch(/mw_queue_jobs\{queue="fires",state="delayed"\} \d+/);
    expect(res.text).toMatch(/mw_queue_jobs\{queue="window-timers",state="delayed"\} \d+/);
    // Labels carry statuses, methods and outcomes only: no owner, host id or host name in any label value.
    const labelValues = [...res.text.matchAll(/\{([^}]*)\}/g)].flatMap(([, set]) => [...set.matchAll(/="([^"]*)"/g)].map(([, v]) => v));
    expect(labelValues.length).toBeGreaterThan(20);
    for (const secret of [owner, '9001', 'Secret Host Name']) expect(labelValues.filter((v) => v.includes(secret))).toEqual([]);
    expect(res.text).not.toContain(owner);
  });

  it('documents every route of the HTTP API in OpenAPI 3, with a UI at /docs', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    const spec = JSON.parse(res.text) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(spec.openapi).toMatch(/^3\./);
    // Every route the source declares, found independently of the generator: a route left out fails here.
    const dir = join(__dirname, '../../src/http');
    const declared = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/app\.(get|post|put|patch|delete)(?:<[^>]*>)?\(\s*'([^']+)'/g)])
      .map(([, method, path]) => [method, path.replace(/:([A-Za-z_]+)/g, '{$1}')] as const)
      .filter(([, path]) => path !== '/openapi.json');
    expect(declared.length).toBeGreaterThan(12);
    const missing = declared.filter(([method, path]) => !spec.paths[path]?.[method]).map(([m, p]) => `${m.toUpperCase()} ${p}`);
    expect(missing).toEqual([]);
    expect(spec.paths['/v1/remediations']?.get).toMatchObject({ security: [{ admin: [] }] });
    const ui = await get('/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('shows the queues in bull-board behind the admin token (Bearer, or Basic from a browser)', async () => {
    const none = await get('/admin/queues');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Basic');
    expect((await get('/admin/queues', { authorization: `Bearer ${TEST_TOKENS.ingest}` })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`admin:${TEST_TOKENS.admin}`).toString('base64')}`;
    const page = await get('/admin/queues', { authorization: basic });
    expect(page.status).toBe(200);
    expect(page.text.toLowerCase()).toContain('<html');
    const api = await get('/admin/queues/api/queues', { authorization: `Bearer ${TEST_TOKENS.admin}` });
    expect(api.status).toBe(200);
    const names = (JSON.parse(api.text) as { queues: Array<{ name: string }> }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['bookings', 'calendar-sync', 'calendar-watch', 'fires', 'fleet-sync', 'lifecycle', 'policy-events']);
  });
});
