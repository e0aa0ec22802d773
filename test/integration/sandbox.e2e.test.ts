/**
 * The README's front door: the daemon on its embedded sandbox (no GOOGLE_CREDENTIALS_FILE), driven with the
 * README's own curl body. It uses Redis db 13 so that the sandbox's default key prefix can be exercised as it is.
 */
import { Redis } from 'ioredis';
import { App } from '../../src/app';
import { loadConfig, SANDBOX_KEY_PREFIX } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { deleteKeysUnder } from '../../src/store/key-prefix';
import { DaemonClient } from '../support/daemon-client';
import { freePort } from '../support/free-port';
import { TEST_REDIS_URL } from '../support/redis';
import { TestClock } from '../support/test-clock';
import { waitFor } from '../support/wait';

const SANDBOX_REDIS_URL = TEST_REDIS_URL.replace(/(\/\d+)?$/, '/13');

// As in the README's quick start.
const README_EVENT = {
  type: 'policy_failing',
  host: { id: 42, display_name: 'Alice’s MacBook', serial_number: 'C02XYZ', emails: ['alice@example.com'], team_id: 1 },
  policy: {
    id: 7,
    name: 'Disk encryption enabled',
    description: 'An unencrypted disk exposes company data if the laptop is lost.',
    resolution: 'We will turn on FileVault; the laptop restarts once.',
  },
  occurred_at: '2026-11-22T10:00:00Z',
};

describe('the sandbox (npm start with no Google credentials)', () => {
  // Tuesday, three seconds before 10:00 in Zurich: Alice's stand-up fills 09:00–10:00, so 10:00 is her first slot.
  const clock = new TestClock('2026-11-24T09:59:57+01:00');
  const redis = new Redis(SANDBOX_REDIS_URL);
  let app: App;
  let daemon: DaemonClient;
  let base: string;

  async function clearDb(): Promise<void> {
    await deleteKeysUnder(redis, SANDBOX_KEY_PREFIX);
    await deleteKeysUnder(redis, '{mw}:sandbox-test');
  }

  beforeAll(async () => {
    await clearDb();
    // What an earlier sandbox run left behind, and a live daemon's key that must survive.
    await redis.set(`${SANDBOX_KEY_PREFIX}:host:42:open`, 'h42-1');
    await redis.set(`${SANDBOX_KEY_PREFIX}:rem:h42-1`, '{"stale":true}');
    await redis.set('{mw}:sandbox-test:live', 'untouched');
    const port = await freePort();
    const config = loadConfig({ REDIS_URL: SANDBOX_REDIS_URL, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    expect(config.google.mode).toBe('sandbox');
    expect(config.redis.keyPrefix).toBe(SANDBOX_KEY_PREFIX);
    app = await App.create({ config, clock, logger: createLogger('silent') });
    await app.start();
    base = `http://127.0.0.1:${port}`;
    daemon = new DaemonClient(base);
  });
  afterAll(async () => {
    await app?.stop();
    await clearDb();
    redis.disconnect();
  });

  it('starts from a clean slate under its own prefix, books Alice after her stand-up, and fires into the sink', async () => {
    expect(await redis.get(`${SANDBOX_KEY_PREFIX}:rem:h42-1`)).toBeNull();
    expect(await redis.get(`${SANDBOX_KEY_PREFIX}:host:42:open`)).toBeNull();
    expect(await redis.get('{mw}:sandbox-test:live')).toBe('untouched');

    expect(await daemon.post('/v1/policy-events', README_EVENT)).toEqual({ status: 202, body: { accepted: 1 } });
    const booked = await daemon.waitForStatus(42, 'booked');
    expect(booked).toMatchObject({ id: 'h42-1', email: 'alice@example.com', time_zone: 'Europe/Zurich', start: '2026-11-24T10:00:00.000+01:00' });

    const calendar = (await (await fetch(`${base}/sandbox/calendars/alice@example.com/events`)).json()) as {
      events: Array<{ id: string; summary: string; description?: string }>;
    };
    const summaries = calendar.events.map((e) => e.summary);
    expect(summaries).toEqual(expect.arrayContaining(['Team stand-up', 'Lunch', 'Scheduled maintenance']));
    const window = calendar.events.find((e) => e.id === booked.calendar_event_id);
    expect(window?.description).toContain('An unencrypted disk exposes company data if the laptop is lost.');

    await daemon.waitForStatus(42, 'fired', 10_000);
    const sink = async () =>
      ((await (await fetch(`${base}/sandbox/deliveries`)).json()) as { deliveries: Array<{ body: Record<string, unknown> }> }).deliveries;
    await waitFor(async () => (await sink()).length === 1, { what: 'sandbox sink delivery' });
    const [delivery] = await sink();
    expect(delivery.body).toEqual({
      timestamp: expect.any(String),
      host_id: 42,
      host_display_name: 'Alice’s MacBook',
      host_serial_number: 'C02XYZ',
      failing_policies: [{ id: 7, name: 'Disk encryption enabled' }],
    });
  });
});

describe('the Microsoft 365 sandbox (CALENDAR_PROVIDER=microsoft npm start)', () => {
  // Tuesday, three seconds before 10:00 in Berlin: Alice's stand-up (W. Europe Standard Time) fills 09:00–10:00.
  const clock = new TestClock('2026-11-24T09:59:57+01:00');
  const redis = new Redis(SANDBOX_REDIS_URL);
  let app: App;
  let daemon: DaemonClient;
  let base: string;

  beforeAll(async () => {
    clock.set('2026-11-24T09:59:57+01:00');
    await deleteKeysUnder(redis, SANDBOX_KEY_PREFIX);
    const port = await freePort();
    const config = loadConfig({ CALENDAR_PROVIDER: 'microsoft', REDIS_URL: SANDBOX_REDIS_URL, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    expect(config.microsoft).toEqual({ mode: 'sandbox' });
    expect(config.redis.keyPrefix).toBe(SANDBOX_KEY_PREFIX);
    app = await App.create({ config, clock, logger: createLogger('silent') });
    await app.start();
    base = `http://127.0.0.1:${port}`;
    daemon = new DaemonClient(base);
  });
  afterAll(async () => {
    await app?.stop();
    await deleteKeysUnder(redis, SANDBOX_KEY_PREFIX);
    redis.disconnect();
  });

  it('books the demo mailbox alice@contoso.com after her stand-up (Windows zone mapped), watches it, and fires into the sink', async () => {
    const event = { ...README_EVENT, host: { ...README_EVENT.host, emails: ['alice@contoso.com'] } };
    expect(await daemon.post('/v1/policy-events', event)).toEqual({ status: 202, body: { accepted: 1 } });
    const booked = await daemon.waitForStatus(42, 'booked');
    expect(booked).toMatchObject({ email: 'alice@contoso.com', time_zone: 'Europe/Berlin', start: '2026-11-24T10:00:00.000+01:00' });
    const calendar = (await (await fetch(`${base}/sandbox/calendars/alice@contoso.com/events`)).json()) as {
      events: Array<{ id: string; summary: string; description?: string }>;
    };
    expect(calendar.events.map((e) => e.summary)).toEqual(expect.arrayContaining(['Team stand-up', 'Scheduled maintenance']));
    expect(calendar.events.find((e) => e.id === booked.calendar_event_id)?.description).toContain('An unencrypted disk exposes company data');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    await daemon.waitForStatus(42, 'fired', 10_000);
    const sink = async () =>
      ((await (await fetch(`${base}/sandbox/deliveries`)).json()) as { deliveries: Array<{ body: Record<string, unknown> }> }).deliveries;
    await waitFor(async () => (await sink()).length === 1, { what: 'sandbox sink delivery' });
    expect((await sink())[0].body).toMatchObject({ host_id: 42, failing_policies: [{ id: 7, name: 'Disk encryption enabled' }] });
  });
});
