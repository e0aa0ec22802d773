import { Redis } from 'ioredis';
import { BenchRun } from '../support/bench-run';
import { prefixMemory, usedMemory, type PrefixMemory } from '../support/redis-memory';
import { MB, round, sleep, summary, until } from '../support/stats';
import type { BenchParams } from '../support/params';

/** Monday 12:00 UTC: owners (in UTC) are booked on Tuesday 09:00, inside the 7-day push horizon. */
export const MONDAY_NOON = Date.parse('2026-11-23T12:00:00Z');

export interface BookingFigures {
  startupMsEmpty: number[];
  firstSeen: {
    owners: number;
    booked: number;
    seconds: number;
    bookingsPerSecond: number | null;
    settledSeconds: number;
    settled: boolean;
    calls: number;
    callsPerBooking: number | null;
    byMethod: Record<string, number>;
    tokenRequests: number;
    errors: number;
  };
  redisAtFirstSeen: RedisFigure;
  handOver: {
    owners: number;
    queued: number;
    booked: number;
    settled: boolean;
    calls: number;
    callsPerBookingExclDelete: number | null;
    callsPerBookingInclDelete: number | null;
    byMethod: Record<string, number>;
  };
  deletes: {
    changes: number;
    spreadSeconds: number;
    withChannel: number;
    corrected: number;
    latencyMs: ReturnType<typeof summary>;
  };
  /** Bookings per second of each growth step (at --growth-latency). */
  growthBookingsPerSecond: number[];
  rss: { idleMb: number | null; samples: { owners: number; rssMb: number | null; atS: number }[]; peakMb: number | null; finalMb: number | null; finalOwners: number };
  redisAtEnd: RedisFigure;
  restart: { openRemediations: number; startupMs: number[]; rssAfterStartMb: number | null };
}

export interface RedisFigure {
  openRemediations: number;
  statuses: Record<string, number>;
  prefixBytes: number;
  bytesPerOpen: number | null;
  keys: number;
  usedMemoryDeltaBytes: number;
  /** Every key shape, largest first. */
  top: { shape: string; keys: number; bytes: number; bytesPerOpen: number | null }[];
}

const OPEN = ['unassigned', 'queued', 'pending', 'booked', 'firing'];

/**
 * Run A (no quota): first-seen owners booked (calls per booking, bookings per second, RSS), Redis per open
 * remediation, hand-overs (an owner's next host after the first resolves), owners deleting their events (time to
 * the corrected event), RSS as owners grow, and start-up with the state in Redis.
 */
export async function bookingRun(p: BenchParams, log: (m: string) => void): Promise<BookingFigures> {
  const run = await BenchRun.start({
    label: 'book',
    redisUrl: p.redisUrl,
    replicas: p.replicas,
    virtualNow: MONDAY_NOON,
    load: { latencyMs: p.latencyMs },
    logDir: p.logDir,
  });
  const redis = new Redis(p.redisUrl);
  try {
    const memBefore = await usedMemory(redis);
    const startupMsEmpty = await run.startDaemons();
    log(`booking run: ${run.daemons.length} daemon(s) ready in ${startupMsEmpty.join(', ')} ms (prefix ${run.prefix})`);
    await sleep(2000);
    const rssTotal = () => {
      const all = run.rss();
      return all.some((r) => r === null) ? null : all.reduce((a: number, b) => a + (b ?? 0), 0);
    };
    const idle = rssTotal();
    const rssSamples: BookingFigures['rss']['samples'] = [];
    let peak = idle ?? 0;
    const tStart = Date.now();
    let ownersBooked = 0;
    const sampler = setInterval(() => {
      const r = rssTotal();
      if (r !== null) peak = Math.max(peak, r);
    }, 250);

    // First-seen owners: one host each.
    const owners = Array.from({ length: p.owners }, (_, i) => `fs${i}@bench.example.com`);
    const firstHost = new Map<string, number>();
    const events = owners.map((o) => {
      const id = run.nextHostId();
      firstHost.set(o, id);
      return run.event('policy_failing', id, o);
    });
    const t0 = Date.now();
    await run.post(events);
    const marks = new Set([0.25, 0.5, 0.75, 1].map((f) => Math.ceil(f * p.owners)));
    const bookedAll = await until(
      () => {
        const n = run.insertsSince(t0);
        for (const m of marks) {
          if (n >= m) {
            marks.delete(m);
            rssSamples.push({ owners: m, rssMb: round((rssTotal() ?? NaN) / MB, 1), atS: round((Date.now() - tStart) / 1000, 1) as number });
          }
        }
        return n >= p.owners;
      },
      p.bookTimeoutMs,
      50,
    );
    const booked = run.insertsSince(t0);
    const inserts = run.served.filter((c) => c.at >= t0 && c.method === 'events.insert' && c.status === 200);
    const tLast = inserts.length ? inserts[inserts.length - 1].at : Date.now();
    ownersBooked = booked;
    log(`first-seen: ${booked}/${p.owners} booked in ${((tLast - t0) / 1000).toFixed(1)} s${bookedAll ? '' : ' (timed out)'}`);
    const settled = await waitQuiet(run, p.quietMs, p.settleTimeoutMs);
    const tSettled = Date.now();
    const fsCalls = run.callsBetween(t0);
    log(`first-seen: settled=${settled} after ${((tSettled - t0) / 1000).toFixed(1)} s, ${fsCalls.total} calls ${JSON.stringify(fsCalls.byMethod)}`);
    rssSamples.push({ owners: booked, rssMb: round((rssTotal() ?? NaN) / MB, 1), atS: round((Date.now() - tStart) / 1000, 1) as number });

    const redisAtFirstSeen = await redisFigure(run, redis, memBefore);
    log(`redis: ${redisAtFirstSeen.bytesPerOpen} bytes per open remediation (${redisAtFirstSeen.openRemediations} open)`);

    // Hand-over: the first M owners get a second failing host (queued), then their first host passes.
    const handOwners = owners.slice(0, Math.min(p.handOvers, owners.length));
    await run.post(handOwners.map((o) => run.event('policy_failing', run.nextHostId(), o)));
    await until(async () => ((await run.statusCounts()).queued ?? 0) >= handOwners.length, 60_000, 250);
    const queued = (await run.statusCounts()).queued ?? 0;
    await waitQuiet(run, p.quietMs, p.settleTimeoutMs);
    const tH = Date.now();
    await run.post(handOwners.map((o) => run.event('policy_passing', firstHost.get(o) as number, o)));
    await until(() => run.insertsSince(tH) >= handOwners.length, p.bookTimeoutMs, 50);
    const handBooked = run.insertsSince(tH);
    const handSettled = await waitQuiet(run, p.quietMs, p.settleTimeoutMs);
    const hCalls = run.callsBetween(tH);
    const deletesH = hCalls.byMethod['events.delete'] ?? 0;
    log(`hand-over: ${handBooked}/${handOwners.length} booked, ${hCalls.total} calls ${JSON.stringify(hCalls.byMethod)}`);

    // Owners delete their events: K changes spread over the window, each timed to the corrected (new) event.
    const delOwners = owners.slice(handOwners.length, handOwners.length + p.changes);
    await until(() => {
      const watched = new Set(run.emulator.channels().map((c) => c.owner));
      return delOwners.every((o) => watched.has(o));
    }, p.settleTimeoutMs, 250);
    const watched = new Set(run.emulator.channels().map((c) => c.owner));
    const withChannel = delOwners.filter((o) => watched.has(o)).length;
    const deletedAt = new Map<string, number>();
    const latencies: number[] = [];
    const off = run.onServed((c) => {
      if (c.method !== 'events.insert' || c.status !== 200 || !c.owner) return;
      const at = deletedAt.get(c.owner);
      if (at === undefined) return;
      deletedAt.delete(c.owner);
      latencies.push(c.at - at);
    });
    const tD = Date.now();
    const spread = p.changesSpreadMs;
    for (let i = 0; i < delOwners.length; i++) {
      const due = tD + (spread * i) / Math.max(1, delOwners.length);
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const o = delOwners[i];
      const ev = run.ourEvents(o)[0];
      if (!ev) continue;
      deletedAt.set(o, Date.now());
      run.emulator.deleteEventAsOwner(o, ev.id);
    }
    await until(() => deletedAt.size === 0, p.correctionTimeoutMs, 50);
    off();
    const deletes = { changes: delOwners.length, spreadSeconds: spread / 1000, withChannel, corrected: latencies.length, latencyMs: summary(latencies) };
    log(`deletes: ${latencies.length}/${delOwners.length} corrected, p50 ${deletes.latencyMs.p50} ms, p95 ${deletes.latencyMs.p95} ms`);
    await waitQuiet(run, p.quietMs, p.settleTimeoutMs);

    // RSS as owners grow beyond the first set, measured at each step.
    let total = owners.length;
    const growthRates: number[] = [];
    if (p.rssOwners > owners.length) run.load.configure({ latencyMs: p.growthLatencyMs });
    while (total < p.rssOwners) {
      const chunk = Math.min(p.rssChunk, p.rssOwners - total);
      const batch = Array.from({ length: chunk }, (_, i) => run.event('policy_failing', run.nextHostId(), `g${total + i}@bench.example.com`));
      const tg = Date.now();
      await run.post(batch);
      const ok = await until(() => run.insertsSince(tg) >= chunk, p.bookTimeoutMs, 100);
      total += chunk;
      ownersBooked += run.insertsSince(tg);
      growthRates.push(round(run.insertsSince(tg) / ((Date.now() - tg) / 1000), 1) as number);
      rssSamples.push({ owners: ownersBooked, rssMb: round((rssTotal() ?? NaN) / MB, 1), atS: round((Date.now() - tStart) / 1000, 1) as number });
      log(`growth: ${ownersBooked} owners booked, RSS ${rssSamples[rssSamples.length - 1].rssMb} MB${ok ? '' : ' (chunk timed out)'}`);
      if (!ok) break;
    }
    if (p.rssOwners > owners.length) await waitQuiet(run, p.quietMs, p.settleTimeoutMs);
    clearInterval(sampler);
    const finalRss = rssTotal();
    const redisAtEnd = p.rssOwners > owners.length ? await redisFigure(run, redis, memBefore) : redisAtFirstSeen;

    // Start-up with everything in Redis.
    await Promise.all(run.daemons.map((d) => d.stop()));
    const startupMs = await run.startDaemons();
    await sleep(1000);
    const restart = { openRemediations: redisAtEnd.openRemediations, startupMs, rssAfterStartMb: round((rssTotal() ?? NaN) / MB, 1) };
    log(`restart with ${restart.openRemediations} open remediations: ready in ${startupMs.join(', ')} ms`);

    return {
      startupMsEmpty,
      firstSeen: {
        owners: p.owners,
        booked,
        seconds: round((tLast - t0) / 1000, 2) as number,
        bookingsPerSecond: round(booked / ((tLast - t0) / 1000), 1),
        settledSeconds: round((tSettled - t0) / 1000, 1) as number,
        settled,
        calls: fsCalls.total,
        callsPerBooking: booked ? round(fsCalls.total / booked, 3) : null,
        byMethod: fsCalls.byMethod,
        tokenRequests: fsCalls.tokens,
        errors: fsCalls.errors,
      },
      redisAtFirstSeen,
      handOver: {
        owners: handOwners.length,
        queued,
        booked: handBooked,
        settled: handSettled,
        calls: hCalls.total,
        callsPerBookingExclDelete: handBooked ? round((hCalls.total - deletesH) / handBooked, 3) : null,
        callsPerBookingInclDelete: handBooked ? round(hCalls.total / handBooked, 3) : null,
        byMethod: hCalls.byMethod,
      },
      deletes,
      growthBookingsPerSecond: growthRates,
      rss: { idleMb: round((idle ?? NaN) / MB, 1), samples: rssSamples, peakMb: round(peak / MB, 1), finalMb: round((finalRss ?? NaN) / MB, 1), finalOwners: ownersBooked },
      redisAtEnd,
      restart,
    };
  } finally {
    redis.disconnect();
    const removed = await run.stop();
    log(`booking run: stopped, ${removed} keys deleted`);
  }
}

/** Waits until no Calendar API call was answered for `quietMs` (bounded); returns whether it got quiet. */
export async function waitQuiet(run: BenchRun, quietMs: number, timeoutMs: number): Promise<boolean> {
  return until(() => Date.now() - Math.max(run.lastApiCallAt(), 0) >= quietMs, timeoutMs, 100);
}

async function redisFigure(run: BenchRun, redis: Redis, memBefore: number): Promise<RedisFigure> {
  const statuses = await run.statusCounts();
  const open = OPEN.reduce((a, s) => a + (statuses[s] ?? 0), 0);
  const mem: PrefixMemory = await prefixMemory(redis, run.prefix);
  const used = await usedMemory(redis);
  return {
    openRemediations: open,
    statuses,
    prefixBytes: mem.bytes,
    bytesPerOpen: open ? Math.round(mem.bytes / open) : null,
    keys: mem.keys,
    usedMemoryDeltaBytes: used - memBefore,
    top: mem.byShape.map((s) => ({ ...s, bytesPerOpen: open ? Math.round(s.bytes / open) : null })),
  };
}
