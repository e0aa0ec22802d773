import { DateTime } from 'luxon';
import { waitFor } from '../support/wait';
import { ChaosEnv, FIRE_AT, failing } from './support/chaos-env';

/** Owners in UTC: their 09:00 windows become due while no daemon runs. */
const FIRING = 20;
/** Owners in Los Angeles: windows later today, inside the push horizon, so they are watched with channels. */
const WATCHED = 5;
const LA = 'America/Los_Angeles';

const owner = (host: number) => `restart${host}@acme.com`;

describe('chaos: every daemon killed, one restarted', () => {
  let env: ChaosEnv;
  let failed = false;

  afterAll(async () => {
    await env?.stop({ keepLogs: failed });
  });

  it('fires the windows that became due while it was down exactly once and keeps verifying the channels it opened', async () => {
    const began = Date.now();
    env = await ChaosEnv.start({ label: 'restart', daemons: 2, leadMs: 20_000, sharedPublicUrl: true });
    try {
      const [d1, d2] = env.daemons;
      const firing = Array.from({ length: FIRING }, (_, i) => 8000 + i);
      const watched = Array.from({ length: WATCHED }, (_, i) => 8100 + i);
      for (const h of watched) env.emulator.addUser(owner(h), { timeZone: LA });
      expect((await env.post([...firing, ...watched].map((h) => failing(h, owner(h))))).status).toBe(202);
      await waitFor(async () => (await env.remediations()).filter((r) => r.status === 'booked').length === FIRING + WATCHED, {
        timeoutMs: 15_000,
        intervalMs: 250,
        what: 'every window booked',
      });
      const channelsBefore = await waitFor(
        () => {
          const cs = env.emulator.channels().filter((c) => watched.some((h) => c.owner === owner(h)));
          return cs.length === WATCHED ? cs : null;
        },
        { timeoutMs: 15_000, what: 'a channel per watched owner' },
      );
      // Let the first syncs (sync tokens) land, then nobody is left.
      await new Promise((r) => setTimeout(r, 1000));
      await Promise.all([d1.kill(), d2.kill()]);
      const killedMsBeforeStart = env.msUntilFire();
      expect(killedMsBeforeStart).toBeGreaterThan(0);

      await waitFor(() => env.now() > FIRE_AT + 2000, { timeoutMs: 30_000, intervalMs: 100, what: 'the windows to become due' });
      expect(env.recorder.deliveries).toHaveLength(0);
      const restartedAt = Date.now();
      await d1.start();
      await waitFor(async () => (await env.remediations()).filter((r) => r.status === 'fired').length === FIRING, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'the overdue windows fired',
      });
      const firedMsAfterRestart = Date.now() - restartedAt;

      // Each watched owner moves their window an hour later in the Calendar UI: only a verified push tells the daemon.
      const before = (await env.remediations()).filter((r) => watched.includes(r.host_id));
      for (const r of before) {
        const start = DateTime.fromISO(r.start as string).plus({ hours: 1 });
        env.emulator.patchEventAsOwner(r.email as string, r.calendar_event_id as string, {
          start: { dateTime: start.toISO() as string, timeZone: LA },
          end: { dateTime: start.plus({ minutes: 30 }).toISO() as string, timeZone: LA },
        });
      }
      const followed = await waitFor(
        async () => {
          const now = (await env.remediations()).filter((r) => watched.includes(r.host_id));
          const moved = now.filter((r) => r.start !== before.find((b) => b.host_id === r.host_id)?.start);
          return moved.length === WATCHED ? now : null;
        },
        { timeoutMs: 20_000, intervalMs: 250, what: 'the moves followed through the old channels' },
      );
      const channelsAfter = env.emulator.channels().filter((c) => watched.some((h) => c.owner === owner(h)));
      const perHost = env.recorder.deliveriesPerHost();
      await new Promise((r) => setTimeout(r, 2000)); // a late second fire would show up here
      const duplicateDeliveries = firing.filter((h) => (env.recorder.deliveriesPerHost().get(h)?.deliveries ?? 0) > 1).length;

      console.log(
        JSON.stringify({
          scenario: 'D: kill all, restart one',
          firingWindows: FIRING,
          watchedOwners: WATCHED,
          killedMsBeforeStart,
          fired: perHost.size,
          deliveries: [...env.recorder.deliveriesPerHost().values()].reduce((n, d) => n + d.deliveries, 0),
          deliveryRequests: env.recorder.deliveries.length,
          duplicateDeliveries,
          firedMsAfterRestart,
          movesFollowed: followed.length,
          sameChannels: channelsAfter.every((c) => channelsBefore.some((b) => b.id === c.id)),
          totalMs: Date.now() - began,
        }),
      );

      expect(duplicateDeliveries).toBe(0);
      expect(firing.every((h) => perHost.get(h)?.deliveries === 1)).toBe(true);
      expect(followed.every((r) => r.status === 'booked')).toBe(true);
      // The channels opened before the kill are the ones still in use: nothing was reopened.
      expect(channelsAfter.map((c) => c.id).sort()).toEqual(channelsBefore.map((c) => c.id).sort());
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
