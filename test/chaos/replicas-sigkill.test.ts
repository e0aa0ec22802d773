import type { RemediationView } from '../../src/domain/remediation';
import { waitFor } from '../support/wait';
import { ChaosEnv, FIRE_AT, failing } from './support/chaos-env';
import { Killer } from './support/killer';

const OWNERS = 500;
/** Owners in UTC get the 09:00 UTC slot, which starts during the run: these windows fire under the kills. */
const FIRING = 40;
/** Zones where Tuesday 09:00 is hours or days away at 08:59 UTC: these windows stay booked. */
const LATER_ZONES = ['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Pacific/Honolulu', 'Asia/Tokyo', 'Pacific/Auckland'];
const BATCH = 20;
const MIN_KILLS = 6;

const owner = (host: number) => `owner${host}@acme.com`;

describe('chaos: 3 daemons on one Redis, one SIGKILLed and restarted again and again', () => {
  let env: ChaosEnv;
  let failed = false;

  afterAll(async () => {
    await env?.stop({ keepLogs: failed });
  });

  it('books 500 owners once each, fires every due window exactly once, loses nothing', async () => {
    const began = Date.now();
    env = await ChaosEnv.start({ label: 'replicas', daemons: 3, leadMs: 45_000 });
    try {
      const hosts = Array.from({ length: OWNERS }, (_, i) => 1000 + i);
      hosts.slice(FIRING).forEach((h, i) => env.emulator.addUser(owner(h), { timeZone: LATER_ZONES[i % LATER_ZONES.length] }));
      // Slow receiver: deliveries are in flight when the kill aimed at the firing moment lands.
      env.recorder.delayMs = [100, 1500];
      // Slow Google now and then: bookings are in flight when kills land.
      env.emulator.injectFault({ method: 'events.insert', status: 200, delayMs: 150, probability: 0.3 });
      const fireRealAt = Date.now() + env.msUntilFire();
      const killer = new Killer(env.daemons[0], { intervalMs: [1500, 3000], aimAt: [fireRealAt + 400] }).start();

      let posts = 0;
      let retries = 0;
      for (let i = 0; i < hosts.length; i += BATCH) {
        const batch = hosts.slice(i, i + BATCH).map((h) => failing(h, owner(h)));
        const res = await env.post(batch);
        expect(res.status).toBe(202);
        posts++;
        retries += res.tries - 1;
        // Ingest is spread over ~30 s, so kills land while events are being accepted and booked.
        await new Promise((r) => setTimeout(r, 1200));
      }
      const ingestMs = Date.now() - began;

      // Keep killing through the firing moment and a little after, and at least MIN_KILLS times (restarts are slow on a busy machine).
      await waitFor(() => env.now() > FIRE_AT + 15_000 && killer.kills >= MIN_KILLS, { timeoutMs: 180_000, intervalMs: 200, what: 'the chaos phase to end' });
      await killer.stop();
      const chaosEndedMs = Date.now() - began;

      const isSettled = (r: RemediationView) => (r.status === 'booked' && Date.parse(r.start ?? '') > env.now()) || r.status === 'fired';
      const settled = await waitFor(
        async () => {
          const all = await env.remediations();
          return all.length === OWNERS && all.every(isSettled) ? all : null;
        },
        { timeoutMs: 150_000, intervalMs: 1000, what: 'every host booked, every due window fired' },
      ).catch(async (err: Error) => {
        const all = await env.remediations();
        const open = all.filter((r) => !isSettled(r)).slice(0, 10).map((r) => `${r.id} ${r.status} ${r.start ?? ''} ${r.reason ?? ''}`);
        throw new Error(`${err.message}: ${all.length} remediations, ${JSON.stringify(statusCounts(all))}; e.g. ${open.join('; ')}`);
      });
      const settledMs = Date.now() - began;

      const byHost = new Map<number, RemediationView[]>();
      for (const r of settled) byHost.set(r.host_id, [...(byHost.get(r.host_id) ?? []), r]);
      const duplicateRemediations = [...byHost.values()].filter((rs) => rs.length > 1).length;
      const lost = hosts.filter((h) => !byHost.has(h)).length;
      const eventsPerOwner = hosts.map((h) => env.ourEvents(owner(h)).length);
      const duplicateEvents = eventsPerOwner.filter((n) => n > 1).length;
      const missingEvents = eventsPerOwner.filter((n) => n === 0).length;
      const fired = settled.filter((r) => r.status === 'fired');
      const perHost = env.recorder.deliveriesPerHost();
      const duplicateDeliveries = [...perHost.values()].filter((d) => d.deliveries > 1).length;
      const firedWithoutOneDelivery = fired.filter((r) => perHost.get(r.host_id)?.deliveries !== 1).length;
      const deliveredButNotFired = [...perHost.keys()].filter((h) => !fired.some((r) => r.host_id === h)).length;

      console.log(
        JSON.stringify({
          scenario: 'A: 3 replicas, SIGKILL + restart loop',
          owners: OWNERS,
          posts,
          postRetries: retries,
          kills: killer.kills,
          killsWhileStarting: killer.killsWhileStarting,
          restartReadyMs: env.daemons[0].readyMs,
          starts: env.daemons.map((d) => `${d.name}:${d.starts}`),
          remediations: settled.length,
          booked: settled.filter((r) => r.status === 'booked').length,
          fired: fired.length,
          deliveries: [...perHost.values()].reduce((n, d) => n + d.deliveries, 0),
          deliveryRequests: env.recorder.deliveries.length,
          googleCalls: env.emulator.callCounts(),
          duplicateRemediations,
          duplicateEvents,
          missingEvents,
          duplicateDeliveries,
          lost,
          ingestMs,
          chaosEndedMs,
          settledMs,
        }),
      );

      expect(killer.kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(lost).toBe(0);
      expect(duplicateRemediations).toBe(0);
      expect(duplicateEvents).toBe(0);
      expect(missingEvents).toBe(0);
      expect(duplicateDeliveries).toBe(0);
      expect(firedWithoutOneDelivery).toBe(0);
      expect(deliveredButNotFired).toBe(0);
      // The UTC owners booked before 09:00 fired during the chaos; one booked late (its round was killed) gets 09:30.
      expect(fired.length).toBeGreaterThanOrEqual(FIRING / 2);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});

function statusCounts(rs: RemediationView[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rs) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
