import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { deleteKeysUnder } from '../../../src/store/key-prefix';
import { OWNED_BY_PROPERTY } from '../../../src/domain/event-id';
import { CalendarEmulator, createServiceAccountKey, type LoadModel, type LoadModelOptions, type ServedCall } from '../../../src/sandbox/calendar-emulator';
import { freePort } from '../../support/free-port';
import { BenchDaemon } from './bench-daemon';
import { WebhookReceiver } from './webhook-receiver';

export const INGEST_TOKEN = 'bench-ingest-token-0123456789';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface BenchRunOptions {
  label: string;
  redisUrl: string;
  replicas: number;
  /** The virtual "now" (epoch ms) at the moment the run starts; daemons and the emulator share it. */
  virtualNow: number;
  load: LoadModelOptions;
  logDir: string;
  daemonEnv?: Record<string, string>;
}

/**
 * One measured scenario: its own Calendar emulator (latency, quotas, counters), webhook receiver, Redis key prefix
 * (deleted at the end) and daemon processes, all on one shifted clock.
 */
export class BenchRun {
  readonly prefix: string;
  readonly offsetMs: number;
  readonly emulator: CalendarEmulator;
  readonly receiver = new WebhookReceiver();
  readonly daemons: BenchDaemon[] = [];
  /** Every Calendar API / token request the emulator answered (real ms). */
  readonly served: ServedCall[] = [];
  private readonly listeners = new Set<(c: ServedCall) => void>();
  private hostSeq = 0;
  private occurred = Date.parse('2026-11-01T00:00:00Z');

  private constructor(readonly opts: BenchRunOptions) {
    // As short as the daemon's default `{mw}` give or take six characters: every key name holds the prefix, and a
    // long one (`{mwbench-booking-…}`, used before 2026-12-04) added ~20 bytes to each of a remediation's keys.
    this.prefix = `{mw${randomBytes(3).toString('hex')}}`;
    this.offsetMs = opts.virtualNow - Date.now();
    this.emulator = new CalendarEmulator({ now: () => Date.now() + this.offsetMs, autoCreateUsers: true, defaultTimeZone: 'UTC', load: opts.load });
  }

  static async start(opts: BenchRunOptions): Promise<BenchRun> {
    const run = new BenchRun(opts);
    await run.emulator.listen(0);
    run.load.onServed((c) => {
      run.served.push(c);
      for (const l of run.listeners) l(c);
    });
    await run.receiver.start();
    const key = createServiceAccountKey();
    run.emulator.trustServiceAccount(key);
    mkdirSync(opts.logDir, { recursive: true });
    const keyFile = join(opts.logDir, `${opts.label}-service-account.json`);
    writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
    // Replicas behind one load balancer: every one advertises the first one's URL for push notifications.
    const firstPort = await freePort();
    for (let i = 1; i <= opts.replicas; i++) {
      run.daemons.push(
        new BenchDaemon({
          name: `${opts.label}-d${i}`,
          redisUrl: opts.redisUrl,
          keyPrefix: run.prefix,
          credentialsFile: keyFile,
          googleApiUrl: run.emulator.baseUrl,
          googleTokenUrl: run.emulator.tokenUrl,
          resolutionWebhookUrl: `${run.receiver.url}/resolution`,
          ingestToken: INGEST_TOKEN,
          adminToken: ADMIN_TOKEN,
          clockOffsetMs: run.offsetMs,
          logDir: opts.logDir,
          publicUrl: `http://127.0.0.1:${firstPort}`,
          ...(i === 1 ? { port: firstPort } : {}),
          env: opts.daemonEnv,
        }),
      );
    }
    return run;
  }

  get load(): LoadModel {
    const load = this.emulator.load;
    if (!load) throw new Error('emulator without a load model');
    return load;
  }

  /** Starts every daemon; resolves each one's start-up time (spawn → ready) in ms. */
  async startDaemons(): Promise<number[]> {
    return Promise.all(this.daemons.map((d) => d.start()));
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  onServed(listener: (c: ServedCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calendar API calls (token requests apart) answered in [from, to), by method, and their total. */
  callsBetween(from: number, to = Number.POSITIVE_INFINITY): { total: number; byMethod: Record<string, number>; tokens: number; errors: number } {
    const byMethod: Record<string, number> = {};
    let total = 0;
    let tokens = 0;
    let errors = 0;
    for (const c of this.served) {
      if (c.at < from || c.at >= to) continue;
      if (c.method === 'token') {
        tokens++;
        continue;
      }
      total++;
      if (c.status >= 400) errors++;
      byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
    }
    return { total, byMethod, tokens, errors };
  }

  /** Real ms of the last Calendar API call answered (0: none yet). */
  lastApiCallAt(): number {
    for (let i = this.served.length - 1; i >= 0; i--) if (this.served[i].method !== 'token') return this.served[i].at;
    return 0;
  }

  /** Successful event inserts so far (each is one booking). */
  insertsSince(from: number): number {
    let n = 0;
    for (const c of this.served) if (c.at >= from && c.method === 'events.insert' && c.status === 200) n++;
    return n;
  }

  nextHostId(): number {
    return ++this.hostSeq;
  }

  /** A policy event for one host and owner (distinct `occurred_at` per call). */
  event(type: 'policy_failing' | 'policy_passing', hostId: number, owner: string, policyId = 7) {
    this.occurred += 1000;
    return {
      type,
      host: { id: hostId, display_name: `Bench laptop ${hostId}`, serial_number: `BN${hostId}`, emails: [owner], team_id: 1 },
      policy: { id: policyId, name: `Policy ${policyId}`, description: 'Why it matters.', resolution: 'What we will do.' },
      occurred_at: new Date(this.occurred).toISOString(),
    };
  }

  /** Posts events in batches of up to 1000 (spread over the replicas); throws unless every batch is accepted. */
  async post(events: unknown[]): Promise<void> {
    for (let i = 0; i < events.length; i += 1000) {
      const daemon = this.daemons[(i / 1000) % this.daemons.length];
      const res = await request(`${daemon.url}/v1/policy-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
        body: JSON.stringify(events.slice(i, i + 1000)),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`POST /v1/policy-events answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
  }

  /** The daemon's Prometheus text. */
  async metrics(daemon = this.daemons[0]): Promise<string> {
    const res = await request(`${daemon.url}/metrics`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
    return res.body.text();
  }

  /** mw_remediations{status=…} (read from Redis by the daemon at each scrape). */
  async statusCounts(): Promise<Record<string, number>> {
    const text = await this.metrics();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^mw_remediations\{status="([a-z_]+)"\} (\d+(?:\.\d+)?)/gm)) out[m[1]] = Number(m[2]);
    return out;
  }

  /** Our events (private property set, not cancelled) in one owner's calendar. */
  ourEvents(owner: string) {
    return this.emulator.events(owner).filter((e) => e.extendedProperties?.private?.[OWNED_BY_PROPERTY] !== undefined);
  }

  /** Daemons' RSS in bytes (null for one not running). */
  rss(): (number | null)[] {
    return this.daemons.map((d) => d.rssBytes());
  }

  /** Stops the daemons (SIGTERM), the emulator and the receiver, and deletes the run's Redis keys. */
  async stop(opts: { kill?: boolean } = {}): Promise<number> {
    await Promise.all(this.daemons.map((d) => (opts.kill ? d.stop(0) : d.stop())));
    await this.emulator.close();
    await this.receiver.close();
    // BENCH_KEEP_REDIS=1 leaves the run's keys for inspection (the prefix is printed at the start).
    if (process.env.BENCH_KEEP_REDIS === '1') return 0;
    const redis = new Redis(this.opts.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
    try {
      return await deleteKeysUnder(redis, this.prefix);
    } finally {
      redis.disconnect();
    }
  }
}

/** Google's per-project answer check: lists what the emulator refused for quota. */
export function quotaRefusals(run: BenchRun): { project: number; user: number } {
  const s = run.load.stats();
  return { project: s.projectRejected, user: s.userRejected };
}
