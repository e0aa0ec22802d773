import { FakeFleet } from '../support/fake-fleet';
import { addOwner, fleetHost, fleetWebhook } from '../support/fixtures';
import { ForwardProxy } from '../support/forward-proxy';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// A UTC owner, three seconds before Tuesday 09:00: booked at 09:00, fired three seconds later.
const START = '2026-11-24T09:00:00.000+00:00';

describe('outbound requests through the operator’s proxy (HTTP_PROXY, NO_PROXY)', () => {
  const proxy = new ForwardProxy({ user: 'svc-mw', password: 'p@ss word' });
  const fleet = new FakeFleet();
  const t = useDaemon(async () => {
    await proxy.start();
    await fleet.start();
    return {
      label: 'proxy',
      clock: new TestClock(Date.parse(START) - 3000),
      env: {
        // Lower-case spellings are read too; Fleet is reached directly.
        http_proxy: proxy.url,
        NO_PROXY: new URL(fleet.url).host,
        FLEET_URL: fleet.url,
        FLEET_API_TOKEN: fleet.apiToken,
        GOOGLE_DOMAIN: 'acme.com',
      },
    };
  });
  afterAll(async () => {
    await fleet.close();
    await proxy.close();
  });

  it('books through the proxy (token, calendar read, freeBusy, insert), fires the webhook through it, skips NO_PROXY hosts', async () => {
    const owner = addOwner(t, 'proxied@acme.com');
    const host = fleetHost(601, [owner], { hostname: 'p601', display_name: 'Proxied Mac' });
    fleet.hosts.set(host.id, host);
    const res = await t.daemon.post(
      '/v1/fleet/failing-policies',
      fleetWebhook([host], {
        timestamp: '2026-11-24T08:59:00Z',
        policy: { id: 9, name: 'Disk encryption', description: 'Why', resolution: 'What', query: 'SELECT 1;', critical: false },
      }),
    );
    expect(res.status).toBe(202);
    const booked = await t.daemon.waitForStatus(601, 'booked');
    expect(booked.start).toBe(START);
    await t.daemon.waitForStatus(601, 'fired', 10_000);
    await waitFor(() => t.env.webhook.requests.length === 1, { what: 'resolution webhook' });

    const google = new URL(t.env.emulator.baseUrl).host;
    const webhook = new URL(t.env.webhook.url).host;
    expect(proxy.targets()).toEqual(new Set([google, webhook]));
    // Every Google call, the token request included, came in on a connection the proxy opened.
    const calls = t.env.emulator.calls.filter((c) => c.owner === owner);
    expect(calls.map((c) => c.method)).toEqual(expect.arrayContaining(['token', 'events.list', 'freebusy.query', 'events.insert']));
    for (const call of calls) expect({ method: call.method, viaProxy: proxy.upstreamPorts.has(call.peerPort ?? -1) }).toEqual({ method: call.method, viaProxy: true });
    // With the credentials from the proxy URL.
    expect(proxy.requests.every((r) => r.authorization === `Basic ${Buffer.from('svc-mw:p@ss word').toString('base64')}`)).toBe(true);
    // Fleet is in NO_PROXY: asked directly.
    expect(fleet.requests).toEqual(expect.arrayContaining(['GET /api/v1/fleet/hosts/601', 'GET /api/v1/fleet/hosts/601/device_mapping']));
  });
});
