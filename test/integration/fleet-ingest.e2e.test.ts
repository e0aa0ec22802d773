import { DaemonClient } from '../support/daemon-client';
import { FakeFleet } from '../support/fake-fleet';
import { addOwner, fleetHost, fleetWebhook, withTokens } from '../support/fixtures';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const TOKEN = 'ingest-token-for-fleet-tests';

describe("Fleet's failing-policies webhook, with owners from the Fleet API", () => {
  const fleet = new FakeFleet();
  const t = withTokens(
    useDaemon(async () => {
      await fleet.start();
      return {
        label: 'fleet',
        clock: new TestClock('2026-11-23T12:00:00Z'),
        env: { FLEET_URL: fleet.url, FLEET_API_TOKEN: fleet.apiToken, GOOGLE_DOMAIN: 'acme.com', INGEST_TOKEN: TOKEN },
      };
    }),
    { ingest: TOKEN },
  );
  afterAll(() => fleet.close());

  it('books the identity-provider owner of each host, with the serial number from Fleet', async () => {
    const victor = fleetHost(
      11058,
      [
        'victor.personal@gmail.com',
        { email: 'assistant@acme.com', source: 'custom' },
        { email: 'victor@acme.com', source: 'google_chrome_profiles' },
        'v@acme.com',
      ],
      { hostname: 'victor-vm', display_name: "Victor's Virtual Machine", hardware_serial: 'Z5C4L7GKY0', team_id: 3 },
    );
    fleet.hosts.set(victor.id, victor);
    addOwner(t, 'v@acme.com', 'America/Chicago');
    const res = await t.daemon.post('/v1/fleet/failing-policies', fleetWebhook([victor]));
    expect(res).toEqual({ status: 202, body: { accepted: 1 } });
    const r = await t.daemon.waitForStatus(11058, 'booked');
    expect(r.email).toBe('v@acme.com');
    expect(r.host_display_name).toBe("Victor's Virtual Machine");
    expect(r.start).toBe('2026-11-24T09:00:00.000-06:00');
    expect(fleet.requests).toEqual(expect.arrayContaining(['GET /api/v1/fleet/hosts/11058', 'GET /api/v1/fleet/hosts/11058/device_mapping']));
    const event = t.env.emulator.events('v@acme.com')[0];
    expect(event.description).toContain('Old macOS versions have known security holes.');
  });

  it('keeps hosts without a domain email, or unknown to Fleet, as unassigned with the reason', async () => {
    const kiosk = fleetHost(2001, [{ email: 'someone@gmail.com', source: 'custom' }], { hostname: 'kiosk', display_name: 'Lobby kiosk', hardware_serial: 'K1', team_id: null });
    fleet.hosts.set(kiosk.id, kiosk);
    await t.daemon.post('/v1/fleet/failing-policies', fleetWebhook([kiosk, { id: 2002, hostname: 'ghost', display_name: 'Ghost' }]));
    const unassigned = await t.daemon.waitForStatus(2001, 'unassigned');
    expect(unassigned.reason).toBe('no owner email at acme.com (found: someone@gmail.com)');
    const ghost = await t.daemon.waitForStatus(2002, 'unassigned');
    expect(ghost.reason).toBe('host 2002 not found in Fleet');
  });

  it('keeps the host visible as unassigned while the Fleet API is down, retries, and books once it is back', async () => {
    const late = fleetHost(2003, ['late@acme.com'], { hostname: 'late', display_name: 'Late laptop', hardware_serial: 'L1' });
    fleet.hosts.set(late.id, late);
    fleet.failWith = 503;
    await t.daemon.post('/v1/fleet/failing-policies', fleetWebhook([late]));
    // Not dropped: unassigned with the reason while the job is retried.
    const waiting = await t.daemon.waitForStatus(2003, 'unassigned');
    // (host details and device mapping are asked at once: either may be the one reported)
    expect(waiting.reason).toMatch(/^owner not known yet: Fleet API answered 503 for \/api\/v1\/fleet\/hosts\/2003(\/device_mapping)?; retrying$/);
    await waitFor(() => fleet.requests.filter((r) => r === 'GET /api/v1/fleet/hosts/2003').length >= 3, { what: 'Fleet retries' });
    fleet.failWith = null;
    const r = await t.daemon.waitForStatus(2003, 'booked', 15_000);
    expect(r.email).toBe('late@acme.com');
  });

  it('requires the ingest token', async () => {
    const anonymous = new DaemonClient(t.env.url);
    const res = await anonymous.post('/v1/fleet/failing-policies', fleetWebhook([{ id: 9, hostname: 'x', display_name: 'x' }]));
    expect(res.status).toBe(401);
  });
});
