import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { createLogger } from '../../src/lib/logger';
import { policyEvent } from '../support/daemon-client';
import { FakeFleet } from '../support/fake-fleet';
import { addOwner, fleetHost, fleetWebhook, withTokens } from '../support/fixtures';
import { LogCapture } from '../support/log-capture';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

/**
 * A whole daemon at `trace` level, its log captured, taken through a booking (with Google faults on the way), a
 * Fleet webhook (with a Fleet outage on the way), a wrong ingest token and forged push notifications: the log holds
 * none of the secrets — the service-account key, access tokens, the ingest and Fleet tokens, the webhook secret,
 * channel tokens, Authorization headers.
 */

const INGEST_TOKEN = randomBytes(24).toString('hex');
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const OWNER = 'logged@acme.com';
const FLEET_OWNER = 'fleet-logged@acme.com';

describe('no secret reaches the logs of a running daemon', () => {
  const fleet = new FakeFleet(randomBytes(24).toString('hex'));
  // Every line the daemon logs, at trace level.
  const logs = new LogCapture();
  const t = withTokens(
    useDaemon(async () => {
      await fleet.start();
      return {
        label: 'redaction',
        clock: new TestClock('2026-11-23T12:00:00Z'),
        logger: createLogger('trace', logs),
        env: { INGEST_TOKEN, WEBHOOK_SECRET, FLEET_URL: fleet.url, FLEET_API_TOKEN: fleet.apiToken, GOOGLE_DOMAIN: 'acme.com' },
      };
    }),
    { ingest: INGEST_TOKEN },
  );
  afterAll(() => fleet.close());

  it('books, survives faults, refuses a wrong token and forged notifications, and logs no secret', async () => {
    // A booking with a token failure and a freeBusy outage on the way (both retried and logged).
    addOwner(t, OWNER);
    t.env.emulator.injectFault({ method: 'token', status: 500, times: 1 });
    t.env.emulator.injectFault({ method: 'freebusy.query', status: 503, times: 1 });
    expect((await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 9001, emails: [OWNER] }))).status).toBe(202);
    await t.daemon.waitForStatus(9001, 'booked');
    const channel = await waitFor(() => t.env.emulator.channels().find((c) => c.owner === OWNER), { what: 'push channel' });

    // Fleet's webhook while Fleet's API is down for a moment: the job fails (logged) and is retried.
    addOwner(t, FLEET_OWNER);
    const host = fleetHost(9002, [{ email: FLEET_OWNER, source: 'google_chrome_profiles' }], { hostname: 'mac-9002', display_name: 'Mac 9002', hardware_serial: 'S9002', team_id: null });
    fleet.hosts.set(host.id, host);
    fleet.failWith = 503;
    const webhook = fleetWebhook([host], { timestamp: '2026-11-23T11:00:00Z', policy: { id: 77, name: 'Firewall on' } });
    expect((await t.daemon.post('/v1/fleet/failing-policies', webhook)).status).toBe(202);
    await waitFor(() => fleet.requests.length > 0, { what: 'a request to Fleet' });
    fleet.failWith = null;
    await t.daemon.waitForStatus(9002, 'booked');

    // A wrong ingest token, and forged notifications: our channel id with a wrong token, a made-up channel.
    const wrong = await request(`${t.env.url}/v1/policy-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN.slice(1)}x` },
      body: JSON.stringify(policyEvent('policy_failing', { id: 9003, emails: [OWNER] })),
    });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
    for (const forged of [
      { 'x-goog-channel-id': channel.id, 'x-goog-channel-token': randomBytes(32).toString('hex'), 'x-goog-resource-state': 'exists' },
      { 'x-goog-channel-id': 'mw-forged', 'x-goog-channel-token': channel.token, 'x-goog-resource-state': 'exists' },
    ]) {
      const res = await request(`${t.env.url}/v1/google/notifications`, { method: 'POST', headers: { ...forged, authorization: `Bearer ${randomBytes(8).toString('hex')}` } });
      expect(res.statusCode).toBe(204);
      await res.body.dump();
    }

    const text = logs.text();
    // The flow really was logged: faults, the Fleet outage, the forged notifications.
    expect(text).toContain('Google Calendar call failed: retrying');
    expect(text).toContain('job failed');
    expect(text).toContain('push notification ignored');
    expect(text).toContain('policy events accepted');
    // …and no secret.
    const keyBody = t.env.key.private_key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
    for (const secret of [INGEST_TOKEN, WEBHOOK_SECRET, fleet.apiToken, channel.token, ...keyBody]) expect(text).not.toContain(secret);
    expect(text).not.toContain('Bearer ');
    expect(text).not.toContain('ya29.');
    expect(text).not.toContain('PRIVATE KEY');
  });
});
