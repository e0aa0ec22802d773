import { BenchRun } from '../support/bench-run';
import { round, sleep } from '../support/stats';
import type { BenchParams } from '../support/params';
import { MONDAY_NOON } from './booking';

/** The cold floor of calls per first-seen booking the target divides by. */
export const COLD_FLOOR_CALLS = 3.02;

export interface QuotaFigures {
  quota: number;
  userQuota: number;
  daemonBudget: number;
  measuredSeconds: number;
  ownersPosted: number;
  booked: number;
  bookingsPerMinute: number | null;
  bookingsFirstMinute: number;
  bookingsPerMinuteAfterFirst: number | null;
  target: number;
  ofTarget: number | null;
  admittedMaxIn60s: number;
  admittedShareOfQuota: number | null;
  admitted: Record<string, number>;
  admittedTotal: number;
  tokenRequests: number;
  projectQuotaErrors: number;
  userQuotaErrors: number;
  quotaWaitsReported: number | null;
}

/**
 * Run B: first-seen owners booked under the emulator's project quota Q (and per-user quota), the daemon's own
 * budget set to Q (GOOGLE_MAX_REQUESTS_PER_MINUTE). More owners than Q allows are posted at once; bookings are
 * counted for the measured time.
 */
export async function quotaRun(p: BenchParams, log: (m: string) => void): Promise<QuotaFigures> {
  const run = await BenchRun.start({
    label: 'quota',
    redisUrl: p.redisUrl,
    replicas: p.replicas,
    virtualNow: MONDAY_NOON,
    load: { latencyMs: p.latencyMs, projectQuota: p.quota, userQuota: p.userQuota },
    logDir: p.logDir,
    daemonEnv: { GOOGLE_MAX_REQUESTS_PER_MINUTE: String(p.daemonBudget) },
  });
  try {
    await run.startDaemons();
    run.load.reset();
    const minutes = p.quotaMeasureMs / 60_000;
    const owners = Math.ceil(((p.quota * minutes) / 2.5) * 1.3) + 50;
    const events = Array.from({ length: owners }, (_, i) => run.event('policy_failing', run.nextHostId(), `q${i}@bench.example.com`));
    const t0 = Date.now();
    await run.post(events);
    log(`quota run: ${owners} first-seen owners posted, Q=${p.quota}/min, measuring ${minutes} min`);
    while (Date.now() - t0 < p.quotaMeasureMs) await sleep(Math.min(1000, p.quotaMeasureMs - (Date.now() - t0)));
    const tEnd = t0 + p.quotaMeasureMs;
    const booked = run.served.filter((c) => c.method === 'events.insert' && c.status === 200 && c.at >= t0 && c.at < tEnd);
    const firstMinute = booked.filter((c) => c.at < t0 + 60_000).length;
    const afterFirst = p.quotaMeasureMs > 60_000 ? (booked.length - firstMinute) / ((p.quotaMeasureMs - 60_000) / 60_000) : null;
    const stats = run.load.stats();
    let quotaWaits: number | null = null;
    try {
      const m = /^mw_google_quota_waits_total (\d+)/m.exec(await run.metrics());
      quotaWaits = m ? Number(m[1]) : null;
    } catch {
      // metrics are a nice-to-have here
    }
    const target = (0.9 * p.quota) / COLD_FLOOR_CALLS;
    const perMinute = booked.length / minutes;
    log(`quota run: ${booked.length} booked (${perMinute.toFixed(0)}/min), max ${stats.maxAdmittedInWindow} admitted in 60 s, ${stats.projectRejected} project / ${stats.userRejected} user quota errors`);
    return {
      quota: p.quota,
      userQuota: p.userQuota,
      daemonBudget: p.daemonBudget,
      measuredSeconds: p.quotaMeasureMs / 1000,
      ownersPosted: owners,
      booked: booked.length,
      bookingsPerMinute: round(perMinute, 1),
      bookingsFirstMinute: firstMinute,
      bookingsPerMinuteAfterFirst: round(afterFirst, 1),
      target: round(target, 1) as number,
      ofTarget: round(perMinute / target, 2),
      admittedMaxIn60s: stats.maxAdmittedInWindow,
      admittedShareOfQuota: round(stats.maxAdmittedInWindow / p.quota, 3),
      admitted: stats.admitted as Record<string, number>,
      admittedTotal: stats.admittedTotal,
      tokenRequests: stats.tokenRequests,
      projectQuotaErrors: stats.projectRejected,
      userQuotaErrors: stats.userRejected,
      quotaWaitsReported: quotaWaits,
    };
  } finally {
    // The measurement is over: no graceful stop (its jobs would wait for the budget for up to 20 s).
    const removed = await run.stop({ kill: true });
    log(`quota run: stopped, ${removed} keys deleted`);
  }
}
