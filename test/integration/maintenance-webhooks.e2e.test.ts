/**
 * Maintenance policies' resolution_webhook_url end to end: a host failing policies whose URLs differ gets one
 * delivery per URL, each Fleet's exact payload listing its own policies, under its own webhook-id; a host whose
 * policies all go to RESOLUTION_WEBHOOK_URL gets the one usual request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyEvent } from '../support/daemon-client';
import { addOwner } from '../support/fixtures';
import { HttpRecorder } from '../support/http-recorder';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const MONDAY_NOON = '2026-11-23T12:00:00Z';

describe('resolution webhooks per URL (maintenance policies)', () => {
  const clock = new TestClock(MONDAY_NOON);
  const dir = mkdtempSync(join(tmpdir(), 'mw-webhooks-'));
  const other = new HttpRecorder();
  const t = useDaemon(async () => {
    await other.start();
    const file = join(dir, 'maintenance.yaml');
    writeFileSync(file, `policies:\n  "15": { resolution_webhook_url: "${other.url}/patching" }\n`);
    return { label: 'policy-webhooks', clock, env: { MAINTENANCE_CONFIG_FILE: file } };
  });
  afterAll(async () => {
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const failing = async (hostId: number, owner: string, policyId: number) => {
    const res = await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: hostId, emails: [owner] }, { id: policyId, name: `Policy ${policyId}` }));
    expect(res.status).toBe(202);
  };
  const resolutionsFor = (recorder: HttpRecorder, hostId: number) => recorder.requests.filter((q) => (q.body as { host_id?: number }).host_id === hostId);

  it('two URLs → two deliveries, each with its own policies, each exactly Fleet’s payload', async () => {
    const owner = addOwner(t, 'two.urls@acme.com', 'UTC');
    await failing(601, owner, 7);
    await t.daemon.waitForStatus(601, 'booked');
    await failing(601, owner, 15);
    await waitFor(async () => (await t.daemon.remediations({ host_id: 601 }))[0].policies.length === 2, { what: 'both policies' });
    const [r] = await t.daemon.remediations({ host_id: 601 });
    const fired = await t.daemon.post(`/v1/remediations/${r.id}/fire-now`, {});
    expect(fired.status).toBe(200);
    await t.daemon.waitForStatus(601, 'fired');

    const main = resolutionsFor(t.env.webhook, 601);
    const patching = resolutionsFor(other, 601);
    expect(main).toHaveLength(1);
    expect(patching).toHaveLength(1);
    expect(main[0].url).toBe('/resolution');
    expect(patching[0].url).toBe('/patching');
    for (const [req, policies] of [
      [main[0], [{ id: 7, name: 'Policy 7' }]],
      [patching[0], [{ id: 15, name: 'Policy 15' }]],
    ] as const) {
      const body = req.body as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['failing_policies', 'host_display_name', 'host_id', 'host_serial_number', 'timestamp']);
      expect(body).toMatchObject({ host_id: 601, host_display_name: 'Laptop 601', host_serial_number: 'SN601', failing_policies: policies });
    }
    expect(main[0].headers['webhook-id']).not.toBe(patching[0].headers['webhook-id']);
  });

  it('policies all on RESOLUTION_WEBHOOK_URL → the one usual request', async () => {
    const owner = addOwner(t, 'one.url@acme.com', 'UTC');
    await failing(602, owner, 7);
    const r = await t.daemon.waitForStatus(602, 'booked');
    expect((await t.daemon.post(`/v1/remediations/${r.id}/fire-now`, {})).status).toBe(200);
    await t.daemon.waitForStatus(602, 'fired');
    expect(resolutionsFor(t.env.webhook, 602)).toHaveLength(1);
    expect(resolutionsFor(other, 602)).toHaveLength(0);
    expect((resolutionsFor(t.env.webhook, 602)[0].body as { failing_policies: unknown }).failing_policies).toEqual([{ id: 7, name: 'Policy 7' }]);
  });
});
