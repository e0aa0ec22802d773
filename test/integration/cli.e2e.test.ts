import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { main } from '../../src/cli/main';
import { CALENDAR_SCOPES } from '../../src/google/google-auth';
import { CalendarEmulator, createServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { GraphEmulator } from '../../src/sandbox/graph-emulator';
import { policyEvent, TEST_TOKENS } from '../support/daemon-client';
import { HttpRecorder } from '../support/http-recorder';
import { RedisServer } from '../support/redis-server';
import { startTestEnv } from '../support/test-app';
import { TestClock } from '../support/test-clock';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

const [EVENTS, SETTINGS, FREEBUSY] = CALENDAR_SCOPES;
const dir = mkdtempSync(join(tmpdir(), 'mw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI in-process with this environment only (no .env in its working directory); captures its output. */
async function cli(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; json: any }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: dir });
  let json: unknown;
  if (argv.includes('--json')) json = JSON.parse(stdout);
  return { code, stdout, stderr, json };
}

const checksByName = (json: { checks: Array<{ name: string; status: string; detail: string }> }) => Object.fromEntries(json.checks.map((c) => [c.name, c]));

describe('maintenance-windows doctor / preview on Microsoft 365 (the Graph emulator)', () => {
  const graph = new GraphEmulator({ now: () => Date.parse('2026-11-23T12:00:00Z') });
  const clientId = '0b6a3c1e-2d4f-4a8b-9c7e-5f1a2b3c4d5e';
  const redis = new RedisServer();
  const previous = getGlobalDispatcher();
  let env: Record<string, string>;

  beforeAll(async () => {
    await graph.listen();
    await redis.start();
    graph.registerApp({ clientId, secret: 'Mq8~cli-secret-value' });
    graph.addMailbox('mona@contoso.com', { timeZone: 'W. Europe Standard Time' });
    graph.addBusy('mona@contoso.com', '2026-11-24T08:00:00Z', '2026-11-24T09:00:00Z');
    // In-process CLI: its Graph and Entra requests go through undici's global dispatcher, here one that trusts the emulator.
    setGlobalDispatcher(graph.dispatcher);
    env = {
      REDIS_URL: redis.url,
      CALENDAR_PROVIDER: 'microsoft',
      MICROSOFT_TENANT_ID: graph.tenantId,
      MICROSOFT_CLIENT_ID: clientId,
      MICROSOFT_CLIENT_SECRET: 'Mq8~cli-secret-value',
      MICROSOFT_GRAPH_URL: graph.baseUrl,
      MICROSOFT_LOGIN_URL: graph.baseUrl,
      INGEST_TOKEN: TEST_TOKENS.ingest,
      ADMIN_TOKEN: TEST_TOKENS.admin,
      RESOLUTION_WEBHOOK_URL: 'https://hooks.example.com/x',
      PUBLIC_URL: 'https://mw.acme.com',
    };
  });
  afterAll(async () => {
    setGlobalDispatcher(previous);
    await graph.close();
    await redis.destroy();
  });

  it('doctor: credentials, a token, mailbox settings and getSchedule as the given user', async () => {
    const r = await cli(['doctor', '--user', 'mona@contoso.com', '--json'], env);
    const checks = checksByName(r.json);
    expect(Object.keys(checks).filter((n) => n.startsWith('microsoft.'))).toEqual(['microsoft.credentials', 'microsoft.token', 'microsoft.mailbox-settings', 'microsoft.get-schedule']);
    expect(checks['microsoft.mailbox-settings']).toMatchObject({ status: 'pass', detail: 'mailboxSettings answer for mona@contoso.com (time zone Europe/Berlin)' });
    expect(checks['microsoft.get-schedule'].status).toBe('pass');
    expect(r.json.checks.filter((c: { status: string }) => c.status !== 'pass')).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('doctor: a refused secret fails the token check and skips the mailbox checks', async () => {
    const r = await cli(['doctor', '--user', 'mona@contoso.com', '--json'], { ...env, MICROSOFT_CLIENT_SECRET: 'wrong-secret' });
    const checks = checksByName(r.json);
    expect(checks['microsoft.token']).toMatchObject({ status: 'fail', detail: expect.stringContaining('invalid_client') });
    expect(checks['microsoft.mailbox-settings']).toBeUndefined();
    expect(r.code).toBe(1);
  });

  it('preview: the mailbox zone and getSchedule decide the slot, nothing is written', async () => {
    const r = await cli(['preview', '--email', 'mona@contoso.com', '--at', '2026-11-23T12:00:00Z', '--json'], env);
    expect(r.code).toBe(0);
    expect(r.json.preview).toMatchObject({ email: 'mona@contoso.com', time_zone: 'Europe/Berlin', day: '2026-11-24', start: '2026-11-24T10:00:00.000+01:00' });
    expect(graph.events('mona@contoso.com')).toHaveLength(1);
  });
});

describe('maintenance-windows doctor / preview against the Calendar emulator', () => {
  const emulator = new CalendarEmulator({ autoCreateUsers: false });
  const key = createServiceAccountKey();
  const keyFile = join(dir, 'key.json');
  const redis = new RedisServer();
  let env: Record<string, string>;

  beforeAll(async () => {
    await emulator.listen(0);
    await redis.start();
    writeFileSync(keyFile, JSON.stringify(key));
    emulator.addUser('dora@acme.com', { timeZone: 'Europe/Zurich' });
    env = {
      REDIS_URL: redis.url,
      GOOGLE_CREDENTIALS_FILE: keyFile,
      GOOGLE_API_URL: emulator.baseUrl,
      GOOGLE_TOKEN_URL: emulator.tokenUrl,
      INGEST_TOKEN: TEST_TOKENS.ingest,
      ADMIN_TOKEN: TEST_TOKENS.admin,
      RESOLUTION_WEBHOOK_URL: 'https://hooks.example.com/x',
      PUBLIC_URL: 'https://mw.acme.com',
    };
  });
  afterAll(async () => {
    await emulator.close();
    await redis.destroy();
  });

  it('names the scope missing from domain-wide delegation, and fails', async () => {
    emulator.trustServiceAccount(key, { scopes: [EVENTS, SETTINGS] });
    const r = await cli(['doctor', '--user', 'dora@acme.com', '--json'], env);
    expect(r.code).toBe(1);
    const checks = checksByName(r.json);
    expect(r.json.ok).toBe(false);
    expect(checks['google.key-file'].status).toBe('pass');
    expect(checks['google.scope.calendar.events'].status).toBe('pass');
    expect(checks['google.scope.calendar.settings.readonly'].status).toBe('pass');
    expect(checks['google.scope.calendar.freebusy']).toMatchObject({ status: 'fail' });
    expect(checks['google.scope.calendar.freebusy'].detail).toContain(FREEBUSY);
    expect(checks['google.scope.calendar.freebusy'].detail).toContain('unauthorized_client');
    expect(checks['google.calendar'].status).toBe('warn');

    const human = await cli(['doctor', '--user', 'dora@acme.com'], env);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^FAIL\s+google\.scope\.calendar\.freebusy\s+no token for dora@acme\.com with https:\/\/www\.googleapis\.com\/auth\/calendar\.freebusy/m);
    expect(human.stdout).toMatch(/^FAILED: \d+ passed, \d+ warnings, 1 failed$/m);
  });

  it('passes every check when the scopes are delegated, Redis keeps its data and PUBLIC_URL is HTTPS', async () => {
    emulator.trustServiceAccount(key, { scopes: [...CALENDAR_SCOPES] });
    const r = await cli(['doctor', '--user', 'dora@acme.com', '--json'], env);
    expect(r.json.checks.filter((c: { status: string }) => c.status !== 'pass')).toEqual([]);
    expect(r.code).toBe(0);
    const checks = checksByName(r.json);
    expect(Object.keys(checks)).toEqual([
      'redis.ping',
      'redis.maxmemory-policy',
      'redis.persistence',
      'google.key-file',
      'google.scope.calendar.events',
      'google.scope.calendar.settings.readonly',
      'google.scope.calendar.freebusy',
      'google.settings',
      'google.freebusy',
      'public-url.https',
    ]);
    expect(checks['google.settings'].detail).toContain('Europe/Zurich');
    expect(checks['redis.persistence'].detail).toContain('AOF');
  });

  it('fails an evicting Redis, warns of one without persistence, a plain-HTTP PUBLIC_URL and a missing --user', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await admin.config('SET', 'appendonly', 'no');
      await admin.config('SET', 'save', '');
      const r = await cli(['doctor', '--json'], { ...env, PUBLIC_URL: 'http://mw.acme.com' });
      expect(r.code).toBe(1);
      const checks = checksByName(r.json);
      expect(checks['redis.maxmemory-policy']).toMatchObject({ status: 'fail' });
      expect(checks['redis.maxmemory-policy'].detail).toContain('allkeys-lru');
      expect(checks['redis.persistence'].status).toBe('warn');
      expect(checks['public-url.https'].status).toBe('warn');
      expect(checks['google.token']).toMatchObject({ status: 'warn' });
      expect(checks['google.token'].detail).toContain('--user');
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction').catch(() => undefined);
      await admin.config('SET', 'appendonly', 'yes').catch(() => undefined);
      admin.disconnect();
    }
  });

  it('fails when Redis does not answer, and when Fleet refuses its token', async () => {
    const fleet = await new HttpRecorder().start();
    try {
      fleet.status = 401;
      const r = await cli(['doctor', '--json'], { ...env, REDIS_URL: 'redis://127.0.0.1:1', FLEET_URL: fleet.url, FLEET_API_TOKEN: 'fleet-token-1' });
      expect(r.code).toBe(1);
      const checks = checksByName(r.json);
      expect(checks['redis.ping']).toMatchObject({ status: 'fail' });
      expect(checks['redis.ping'].detail).toContain('redis://127.0.0.1:1');
      expect(checks.fleet).toMatchObject({ status: 'fail' });
      expect(checks.fleet.detail).toContain('refuses FLEET_API_TOKEN');
      fleet.status = 200;
      const ok = await cli(['doctor', '--json'], { ...env, FLEET_URL: fleet.url, FLEET_API_TOKEN: 'fleet-token-1' });
      expect(checksByName(ok.json).fleet.status).toBe('pass');
      expect(fleet.requests.at(-1)).toMatchObject({ url: '/api/v1/fleet/me', headers: { authorization: 'Bearer fleet-token-1' } });
    } finally {
      await fleet.close();
    }
  });

  it('preview: where a window would land, asking freeBusy and writing nothing', async () => {
    emulator.trustServiceAccount(key, { scopes: [...CALENDAR_SCOPES] });
    const owner = 'pia@acme.com';
    emulator.addUser(owner, { timeZone: 'Europe/Zurich' });
    emulator.createEventAsOwner(owner, { summary: 'Stand-up', start: { dateTime: '2026-11-24T09:00:00+01:00' }, end: { dateTime: '2026-11-24T10:00:00+01:00' } });
    emulator.resetCalls();
    const r = await cli(['preview', '--email', owner, '--policy-ids', '7,9', '--team-id', '3', '--at', '2026-11-23T12:00:00Z', '--json'], env);
    expect(r.code).toBe(0);
    expect(r.json.preview).toEqual({
      email: owner,
      time_zone: 'Europe/Zurich',
      time_zone_fallback: null,
      day: '2026-11-24',
      start: '2026-11-24T10:00:00.000+01:00',
      end: '2026-11-24T10:30:00.000+01:00',
      only_time_left: false,
      policy_ids: [7, 9],
      team_id: 3,
    });
    expect(emulator.callCounts({ owner })).toEqual({ token: 1, 'settings.get': 1, 'freebusy.query': 1 });
    expect(emulator.events(owner)).toHaveLength(1);

    const human = await cli(['preview', '--email', owner, '--at', '2026-11-23T12:00:00Z'], env);
    expect(human.stdout).toContain('time zone: Europe/Zurich');
    expect(human.stdout).toContain('slot:      2026-11-24T10:00:00.000+01:00 – 2026-11-24T10:30:00.000+01:00');
  });

  it('preview: the only time left on a full day, and the fallback zone when settings cannot be read', async () => {
    const full = 'full@acme.com';
    emulator.addUser(full, { timeZone: 'America/New_York' });
    emulator.createEventAsOwner(full, { summary: 'Offsite', start: { dateTime: '2026-11-24T08:00:00-05:00' }, end: { dateTime: '2026-11-24T18:00:00-05:00' } });
    const r = await cli(['preview', '--email', full, '--at', '2026-11-23T12:00:00Z', '--json'], env);
    expect(r.json.preview).toMatchObject({ start: '2026-11-24T16:30:00.000-05:00', only_time_left: true });
    expect((await cli(['preview', '--email', full, '--at', '2026-11-23T12:00:00Z'], env)).stdout).toContain('only time left');

    const hidden = 'no.settings@acme.com';
    emulator.addUser(hidden, { timeZone: 'Asia/Tokyo', settingsError: 500 });
    const f = await cli(['preview', '--email', hidden, '--at', '2026-11-23T12:00:00Z', '--json'], env);
    expect(f.json.preview).toMatchObject({ time_zone: 'America/New_York', time_zone_fallback: 'missing', start: '2026-11-24T09:00:00.000-05:00' });
  });

  it('preview under MAINTENANCE_CONFIG_FILE: the team’s and policy’s rules in force, as the daemon’s GET /v1/preview', async () => {
    emulator.trustServiceAccount(key, { scopes: [...CALENDAR_SCOPES] });
    const owner = 'theo@acme.com';
    emulator.addUser(owner, { timeZone: 'Europe/Zurich' });
    const file = join(mkdtempSync(join(tmpdir(), 'mw-cli-policies-')), 'maintenance.yaml');
    writeFileSync(
      file,
      [
        'teams:',
        '  "5": { window: { rrule: "FREQ=WEEKLY;BYDAY=TH", start: "13:00", end: "15:00", slot_minutes: 60 } }',
        'policies:',
        '  "7": { window: { rrule: "FREQ=WEEKLY;BYDAY=FR" } }',
      ].join('\n'),
    );
    try {
      const team = await cli(['preview', '--email', owner, '--team-id', '5', '--at', '2026-11-23T12:00:00Z', '--json'], { ...env, MAINTENANCE_CONFIG_FILE: file });
      expect(team.code).toBe(0);
      expect(team.json.preview).toMatchObject({ time_zone: 'Europe/Zurich', day: '2026-11-26', start: '2026-11-26T13:00:00.000+01:00', end: '2026-11-26T14:00:00.000+01:00' });
      // The policy's days beat its team's, field by field (its hours stay the team's).
      const policy = await cli(['preview', '--email', owner, '--team-id', '5', '--policy-ids', '7', '--at', '2026-11-23T12:00:00Z', '--json'], { ...env, MAINTENANCE_CONFIG_FILE: file });
      expect(policy.json.preview).toMatchObject({ day: '2026-11-27', start: '2026-11-27T13:00:00.000+01:00' });
      expect(emulator.events(owner)).toHaveLength(0);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('preview: refuses without --email, and without real calendars', async () => {
    const r = await cli(['preview'], env);
    expect(r).toMatchObject({ code: 1, stderr: 'maintenance-windows: preview needs --email EMAIL\n' });
    const s = await cli(['preview', '--email', 'a@acme.com', '--json'], { REDIS_URL: redis.url });
    expect(s.code).toBe(1);
    expect(s.json).toEqual({ ok: false, error: expect.stringContaining('GOOGLE_CREDENTIALS_FILE is not set') });
  });
});

describe('maintenance-windows test-webhook', () => {
  const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
  let receiver: HttpRecorder;
  beforeAll(async () => {
    receiver = await new HttpRecorder().start();
  });
  afterAll(() => receiver.close());

  it('sends a signed sample of Fleet’s payload with a test_ webhook-id, and prints the answer', async () => {
    const r = await cli(['test-webhook', '--json'], {
      RESOLUTION_WEBHOOK_URL: `${receiver.url}/tines`,
      WEBHOOK_SECRET: secret,
      RESOLUTION_WEBHOOK_HEADERS: 'Authorization: Bearer tines-secret-123',
    });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, status: 200, signed: true, url: `${receiver.url}/tines` });
    const [req] = receiver.requests;
    expect(req.url).toBe('/tines');
    expect(req.headers.authorization).toBe('Bearer tines-secret-123');
    expect(req.headers['webhook-id']).toBe(r.json.webhook_id);
    expect(r.json.webhook_id).toMatch(/^test_[0-9a-f]{24}$/);
    // Verified the way a receiver would, with the reference Standard Webhooks library.
    expect(() => new Webhook(secret.slice('whsec_'.length)).verify(req.rawBody, req.headers as Record<string, string>)).not.toThrow();
    const body = JSON.parse(req.rawBody);
    expect(Object.keys(body)).toEqual(['timestamp', 'host_id', 'host_display_name', 'host_serial_number', 'failing_policies']);
    expect(body.failing_policies).toEqual([{ id: 0, name: expect.any(String) }]);
  });

  it('--url overrides; a non-2xx answer or no answer fails (exit 1) and says so', async () => {
    receiver.status = 500;
    const r = await cli(['test-webhook', '--url', `${receiver.url}/other`], { WEBHOOK_SECRET: secret });
    receiver.status = 200;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('answer: HTTP 500');
    expect(receiver.requests.at(-1)?.url).toBe('/other');
    const gone = await cli(['test-webhook', '--url', 'http://127.0.0.1:1/x'], {});
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/UNSIGNED[\s\S]*no answer: receiver unreachable/);
    const none = await cli(['test-webhook'], {});
    expect(none).toMatchObject({ code: 1, stderr: 'maintenance-windows: no receiver: set RESOLUTION_WEBHOOK_URL or pass --url\n' });
  });
});

describe('maintenance-windows redeliver (against a running daemon)', () => {
  it('sends a fired window’s webhook again with a new webhook-id; an unknown id fails', async () => {
    const clock = new TestClock('2026-11-23T12:00:00Z');
    const env = await startTestEnv({ label: 'cli-redeliver', clock });
    try {
      const owner = 'rex@acme.com';
      env.emulator.addUser(owner, { timeZone: 'UTC' });
      await env.client.post('/v1/policy-events', policyEvent('policy_failing', { id: 701, emails: [owner] }));
      const booked = await env.client.waitForStatus(701, 'booked');
      expect((await env.client.post(`/v1/remediations/${booked.id}/fire-now`, {})).status).toBe(200);
      await env.client.waitForStatus(701, 'fired');
      const first = env.webhook.requests.filter((q) => q.url === '/resolution');
      expect(first).toHaveLength(1);

      const cliEnv = { ADMIN_TOKEN: TEST_TOKENS.admin };
      const r = await cli(['redeliver', booked.id, '--url', env.url], cliEnv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^redelivery 2 of ${booked.id} started: webhook-id msg_\\S+_d2\\n$`));
      const again = await waitFor(() => env.webhook.requests.filter((q) => q.url === '/resolution')[1], { what: 'redelivery' });
      expect(again.rawBody).toBe(first[0].rawBody);
      expect(again.headers['webhook-id']).not.toBe(first[0].headers['webhook-id']);

      const unknown = await cli(['redeliver', 'h999-1', '--url', env.url, '--json'], cliEnv);
      expect(unknown.code).toBe(1);
      expect(unknown.json).toMatchObject({ ok: false, status: 404, code: 'NOT_FOUND' });
      // A window that has not fired has nothing to redeliver: the daemon's 409, reported and exit 1.
      await env.client.post('/v1/policy-events', policyEvent('policy_failing', { id: 702, emails: ['ned@acme.com'] }));
      const notFired = await env.client.waitForStatus(702, 'booked');
      const refused = await cli(['redeliver', notFired.id, '--url', env.url], cliEnv);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^redelivery refused: HTTP 409 NOTHING_TO_REDELIVER: /);
      const noToken = await cli(['redeliver', booked.id, '--url', env.url], {});
      expect(noToken.code).toBe(1);
      expect(noToken.stdout).toContain('HTTP 401');
    } finally {
      await env.stop();
    }
  });
});

describe('the maintenance-windows command (a process)', () => {
  const bin = join(__dirname, '../../src/cli/bin.ts');
  const tsx = join(__dirname, '../../node_modules/.bin/tsx');
  const spawnCli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(tsx, [bin, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('--help exits 0; a bad command line or configuration exits 1 with one line', async () => {
    const help = await spawnCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: maintenance-windows <command>/);
    for (const command of ['doctor', 'preview', 'test-webhook', 'redeliver']) expect(help.stdout).toContain(command);
    const bad = await spawnCli(['frobnicate']);
    expect(bad).toMatchObject({ code: 1, stderr: 'maintenance-windows: unknown command "frobnicate" (doctor, preview, test-webhook, redeliver); see --help\n' });
    const config = await spawnCli(['doctor', '--json'], { REDIS_CLUSTER_NODES: 'n1:7000,oops' });
    expect(config.code).toBe(1);
    expect(JSON.parse(config.stdout)).toEqual({ ok: false, error: 'invalid configuration: REDIS_CLUSTER_NODES must be a comma-separated list of host:port (bad entry "oops")' });
  });

  it('reads .env from its working directory (the environment wins)', async () => {
    const receiver = await new HttpRecorder().start();
    try {
      const fromFile = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
      const fromEnv = `whsec_${Buffer.alloc(24, 2).toString('base64')}`;
      writeFileSync(join(dir, '.env'), `RESOLUTION_WEBHOOK_URL=${receiver.url}/from-dotenv\nWEBHOOK_SECRET=${fromFile}\n`);
      const r = await spawnCli(['test-webhook', '--json'], { WEBHOOK_SECRET: fromEnv });
      expect(r.code).toBe(0);
      const [req] = receiver.requests;
      expect(receiver.requests.map((q) => q.url)).toEqual(['/from-dotenv']);
      const headers = req.headers as Record<string, string>;
      expect(() => new Webhook(fromEnv.slice('whsec_'.length)).verify(req.rawBody, headers)).not.toThrow();
      expect(() => new Webhook(fromFile.slice('whsec_'.length)).verify(req.rawBody, headers)).toThrow();
    } finally {
      rmSync(join(dir, '.env'), { force: true });
      await receiver.close();
    }
  });
});
