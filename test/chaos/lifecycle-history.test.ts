import { DateTime } from 'luxon';
import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import type { Remediation, RemediationView } from '../../src/domain/remediation';
import { statusFromHistory } from '../../src/domain/remediation-lifecycle';
import { waitFor } from '../support/wait';
import { AdminChaosEnv } from './support/admin-chaos-env';
import { FIRE_AT, failing } from './support/chaos-env';
import { Killer } from './support/killer';

/** Owners in UTC: their 09:00 windows fire under the kills; each has a second host, queued, handed over at the fire. */
const FIRE = range(100, 10);
const SECOND = FIRE.map((h) => h + 100);
/** Of those, an admin fires these now (POST …/fire-now) as soon as they are booked, whenever their window is. */
const FIRE_NOW = FIRE.slice(5);
/** Owners who drag their window an hour later (New York: Tuesday 09:00 is hours away). */
const MOVE = range(300, 8);
/** Owners who delete their window (rebooked on the next business day), twice. */
const DELETE = range(400, 8);
/** Hosts whose policy passes meanwhile: resolved, the event withdrawn. */
const RESOLVE = range(500, 6);
/** Hosts an admin cancels (booked ones, and two of the queued second hosts). */
const CANCEL = [...range(600, 6), SECOND[0], SECOND[1]];
const ZONE: Record<string, string> = { 3: 'America/New_York', 4: 'America/Chicago', 5: 'America/Los_Angeles', 6: 'Asia/Tokyo' };
const MIN_KILLS = 4;
/** The owners and the admin keep acting until each has acted (or this long after the start, real ms). */
const ACTIONS_UNTIL_MS = 65_000;

const owner = (host: number) => `lc${host >= 200 && host < 300 ? host - 100 : host}@acme.com`;

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

interface Violation {
  id: string;
  what: string;
}

/** What must hold for every remediation at any moment: its state is the one its history ends in, and more. */
function checkHistories(rs: Array<{ r: Remediation; history: LifecycleEvent[] }>): Violation[] {
  const violations: Violation[] = [];
  for (const { r, history } of rs) {
    const ended = statusFromHistory(history);
    if (ended !== r.status) violations.push({ id: r.id, what: `stored ${r.status}, history ends in ${ended} (${history.map((e) => e.type).join(' → ')})` });
    if (history[0]?.type !== 'remediation.created') violations.push({ id: r.id, what: `history begins with ${history[0]?.type ?? 'nothing'}` });
    for (let i = 1; i < history.length; i++) {
      if (history[i].occurred_at < history[i - 1].occurred_at) {
        violations.push({ id: r.id, what: `${history[i].type} at ${history[i].occurred_at} after ${history[i - 1].type} at ${history[i - 1].occurred_at}` });
      }
    }
    for (const e of history) if (e.remediation_id !== r.id || e.host_id !== r.host.id) violations.push({ id: r.id, what: `event ${e.id} of ${e.remediation_id} in its history` });
  }
  return violations;
}

function duplicates(ids: string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

describe('chaos: daemons SIGKILLed during transitions', () => {
  let env: AdminChaosEnv;
  let failed = false;

  afterAll(async () => {
    await env?.stop({ keepLogs: failed });
  });

  it('leaves every remediation in the status its history ends in, histories in order, each event once in the feed', async () => {
    const began = Date.now();
    env = await AdminChaosEnv.start({
      label: 'lifecycle',
      daemons: 3,
      leadMs: 40_000,
      // Owners' changes are found by the poll (no HTTPS, no push): every 2 s. window.upcoming a minute ahead.
      env: { POLL_INTERVAL_SECONDS: '2', NOTIFY_BEFORE_MINUTES: '1' },
    });
    const startedMs = Date.now() - began;
    const killers: Killer[] = [];
    try {
      for (const h of [...MOVE, ...DELETE, ...RESOLVE, ...CANCEL.filter((h) => h >= 600)]) env.emulator.addUser(owner(h), { timeZone: ZONE[String(h)[0]] });
      const fireRealAt = Date.now() + env.msUntilFire();
      // d2 dies again and again from the first ingest on; d1 joins once the first windows are booked; d3 is left alone.
      killers.push(new Killer(env.daemons[1], { intervalMs: [2500, 4500], aimAt: [fireRealAt + 1200] }).start());

      // Ingest under the kills: the first hosts, then the second hosts of the UTC owners (queued behind them).
      const first = [...FIRE, ...MOVE, ...DELETE, ...RESOLVE, ...CANCEL.filter((h) => h >= 600)];
      for (let i = 0; i < first.length; i += 10) {
        expect((await env.post('/v1/policy-events', first.slice(i, i + 10).map((h) => failing(h, owner(h))))).status).toBe(202);
      }
      expect((await env.post('/v1/policy-events', SECOND.map((h) => failing(h, owner(h))))).status).toBe(202);
      // The owners' actions need booked windows: most first windows booked (or a while), then d1 is killed too.
      await waitFor(async () => (await env.remediations()).filter((r) => r.status === 'booked').length >= first.length * 0.8, {
        timeoutMs: 20_000,
        intervalMs: 500,
        what: 'most first windows booked',
      }).catch(() => undefined);
      const bookedMs = Date.now() - began;
      killers.push(new Killer(env.daemons[0], { intervalMs: [1500, 3000], aimAt: [fireRealAt + 300] }).start());

      // The owners and the admin act while the daemons keep dying, until a few seconds after the windows fired.
      const moves = new Map<number, number>();
      const deletes = new Map<number, number>();
      const resolved = new Set<number>();
      const cancelled = new Set<number>();
      const firedNow = new Set<number>();
      const midChaos: Violation[] = [];
      let snapshots = 0;
      let actions = 0;
      const allActed = () =>
        MOVE.every((h) => moves.has(h)) && DELETE.every((h) => deletes.has(h)) && RESOLVE.every((h) => resolved.has(h)) && CANCEL.every((h) => cancelled.has(h)) && FIRE_NOW.every((h) => firedNow.has(h));
      while (env.now() < FIRE_AT + 8000 || (!allActed() && Date.now() - began < ACTIONS_UNTIL_MS)) {
        let all: RemediationView[];
        try {
          all = await env.remediations();
        } catch {
          continue; // nobody answered this time
        }
        const latest = (h: number) => all.filter((r) => r.host_id === h).sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
        for (const h of MOVE) {
          const r = latest(h);
          if (r?.status !== 'booked' || (moves.get(h) ?? 0) >= 2 || Math.random() < 0.3) continue;
          const start = DateTime.fromISO(r.start as string).plus({ hours: 1 });
          try {
            env.emulator.patchEventAsOwner(owner(h), r.calendar_event_id as string, {
              start: { dateTime: start.toISO() as string },
              end: { dateTime: start.plus({ minutes: 30 }).toISO() as string },
            });
            moves.set(h, (moves.get(h) ?? 0) + 1);
            actions++;
          } catch {
            // already gone: the next round sees its new state
          }
        }
        for (const h of DELETE) {
          const r = latest(h);
          if (r?.status !== 'booked' || (deletes.get(h) ?? 0) >= 2 || Math.random() < 0.3) continue;
          const ours = env.emulator.events(owner(h)).some((e) => e.id === r.calendar_event_id);
          if (!ours) continue;
          env.emulator.deleteEventAsOwner(owner(h), r.calendar_event_id as string);
          deletes.set(h, (deletes.get(h) ?? 0) + 1);
          actions++;
        }
        for (const h of RESOLVE) {
          if (resolved.has(h) || latest(h)?.status !== 'booked' || Math.random() < 0.3) continue;
          const passing = { ...failing(h, owner(h)), type: 'policy_passing', occurred_at: new Date(env.now()).toISOString() };
          if ((await env.post('/v1/policy-events', [passing])).status === 202) {
            resolved.add(h);
            actions++;
          }
        }
        for (const h of CANCEL) {
          const r = latest(h);
          if (!r || cancelled.has(h) || !['booked', 'queued'].includes(r.status) || Math.random() < 0.3) continue;
          const res = await env.post(`/v1/remediations/${r.id}/cancel`, { reason: 'chaos: host retired' });
          if (res.status === 200 || res.status === 409) {
            cancelled.add(h);
            actions++;
          }
        }
        for (const h of FIRE_NOW) {
          const r = latest(h);
          if (!r || firedNow.has(h) || r.status !== 'booked' || Math.random() < 0.3) continue;
          const res = await env.post(`/v1/remediations/${r.id}/fire-now`, {});
          if (res.status === 200 || res.status === 409) {
            firedNow.add(h);
            actions++;
          }
        }
        // Every round, the invariant in the middle of it all: one atomic read of state, histories and feed.
        const snap = await env.snapshot();
        snapshots++;
        midChaos.push(...checkHistories(snap.remediations));
        await new Promise((r) => setTimeout(r, 400));
      }
      await Promise.all(killers.map((k) => k.stop()));
      const kills = killers.reduce((n, k) => n + k.kills, 0);
      const chaosEndedMs = Date.now() - began;

      // Every transition the kills interrupted is taken up again: nothing stays pending or firing.
      const isTransient = (r: RemediationView) => r.status === 'pending' || r.status === 'firing' || r.status === 'unassigned';
      const settled = await waitFor(
        async () => {
          const all = await env.remediations();
          return all.length === first.length + SECOND.length && !all.some(isTransient) ? all : null;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'every remediation out of pending/firing' },
      ).catch(async (err: Error) => {
        const all = await env.remediations();
        const open = all.filter(isTransient).slice(0, 8).map((r) => `${r.id} ${r.status} ${r.reason ?? ''}`);
        throw new Error(`${err.message}: ${all.length} remediations; e.g. ${open.join('; ')}`);
      });
      const settledMs = Date.now() - began;

      // 1. Atomic snapshot from Redis: state, every history and the whole feed in one transaction.
      const snap = await env.snapshot();
      const violations = checkHistories(snap.remediations);
      const historyIds = snap.remediations.flatMap((x) => x.history.map((e) => e.id));
      const streamIds = snap.feed.map((e) => e.id);

      // 2. Through the API: each remediation with its history; the feed paged with `next`.
      const apiMismatches: Violation[] = [];
      for (const { r, history } of snap.remediations) {
        const viewed = await env.remediation(r.id);
        if (statusFromHistory(viewed.history) !== viewed.status) apiMismatches.push({ id: r.id, what: `API: ${viewed.status} vs history ${statusFromHistory(viewed.history)}` });
        const ids = viewed.history.map((e) => e.id);
        if (ids.slice(0, history.length).join() !== history.map((e) => e.id).join()) apiMismatches.push({ id: r.id, what: 'API history differs from the stored one' });
      }
      const feed = await env.feed(100);
      const feedIds = feed.events.map((e) => e.id);
      const feedSet = new Set(feedIds);

      const types = new Map<string, number>();
      for (const e of snap.feed) types.set(e.type, (types.get(e.type) ?? 0) + 1);
      const handOvers = snap.feed.filter((e) => e.type === 'remediation.assigned' && e.data.via === 'hand_over').length;
      console.log(
        JSON.stringify({
          scenario: 'lifecycle history under SIGKILL',
          remediations: snap.remediations.length,
          statuses: countBy(settled.map((r) => r.status)),
          events: snap.feed.length,
          feedPages: feed.pages,
          eventTypes: Object.fromEntries(types),
          handOvers,
          kills,
          killsWhileStarting: killers.reduce((n, k) => n + k.killsWhileStarting, 0),
          restartReadyMs: env.daemons.slice(0, 2).map((d) => d.readyMs),
          actions,
          moved: moves.size,
          deleted: deletes.size,
          resolvedAsked: resolved.size,
          cancelAsked: cancelled.size,
          fireNowAsked: firedNow.size,
          snapshotsDuringChaos: snapshots,
          deliveries: env.recorder.deliveries.length,
          startedMs,
          bookedMs,
          chaosEndedMs,
          settledMs,
          totalMs: Date.now() - began,
        }),
      );

      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(midChaos).toEqual([]);
      expect(violations).toEqual([]);
      expect(apiMismatches).toEqual([]);
      // The feed holds each event once, and exactly the events of the histories (saved in the same transaction).
      expect(duplicates(streamIds)).toEqual([]);
      expect(duplicates(historyIds)).toEqual([]);
      expect([...streamIds].sort()).toEqual([...historyIds].sort());
      expect(duplicates(feedIds)).toEqual([]);
      expect(historyIds.filter((id) => !feedSet.has(id))).toEqual([]);
      // The transitions this test is about did happen under the kills.
      const expected = ['window.booked', 'window.moved', 'window.rebooked', 'window.started', 'delivery.succeeded', 'remediation.resolved', 'remediation.cancelled', 'remediation.queued'];
      expect(expected.filter((type) => !(types.get(type) ?? 0))).toEqual([]);
      expect(handOvers).toBeGreaterThan(0);
    } catch (err) {
      failed = true;
      await Promise.all(killers.map((k) => k.stop()));
      throw err;
    }
  });
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
