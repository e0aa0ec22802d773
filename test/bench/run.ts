/**
 * The performance bench (issue 10): `npm run bench [-- --quick] [-- --help]`. Not part of `npm test`.
 * Starts daemons as child processes against the Calendar emulator (real HTTP, per-call latency, Google's
 * quotas) and a webhook receiver, measures every figure of the issue's table, prints it and writes JSON to
 * test/bench/results/<date>.json.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { bookingRun, type BookingFigures } from './phases/booking';
import { fireRun, type FireFigures } from './phases/fire';
import { quotaRun, COLD_FLOOR_CALLS, type QuotaFigures } from './phases/quota';
import { buildDaemon, useDaemonBuild } from './support/daemon-build';
import { parseArgs } from './support/params';
import { round } from './support/stats';

async function main(): Promise<void> {
  const p = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (m: string) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);
  mkdirSync(p.logDir, { recursive: true });
  const build = buildDaemon();
  useDaemonBuild(build);
  log(`daemon: compiled ${build.commit}${build.dirty ? ' + uncommitted changes' : ''}, on Node ${process.version}`);
  log(`mode ${p.mode}, ${p.replicas} replica(s), daemon logs in ${p.logDir}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const loadBefore = loadavg();

  let book: BookingFigures | null = null;
  let quota: QuotaFigures | null = null;
  let fire: FireFigures | null = null;
  const errors: string[] = [];
  const guard = async <T>(name: string, f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (err) {
      errors.push(`${name}: ${(err as Error).stack ?? String(err)}`);
      log(`${name} run FAILED: ${(err as Error).message}`);
      return null;
    }
  };
  const quotaPromise = p.only.has('quota') && p.overlapQuota ? guard('quota', () => quotaRun(p, log)) : null;
  if (p.only.has('book')) book = await guard('book', () => bookingRun(p, log));
  if (quotaPromise) quota = await quotaPromise;
  else if (p.only.has('quota')) quota = await guard('quota', () => quotaRun(p, log));
  if (p.only.has('fire')) fire = await guard('fire', () => fireRun(p, book?.firstSeen.bookingsPerSecond ?? null, log));

  const durationS = round((Date.now() - started) / 1000, 1);
  const loadAfter = loadavg();
  const machine = {
    node: process.version,
    daemon: { build: 'tsconfig.build.json (as the Dockerfile)', commit: build.commit, dirty: build.dirty },
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    freeMemoryGb: round(freemem() / 1024 ** 3, 1),
    loadAverageBefore: loadBefore.map((l) => round(l, 2)),
    loadAverageAfter: loadAfter.map((l) => round(l, 2)),
    redis: redisVersion(),
  };
  const rows = table(p, book, quota, fire);
  console.log('');
  console.log(render(rows));
  console.log('');
  console.log(`${p.mode} run took ${durationS} s on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}; load average before ${machine.loadAverageBefore.join(' ')}, after ${machine.loadAverageAfter.join(' ')}`);

  const date = new Date().toISOString();
  const result = {
    date,
    mode: p.mode,
    durationSeconds: durationS,
    params: { ...p, only: [...p.only] },
    machine,
    table: rows,
    figures: { booking: book, quota, fire },
    errors,
  };
  mkdirSync(p.resultsDir, { recursive: true });
  const file = join(p.resultsDir, `${date.replace(/:/g, '-').replace(/\..*/, '')}${p.mode === 'quick' ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${file}`);
  if (errors.length) {
    console.error(errors.join('\n'));
    process.exitCode = 1;
  }
}

interface Row {
  figure: string;
  measured: string;
  target: string;
}

function table(p: ReturnType<typeof parseArgs>, b: BookingFigures | null, q: QuotaFigures | null, f: FireFigures | null): Row[] {
  const na = 'not run';
  const rows: Row[] = [];
  const fmt = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`);
  rows.push({
    figure: `Google calls per booking, first-seen owner (${b?.firstSeen.booked ?? 0} owners)`,
    measured: b ? `${fmt(b.firstSeen.callsPerBooking)} (${Object.entries(b.firstSeen.byMethod).map(([m, n]) => `${m} ${n}`).join(', ')}; +${b.firstSeen.tokenRequests} token)${b.firstSeen.settled ? '' : ' NOT SETTLED'}` : na,
    target: '≤ 3.1',
  });
  rows.push({
    figure: `Google calls per booking, hand-over (${b?.handOver.booked ?? 0} owners' next host)`,
    measured: b
      ? `${fmt(b.handOver.callsPerBookingExclDelete)} excl. the resolved event's delete (${fmt(b.handOver.callsPerBookingInclDelete)} incl.; ${Object.entries(b.handOver.byMethod).map(([m, n]) => `${m} ${n}`).join(', ')})`
      : na,
    target: '≤ 1.1',
  });
  rows.push({
    figure: `bookings per minute under project quota Q=${p.quota} (user ${p.userQuota}), first-seen`,
    measured: q
      ? `${fmt(q.bookingsPerMinute, '/min')} over ${q.measuredSeconds} s = ${fmt(q.ofTarget)} × target (${fmt(q.bookingsFirstMinute)} in the first minute${q.bookingsPerMinuteAfterFirst !== null ? `, ${fmt(q.bookingsPerMinuteAfterFirst)}/min after` : ''}); Google-counted calls admitted ≤ ${q.admittedMaxIn60s} in any 60 s (${fmt(round((q.admittedShareOfQuota ?? 0) * 100, 1), ' %')} of Q), +${q.tokenRequests} token requests; quota errors ${q.projectQuotaErrors} project, ${q.userQuotaErrors} user`
      : na,
    target: `≥ 0.9 × Q ÷ ${COLD_FLOOR_CALLS} = ${round((0.9 * p.quota) / COLD_FLOOR_CALLS, 1)}/min, 0 quota errors`,
  });
  rows.push({
    figure: `resolution webhook lateness, ${f?.atNine ?? p.windows} windows starting the same second${p.receiverMaxPerSecond ? ` (receiver cap ${p.receiverMaxPerSecond}/s)` : ''}${p.webhookMaxPerSecond ? ` (WEBHOOK_MAX_PER_SECOND ${p.webhookMaxPerSecond})` : ''}`,
    measured: f ? `p50 ${fmt(f.latenessMs.p50, ' ms')}, p99 ${fmt(f.latenessMs.p99, ' ms')}, max ${fmt(f.latenessMs.max, ' ms')} (${f.delivered}/${f.atNine} delivered, ${f.requests} requests, ${f.refused} refused)` : na,
    target: 'p99 ≤ 1 s at 2,000 windows',
  });
  rows.push({
    figure: `owner deletes → corrected event, ${b?.deletes.changes ?? p.changes} changes in ${p.changesSpreadMs / 1000} s`,
    measured: b ? `p50 ${fmt(b.deletes.latencyMs.p50, ' ms')}, p95 ${fmt(b.deletes.latencyMs.p95, ' ms')}, max ${fmt(b.deletes.latencyMs.max, ' ms')} (${b.deletes.corrected}/${b.deletes.changes} corrected, ${b.deletes.withChannel} with a push channel)` : na,
    target: 'p95 ≤ 1 s at 1,000 changes in a minute',
  });
  const r = b?.redisAtEnd;
  rows.push({
    figure: `Redis per open remediation (${r?.openRemediations ?? 0} open, completed jobs included)`,
    measured: r ? `${fmt(r.bytesPerOpen, ' B')} (MEMORY USAGE over ${r.keys} keys; top: ${r.top.slice(0, 3).map((s) => `${s.shape} ${s.bytesPerOpen} B`).join(', ')})` : na,
    target: '≤ 2 KB',
  });
  rows.push({
    figure: 'daemon RSS as owners grow; start-up',
    measured: b
      ? `${fmt(b.rss.idleMb, ' MB')} idle → ${b.rss.samples.map((s) => `${fmt(s.rssMb, ' MB')} @${s.owners}`).join(' → ')} (peak ${fmt(b.rss.peakMb, ' MB')}); start-up ${b.startupMsEmpty.join('/')} ms empty, ${b.restart.startupMs.join('/')} ms with ${b.restart.openRemediations} open`
      : na,
    target: '≤ 300 MB RSS at 100,000 open remediations (measured); start-up ≤ 10 s',
  });
  rows.push({
    figure: `bookings per second, no quota (${b?.firstSeen.booked ?? 0} first-seen owners, latency ${p.latencyMs.join('–')} ms)`,
    measured: b ? `${fmt(b.firstSeen.bookingsPerSecond, '/s')} (${b.firstSeen.booked} in ${b.firstSeen.seconds} s; calls settled after ${b.firstSeen.settledSeconds} s)` : na,
    target: 'say what limits it',
  });
  return rows;
}

function render(rows: Row[]): string {
  const out = ['| figure | measured | target |', '|---|---|---|'];
  for (const r of rows) out.push(`| ${r.figure} | ${r.measured} | ${r.target} |`);
  return out.join('\n');
}

function redisVersion(): string | null {
  try {
    return /redis_version:(\S+)/.exec(execSync('redis-cli -h 127.0.0.1 info server', { encoding: 'utf8', timeout: 5000 }))?.[1] ?? null;
  } catch {
    return null;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
