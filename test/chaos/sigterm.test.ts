import { waitFor } from '../support/wait';
import { ChaosEnv, failing } from './support/chaos-env';

const WINDOWS = 30;
/** main.ts: a graceful shutdown that takes longer exits 1. */
const SHUTDOWN_BOUND_MS = 25_000;

const owner = (host: number) => `term${host}@acme.com`;

describe('chaos: SIGTERM while jobs are in flight', () => {
  let env: ChaosEnv;
  let failed = false;

  afterAll(async () => {
    await env?.stop({ keepLogs: failed });
  });

  it('exits 0 within the bound and every window it held still fires exactly once', async () => {
    const began = Date.now();
    env = await ChaosEnv.start({ label: 'sigterm', daemons: 2, leadMs: 15_000 });
    try {
      const [d1, d2] = env.daemons;
      const fireRealAt = Date.now() + env.msUntilFire();
      const hosts = Array.from({ length: WINDOWS }, (_, i) => 7000 + i);
      expect((await env.post(hosts.map((h) => failing(h, owner(h))))).status).toBe(202);
      await waitFor(async () => (await env.remediations()).filter((r) => r.status === 'booked').length === WINDOWS, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'every window booked',
      });
      // Deliveries take seconds: at the SIGTERM both daemons are in the middle of them.
      env.recorder.delayMs = [2000, 5000];
      await waitFor(() => env.recorder.deliveries.length >= 4, { timeoutMs: env.msUntilFire() + 10_000, intervalMs: 20, what: 'deliveries in flight' });
      const inFlightAtTerm = env.recorder.deliveries.length;
      const term = await d1.signal('SIGTERM');

      const all = await waitFor(
        async () => {
          const rs = (await env.remediations()).filter((r) => hosts.includes(r.host_id));
          return rs.length === WINDOWS && rs.every((r) => r.status === 'fired') ? rs : null;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'every window fired' },
      );
      const perHost = env.recorder.deliveriesPerHost();
      const duplicateDeliveries = hosts.filter((h) => (perHost.get(h)?.deliveries ?? 0) > 1).length;
      const undelivered = hosts.filter((h) => !perHost.has(h)).length;

      console.log(
        JSON.stringify({
          scenario: 'C: SIGTERM with deliveries in flight',
          windows: WINDOWS,
          requestsSeenAtSigterm: inFlightAtTerm,
          exit: term,
          fired: all.length,
          deliveries: [...perHost.values()].reduce((n, d) => n + d.deliveries, 0),
          deliveryRequests: env.recorder.deliveries.length,
          duplicateDeliveries,
          undelivered,
          lastDeliveryAfterStartMs: Math.max(...env.recorder.deliveries.map((d) => d.at - fireRealAt)),
          totalMs: Date.now() - began,
        }),
      );

      expect(term.code).toBe(0);
      expect(term.ms).toBeLessThan(SHUTDOWN_BOUND_MS);
      expect(d2.alive).toBe(true);
      expect(duplicateDeliveries).toBe(0);
      expect(undelivered).toBe(0);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
