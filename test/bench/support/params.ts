import { join } from 'node:path';

export interface BenchParams {
  mode: 'quick' | 'full';
  replicas: number;
  redisUrl: string;
  latencyMs: [number, number];
  /** Run A */
  owners: number;
  handOvers: number;
  changes: number;
  changesSpreadMs: number;
  rssOwners: number;
  rssChunk: number;
  /** Emulator latency while growing (RSS does not depend on it; 0-0 books faster). */
  growthLatencyMs: [number, number];
  /** Run B */
  quota: number;
  userQuota: number;
  /** GOOGLE_MAX_REQUESTS_PER_MINUTE of the quota run's daemons (default Q). */
  daemonBudget: number;
  quotaMeasureMs: number;
  /** Run C */
  windows: number;
  receiverMaxPerSecond: number | null;
  /** The fire run's WEBHOOK_MAX_PER_SECOND (null: unset). */
  webhookMaxPerSecond: number | null;
  /** The fire run's WEBHOOK_CONCURRENCY (null: the daemon's default). */
  webhookConcurrency: number | null;
  /** Bookings per second the fire run counts on to book its windows before the start (null: run A's, else 5). */
  firePace: number | null;
  /** Phases to run (default all): book, quota, fire. */
  only: Set<string>;
  /** quick: the quota run overlaps the booking run (to stay under two minutes). */
  overlapQuota: boolean;
  quietMs: number;
  bookTimeoutMs: number;
  settleTimeoutMs: number;
  correctionTimeoutMs: number;
  logDir: string;
  resultsDir: string;
}

const HELP = `npm run bench [-- options]
  --quick                 small, under two minutes (the quota run overlaps the booking run)
  --replicas N            daemons per run, on one Redis prefix (default 1)
  --owners N              first-seen owners booked in run A (full 5000, quick 100)
  --hand-overs N          owners whose next host is booked after the first resolves (full 500, quick 20)
  --changes N             owners deleting their event (full 1000, quick 20) ...
  --changes-seconds S     ... spread over S seconds (full 60, quick 8)
  --rss-owners N          keep booking new owners up to N, RSS measured at each step (full 100000, quick = --owners)
  --rss-chunk N           owners per growth step (default 5000)
  --growth-latency MIN-MAX  emulator latency while growing (default 0-0: RSS does not depend on it)
  --quota Q               project quota per minute, enforced by the emulator and set as GOOGLE_MAX_REQUESTS_PER_MINUTE (600)
  --daemon-budget B       the quota run's GOOGLE_MAX_REQUESTS_PER_MINUTE (default Q; above Q shows Google's 403s)
  --user-quota U          per-user quota per minute (600, Google's)
  --quota-seconds S       how long run B measures (full 180, quick 60)
  --windows W             windows starting the same second in run C (full 2000, quick 100)
  --receiver-rps R        the webhook receiver answers 429 + Retry-After beyond R requests per second (default: no cap)
  --webhook-max-per-second N  the fire run's daemons pace resolution webhooks (WEBHOOK_MAX_PER_SECOND; default unset)
  --webhook-concurrency N the fire run's WEBHOOK_CONCURRENCY (default: the daemon's, 32)
  --fire-pace N           bookings/s the fire run counts on to book its windows before 09:00 (default: run A's, else 5)
  (BENCH_DAEMON_NODE_ARGS in the environment: node options for the daemons, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof";
   BENCH_LOG_LEVEL: the daemons' LOG_LEVEL, default info)
  --latency MIN-MAX       per-call latency of the emulator in ms (default 50-150)
  --only book,quota,fire  run only these runs
  --redis URL             (default redis://127.0.0.1:6379/0; every run uses its own key prefix, deleted after)`;

export function parseArgs(argv: string[]): BenchParams {
  const args = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n${HELP}`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (inline !== undefined) args.set(k, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) args.set(k, argv[++i]);
    else args.set(k, true);
  }
  if (args.has('help')) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = args.has('quick');
  const num = (k: string, full: number, q: number): number => {
    const v = args.get(k);
    if (v === undefined) return quick ? q : full;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number (got ${String(v)})`);
    return n;
  };
  const range = (k: string, dflt: string): [number, number] => {
    const r = String(args.get(k) ?? dflt).split('-').map(Number);
    if (r.length !== 2 || r.some((n) => !Number.isFinite(n))) throw new Error(`--${k} must be MIN-MAX in ms`);
    return [r[0], r[1]];
  };
  const latency = range('latency', '50-150');
  const owners = Math.max(50, num('owners', 5000, 100));
  const handOvers = num('hand-overs', 500, 20);
  const changes = num('changes', 1000, 20);
  if (handOvers + changes > owners) throw new Error('--hand-overs + --changes must not exceed --owners');
  const rps = args.get('receiver-rps');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    mode: quick ? 'quick' : 'full',
    replicas: Math.max(1, num('replicas', 1, 1)),
    redisUrl: String(args.get('redis') ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0'),
    latencyMs: [latency[0], latency[1]],
    owners,
    handOvers,
    changes,
    changesSpreadMs: num('changes-seconds', 60, 8) * 1000,
    rssOwners: Math.max(owners, num('rss-owners', 100_000, owners)),
    rssChunk: Math.max(100, num('rss-chunk', 5000, 5000)),
    growthLatencyMs: range('growth-latency', '0-0'),
    quota: Math.max(1, num('quota', 600, 600)),
    userQuota: Math.max(1, num('user-quota', 600, 600)),
    daemonBudget: Math.max(1, Math.min(10_000, num('daemon-budget', num('quota', 600, 600), num('quota', 600, 600)))),
    quotaMeasureMs: num('quota-seconds', 180, 60) * 1000,
    windows: Math.max(1, num('windows', 2000, 100)),
    receiverMaxPerSecond: rps === undefined || rps === true ? null : Number(rps),
    webhookMaxPerSecond: args.get('webhook-max-per-second') === undefined ? null : Number(args.get('webhook-max-per-second')),
    webhookConcurrency: args.get('webhook-concurrency') === undefined ? null : Number(args.get('webhook-concurrency')),
    firePace: args.get('fire-pace') === undefined ? null : Number(args.get('fire-pace')),
    only: new Set(String(args.get('only') ?? 'book,quota,fire').split(',')),
    overlapQuota: quick,
    quietMs: 3000,
    bookTimeoutMs: quick ? 60_000 : 30 * 60_000,
    settleTimeoutMs: quick ? 30_000 : 15 * 60_000,
    correctionTimeoutMs: quick ? 15_000 : 120_000,
    logDir: join('/tmp', `mw-bench-${stamp}`),
    resultsDir: join(__dirname, '..', 'results'),
  };
}
