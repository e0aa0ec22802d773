/**
 * Timeouts on writes: an insert that times out on our side may still have been carried out by Google. The retry
 * then meets the event (409) and adopts it: exactly one event per booking, because the event id is ours.
 * A proxy between the gateway and the Calendar emulator holds 30 % of the insert answers past the timeout.
 */
import { GoogleCalendarGateway } from '../../src/google/google-calendar-gateway';
import { LossyProxy } from '../support/lossy-proxy';
import { GatewayFixture, newEvent } from './google-calendar-gateway-fixture';

const fx = new GatewayFixture();
let proxy: LossyProxy;
beforeAll(async () => {
  await fx.start();
  proxy = await new LossyProxy(fx.baseUrl, {
    holdMs: 1200,
    probability: 0.3,
    matches: (req) => req.method === 'POST' && /\/calendars\/primary\/events(\?|$)/.test(req.url ?? ''),
  }).start();
});
afterAll(async () => {
  await proxy.close();
  await fx.stop();
});

it('leaves exactly one event per owner when 30 % of insert answers arrive after the client gave up', async () => {
  const owners = Array.from({ length: 30 }, () => fx.owner('slow'));
  // Each attempt is held with a 30 % chance: with the default 6 attempts some owner of 30 runs out of attempts in
  // about 2 % of runs (0.3^6 · 30), so allow 12. The timeout leaves room for a busy machine's unheld answers.
  const gateway = new GoogleCalendarGateway({
    auth: fx.auth(),
    rootUrl: proxy.baseUrl,
    timeoutMs: 600,
    retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 12 },
  });
  const ids = owners.map(() => fx.eventId());
  // Tokens first (signing 30 assertions at once is slow), so that only the held answers run into the timeout.
  await Promise.all(owners.map((owner) => gateway.timeZone(owner)));

  const inserted = await Promise.all(owners.map((owner, i) => gateway.createEvent(owner, newEvent(ids[i]))));

  expect(inserted.map((e) => e.id)).toEqual(ids);
  const attempts = (owner: string) => fx.calls({ owner, method: 'events.insert' }).map((c) => c.status);
  const lost = proxy.held.length;
  const adopted = owners.filter((o) => attempts(o).includes(409)).length;
  const duplicates = owners.reduce((n, owner) => n + Math.max(0, fx.emulator.events(owner).length - 1), 0);
  console.log(`insert timeouts: ${owners.length} owners, ${lost} insert answers lost to a timeout, ${adopted} retries met a 409 and adopted the event, ${duplicates} duplicate events`);
  expect(lost).toBeGreaterThan(0);
  expect(adopted).toBeGreaterThan(0);
  expect(duplicates).toBe(0);
  for (const [i, owner] of owners.entries()) {
    expect(fx.emulator.events(owner).map((e) => e.id)).toEqual([ids[i]]);
    // One attempt created it; every later one met the 409.
    expect(attempts(owner).filter((s) => s === 200)).toHaveLength(1);
    expect(attempts(owner).every((s) => s === 200 || s === 409)).toBe(true);
    // An adopted event was read back (a 409 answer can be held too, so the retry may meet more than one).
    expect(fx.calls({ owner, method: 'events.get' }).length > 0).toBe(attempts(owner).includes(409));
  }
});
