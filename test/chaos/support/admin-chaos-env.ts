import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import type { LifecycleEvent } from '../../../src/domain/lifecycle-event';
import type { Remediation, RemediationView } from '../../../src/domain/remediation';
import { readStoredHistoryEntry, readStoredRemediation } from '../../../src/store/remediation-store';
import { CalendarEmulator, createServiceAccountKey } from '../../../src/sandbox/calendar-emulator';
import { TEST_TOKENS } from '../../support/daemon-client';
import { DaemonProcess } from '../../support/daemon-process';
import { freePort } from '../../support/free-port';
import { RedisServer } from '../../support/redis-server';
import { FIRE_AT } from './chaos-env';
import { DeliveryRecorder } from './delivery-recorder';

export interface AdminChaosEnvOptions {
  label: string;
  daemons: number;
  /** Real milliseconds from setup until FIRE_AT (virtual) is reached. */
  leadMs: number;
  logLevel?: string;
  /** More daemon variables (e.g. POLL_INTERVAL_SECONDS). */
  env?: Record<string, string>;
}

/** What one answer of a daemon was, or 0 when the connection failed (the daemon was just killed). */
export interface Answer {
  status: number;
  body: any;
  daemon: string;
}

/**
 * ChaosEnv's set-up (several real daemons on one private Redis, the Calendar emulator, the resolution receiver, one
 * shifted clock: Tuesday 09:00 UTC comes `leadMs` after set-up) for daemons on Google credentials, which require
 * INGEST_TOKEN and ADMIN_TOKEN: every request carries the bearer token its route needs, and any live daemon
 * answers (one just killed → the next). It also reads Redis directly, in one MULTI, for snapshots no API call
 * can give atomically.
 */
export class AdminChaosEnv {
  readonly redis = new RedisServer();
  readonly recorder = new DeliveryRecorder();
  readonly daemons: DaemonProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'mw-chaos-'));
  readonly offsetMs: number;
  readonly emulator: CalendarEmulator;
  readonly prefix: string;
  private client: Redis | null = null;

  private constructor(readonly opts: AdminChaosEnvOptions) {
    this.offsetMs = FIRE_AT - opts.leadMs - Date.now();
    this.emulator = new CalendarEmulator({ now: () => Date.now() + this.offsetMs, autoCreateUsers: true, defaultTimeZone: 'UTC' });
    this.prefix = `{mw-chaos-${opts.label}-${process.pid}}`;
  }

  static async start(opts: AdminChaosEnvOptions): Promise<AdminChaosEnv> {
    const env = new AdminChaosEnv(opts);
    await env.redis.start();
    await env.emulator.listen(0);
    await env.recorder.start();
    const key = createServiceAccountKey();
    env.emulator.trustServiceAccount(key);
    const keyFile = join(env.dir, 'service-account.json');
    writeFileSync(keyFile, JSON.stringify(key));
    for (let i = 1; i <= opts.daemons; i++) {
      env.daemons.push(
        new DaemonProcess({
          name: `d${i}`,
          redisUrl: env.redis.url,
          keyPrefix: env.prefix,
          credentialsFile: keyFile,
          googleApiUrl: env.emulator.baseUrl,
          googleTokenUrl: env.emulator.tokenUrl,
          resolutionWebhookUrl: `${env.recorder.url}/resolution`,
          clockOffsetMs: env.offsetMs,
          logDir: env.dir,
          logLevel: opts.logLevel ?? 'info',
          port: await freePort(),
          env: { INGEST_TOKEN: TEST_TOKENS.ingest, ADMIN_TOKEN: TEST_TOKENS.admin, ...opts.env },
        }),
      );
    }
    env.client = new Redis(env.redis.url, { maxRetriesPerRequest: 3 });
    await Promise.all(env.daemons.map((d) => d.start()));
    return env;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  msUntilFire(): number {
    return FIRE_AT - this.now();
  }

  live(): DaemonProcess[] {
    return this.daemons.filter((d) => d.alive);
  }

  /**
   * One request to a live daemon (a random one), with the route's bearer token. A refused connection or a 503 (a
   * daemon being killed or starting) goes to another one, up to `attempts` times.
   */
  async call(method: 'GET' | 'POST', path: string, body?: unknown, attempts = 50): Promise<Answer> {
    const token = /^\/v1\/(policy-events|fleet\/failing-policies)\b/.test(path) ? TEST_TOKENS.ingest : TEST_TOKENS.admin;
    let last: Answer = { status: 0, body: null, daemon: '-' };
    for (let i = 0; i < attempts; i++) {
      const candidates = this.live();
      const daemon = candidates[Math.floor(Math.random() * candidates.length)];
      if (daemon) {
        try {
          const res = await request(`${daemon.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
            body: body !== undefined ? JSON.stringify(body) : undefined,
            headersTimeout: 15_000,
            bodyTimeout: 15_000,
          });
          const text = await res.body.text();
          last = { status: res.statusCode, body: text ? safeJson(text) : null, daemon: daemon.name };
          if (res.statusCode !== 503 && res.statusCode < 500) return last;
        } catch {
          last = { status: 0, body: null, daemon: daemon.name };
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return last;
  }

  async post(path: string, body: unknown): Promise<Answer> {
    return this.call('POST', path, body);
  }

  /** Every remediation through the API (pages followed). */
  async remediations(): Promise<RemediationView[]> {
    const all: RemediationView[] = [];
    let cursor: string | null = null;
    do {
      const res = await this.call('GET', `/v1/remediations?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (res.status !== 200) throw new Error(`GET /v1/remediations answered ${res.status}: ${JSON.stringify(res.body)}`);
      all.push(...(res.body.remediations as RemediationView[]));
      cursor = res.body.next ?? null;
    } while (cursor);
    return all;
  }

  async remediation(id: string): Promise<RemediationView & { history: LifecycleEvent[] }> {
    const res = await this.call('GET', `/v1/remediations/${encodeURIComponent(id)}`);
    if (res.status !== 200) throw new Error(`GET /v1/remediations/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** The whole global feed through GET /v1/events, a page at a time with `next`, until a page comes back empty. */
  async feed(limit = 250): Promise<{ events: LifecycleEvent[]; pages: number }> {
    const events: LifecycleEvent[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res = await this.call('GET', `/v1/events?limit=${limit}${after ? `&after=${after}` : ''}`);
      if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}: ${JSON.stringify(res.body)}`);
      pages++;
      const page = res.body as { events: LifecycleEvent[]; next: string | null };
      if (page.events.length === 0) return { events, pages };
      events.push(...page.events);
      after = page.next;
    }
  }

  /**
   * Every remediation with its history and the whole feed, read from Redis in ONE transaction (MULTI): a snapshot
   * in which a commit is either entirely seen or not at all, whatever the daemons are doing meanwhile.
   */
  async snapshot(): Promise<{ remediations: Array<{ r: Remediation; history: LifecycleEvent[] }>; feed: LifecycleEvent[] }> {
    const redis = this.client as Redis;
    const key = (...parts: string[]) => [this.prefix, ...parts].join(':');
    for (;;) {
      // Closed remediations are listed in `rems`, open ones in `open`.
      const every = (closed: string[], open: string[]) => [...new Set([...closed, ...open])].sort();
      const ids = every(await redis.zrange(key('rems'), '0', '-1'), await redis.zrange(key('open'), '0', '-1'));
      // The indexes are read again inside the transaction: a remediation created or closed meanwhile → read again.
      const m = redis.multi().zrange(key('rems'), '0', '-1').zrange(key('open'), '0', '-1');
      for (const id of ids) m.getBuffer(key('rem', id)).lrangeBuffer(key('rem', id, 'history'), 0, -1);
      m.xrange(key('events'), '-', '+');
      const results = await m.exec();
      if (!results) throw new Error('the snapshot transaction was aborted');
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      const again = every(results[0][1] as string[], results[1][1] as string[]);
      if (again.join() !== ids.join()) continue;
      const remediations = ids.map((id, i) => ({
        r: readStoredRemediation(results[2 + 2 * i][1] as Buffer),
        history: (results[3 + 2 * i][1] as Buffer[]).map((e) => readStoredHistoryEntry(e, id)),
      }));
      const stream = results[results.length - 1][1] as Array<[string, string[]]>;
      // Each feed entry points at its event in a remediation's history (read in the same transaction).
      const histories = new Map(ids.map((id, i) => [id, remediations[i].history]));
      const feed = stream.map(([entryId, fields]) => {
        const event = histories.get(fields[fields.indexOf('r') + 1])?.[Number(fields[fields.indexOf('i') + 1])];
        if (!event) throw new Error(`feed entry ${entryId} points at no event (${fields.join(' ')})`);
        return event;
      });
      return { remediations, feed };
    }
  }

  async stop(opts: { keepLogs: boolean }): Promise<void> {
    this.client?.disconnect();
    await Promise.all(this.daemons.map((d) => d.dispose()));
    await this.emulator.close();
    await this.recorder.close();
    await this.redis.destroy();
    if (opts.keepLogs) console.log(`chaos ${this.opts.label}: daemon logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
