import { BenchRun } from '../support/bench-run';
import { round, sleep, summary, until } from '../support/stats';
import type { BenchParams } from '../support/params';
import { waitQuiet } from './booking';

/** A Tuesday: owners in UTC get the 09:00 slot. */
export const FIRE_AT = Date.parse('2026-11-24T09:00:00Z');

export interface FireFigures {
  windows: number;
  leadSeconds: number;
  bookedBeforeStart: number;
  atNine: number;
  delivered: number;
  requests: number;
  receiverMaxPerSecond: number | null;
  webhookMaxPerSecond: number | null;
  webhookConcurrency: number | null;
  /** Requests the receiver refused (429 beyond its cap). */
  refused: number;
  latenessMs: ReturnType<typeof summary>;
  /** First delivery to last, in ms. */
  spreadMs: number | null;
}

/**
 * Run C: W owners booked ahead of Tuesday 09:00 (CLOCK_OFFSET_MS puts "now" `lead` before it), so W real windows
 * start in the same second; lateness = arrival of the accepted resolution webhook − 09:00.
 */
export async function fireRun(p: BenchParams, bookingsPerSecond: number | null, log: (m: string) => void): Promise<FireFigures> {
  // Time to book W owners at the measured pace (conservatively), plus start-up and a margin.
  const pace = Math.max(2, (p.firePace ?? bookingsPerSecond ?? 5) * 0.85);
  const leadMs = Math.round(Math.max(20, 12 + p.windows / pace) * 1000);
  const run = await BenchRun.start({
    label: 'fire',
    redisUrl: p.redisUrl,
    replicas: p.replicas,
    virtualNow: FIRE_AT - leadMs,
    load: { latencyMs: p.latencyMs },
    logDir: p.logDir,
    daemonEnv: {
      ...(p.webhookMaxPerSecond !== null ? { WEBHOOK_MAX_PER_SECOND: String(p.webhookMaxPerSecond) } : {}),
      ...(p.webhookConcurrency !== null ? { WEBHOOK_CONCURRENCY: String(p.webhookConcurrency) } : {}),
    },
  });
  run.receiver.maxPerSecond = p.receiverMaxPerSecond;
  try {
    await run.startDaemons();
    const hosts: number[] = [];
    const events = Array.from({ length: p.windows }, (_, i) => {
      const id = run.nextHostId();
      hosts.push(id);
      return run.event('policy_failing', id, `w${i}@bench.example.com`);
    });
    const t0 = Date.now();
    await run.post(events);
    const msToStart = () => FIRE_AT - run.now();
    await until(() => run.insertsSince(t0) >= p.windows || msToStart() < 3000, leadMs, 100);
    const bookedBeforeStart = run.insertsSince(t0);
    let atNine = 0;
    for (let i = 0; i < p.windows; i++) {
      const e = run.ourEvents(`w${i}@bench.example.com`)[0];
      if (e && Date.parse(e.start.dateTime ?? '') === FIRE_AT) atNine++;
    }
    log(`fire run: ${bookedBeforeStart}/${p.windows} booked, ${atNine} at 09:00, ${(msToStart() / 1000).toFixed(1)} s before the start`);
    // Let the booking's trailing calls (channels, first syncs) settle if there is time; then wait for the start.
    await waitQuiet(run, 2000, Math.max(0, msToStart() - 2000));
    if (msToStart() > 0) await sleep(msToStart());
    const drainMs = 20_000 + p.windows * 20;
    await until(() => run.receiver.accepted().size >= atNine, drainMs, 100);
    const accepted = run.receiver.accepted();
    const lateness = [...accepted.values()].map((a) => a.at + run.offsetMs - FIRE_AT);
    const times = [...accepted.values()].map((a) => a.at);
    const s = summary(lateness);
    log(`fire run: ${accepted.size} delivered, lateness p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`);
    return {
      windows: p.windows,
      leadSeconds: round(leadMs / 1000, 1) as number,
      bookedBeforeStart,
      atNine,
      delivered: accepted.size,
      requests: run.receiver.arrivals.length,
      receiverMaxPerSecond: p.receiverMaxPerSecond,
      webhookMaxPerSecond: p.webhookMaxPerSecond,
      webhookConcurrency: p.webhookConcurrency,
      refused: run.receiver.arrivals.length - accepted.size,
      latenessMs: s,
      spreadMs: times.length ? Math.max(...times) - Math.min(...times) : null,
    };
  } finally {
    const removed = await run.stop();
    log(`fire run: stopped, ${removed} keys deleted`);
  }
}
