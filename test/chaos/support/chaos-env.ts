import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { RemediationView } from '../../../src/domain/remediation';
import { OWNED_BY_PROPERTY } from '../../../src/domain/event-id';
import { CalendarEmulator, createServiceAccountKey } from '../../../src/sandbox/calendar-emulator';
import { testAuthHeaders } from '../../support/daemon-client';
import { DaemonProcess } from '../../support/daemon-process';
import { freePort } from '../../support/free-port';
import { RedisServer } from '../../support/redis-server';
import { DeliveryRecorder } from './delivery-recorder';

/** A Tuesday: owners in UTC get the 09:00 slot, which starts `leadMs` after the scenario begins. */
export const FIRE_AT = Date.parse('2026-11-24T09:00:00Z');

export interface ChaosEnvOptions {
  label: string;
  daemons: number;
  /** Real milliseconds from setup until FIRE_AT (virtual) is reached. */
  leadMs: number;
  logLevel?: string;
  /**
   * Every daemon advertises the first one's URL as PUBLIC_URL, as replicas behind one load balancer do (here it
   * reaches d1 only): push channels opened by any of them notify d1. Default: each its own URL.
   */
  sharedPublicUrl?: boolean;
}

/**
 * Several real daemon processes on one private Redis, the Google Calendar emulator and the webhook receiver in
 * the test process, all on one shifted clock (CLOCK_OFFSET_MS): Tuesday 09:00 UTC comes `leadMs` after setup.
 * Logs and Redis data stay in a temp directory that is removed at the end unless the scenario failed.
 */
export class ChaosEnv {
  readonly redis = new RedisServer();
  readonly recorder = new DeliveryRecorder();
  readonly daemons: DaemonProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'mw-chaos-'));
  readonly offsetMs: number;
  readonly emulator: CalendarEmulator;
  readonly prefix: string;

  private constructor(readonly opts: ChaosEnvOptions) {
    this.offsetMs = FIRE_AT - opts.leadMs - Date.now();
    this.emulator = new CalendarEmulator({ now: () => Date.now() + this.offsetMs, autoCreateUsers: true, defaultTimeZone: 'UTC' });
    this.prefix = `{mw-chaos-${opts.label}}`;
  }

  static async start(opts: ChaosEnvOptions): Promise<ChaosEnv> {
    const env = new ChaosEnv(opts);
    await env.redis.start();
    await env.emulator.listen(0);
    await env.recorder.start();
    const key = createServiceAccountKey();
    env.emulator.trustServiceAccount(key);
    const keyFile = join(env.dir, 'service-account.json');
    writeFileSync(keyFile, JSON.stringify(key));
    const firstPort = await freePort();
    const publicUrl = opts.sharedPublicUrl ? `http://127.0.0.1:${firstPort}` : undefined;
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
          ...(i === 1 ? { port: firstPort } : {}),
          publicUrl,
        }),
      );
    }
    await Promise.all(env.daemons.map((d) => d.start()));
    return env;
  }

  /** The virtual now every daemon and the emulator agree on. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Real milliseconds until FIRE_AT. */
  msUntilFire(): number {
    return FIRE_AT - this.now();
  }

  live(): DaemonProcess[] {
    return this.daemons.filter((d) => d.alive);
  }

  /**
   * Posts events to a random live daemon, as a producer with retries would: a refused connection (the daemon was
   * just killed) or a 503 goes to another daemon. Resolves the status of the answer that ended it.
   */
  async post(events: unknown[], opts: { attempts?: number } = {}): Promise<{ status: number; daemon: string; tries: number }> {
    let tries = 0;
    for (;;) {
      tries++;
      const candidates = this.live();
      const daemon = candidates[Math.floor(Math.random() * candidates.length)];
      if (daemon) {
        const status = await postJson(`${daemon.url}/v1/policy-events`, events);
        if (status === 202 || status === 400 || tries >= (opts.attempts ?? 50)) return { status, daemon: daemon.name, tries };
      } else if (tries >= (opts.attempts ?? 50)) return { status: 0, daemon: '-', tries };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every remediation (all pages), read from any live daemon. */
  async remediations(): Promise<RemediationView[]> {
    for (const d of this.live()) {
      try {
        const all: RemediationView[] = [];
        let cursor: string | null = null;
        do {
          const res = await request(`${d.url}/v1/remediations?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
            headers: testAuthHeaders('/v1/remediations'),
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          if (res.statusCode !== 200) {
            await res.body.dump();
            throw new Error(`GET /v1/remediations answered ${res.statusCode}`);
          }
          const page = (await res.body.json()) as { remediations: RemediationView[]; next: string | null };
          all.push(...page.remediations);
          cursor = page.next;
        } while (cursor);
        return all;
      } catch {
        // killed meanwhile (or not ready): ask the next one
      }
    }
    throw new Error('no live daemon answered GET /v1/remediations');
  }

  /** Our events (private property set, not cancelled) in one owner's calendar. */
  ourEvents(owner: string) {
    return this.emulator.events(owner).filter((e) => e.extendedProperties?.private?.[OWNED_BY_PROPERTY] !== undefined);
  }

  async stop(opts: { keepLogs: boolean }): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.dispose()));
    await this.emulator.close();
    await this.recorder.close();
    await this.redis.destroy();
    if (opts.keepLogs) console.log(`chaos ${this.opts.label}: daemon logs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** POSTs JSON; 0 when the connection failed. */
export async function postJson(url: string, body: unknown): Promise<number> {
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...testAuthHeaders(url) },
      body: JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

let occurred = Date.parse('2026-11-20T00:00:00Z');

/** A failing-policy event for one host and owner; every call gets a distinct occurred_at. */
export function failing(hostId: number, owner: string, policyId = 7) {
  occurred += 1000;
  return {
    type: 'policy_failing',
    host: { id: hostId, display_name: `Laptop ${hostId}`, serial_number: `SN${hostId}`, emails: [owner], team_id: 1 },
    policy: { id: policyId, name: `Policy ${policyId}`, description: 'Why it matters', resolution: 'What we do' },
    occurred_at: new Date(occurred).toISOString(),
  };
}
