import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, isSandbox, loadConfig, pushPossible } from '../../src/config';
import { defaultSchedulingRules } from '../../config/scheduling';

/** A real deployment (Google credentials) needs both tokens. */
const TOKENS = { INGEST_TOKEN: 'i'.repeat(16), ADMIN_TOKEN: 'a'.repeat(16) };
/** ...and somewhere to send the resolution webhook. */
const WEBHOOK = { RESOLUTION_WEBHOOK_URL: 'https://hooks.example.com/fix' };

describe('loadConfig', () => {
  it('applies the documented defaults on an empty environment (sandbox mode)', () => {
    const c = loadConfig({});
    // The sandbox keeps its state apart from a live daemon's ({mw}), even on the same Redis.
    expect(c.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      urlFromEnv: false,
      keyPrefix: '{mw-sandbox}',
      connection: { deployment: { kind: 'url', url: 'redis://127.0.0.1:6379' }, tlsCaFile: undefined },
    });
    expect(c.http).toEqual({ port: 8080, host: '0.0.0.0', publicUrl: 'http://localhost:8080' });
    expect(c.google).toEqual({ mode: 'sandbox' });
    expect(c.pollIntervalSeconds).toBe(1800);
    expect(c.pushHorizonDays).toBe(7);
    expect(c.scheduling).toBe(defaultSchedulingRules);
    expect(c.fleet).toBeUndefined();
    expect(c.googleRequests).toEqual({ maxPerMinute: 9000, timeoutSeconds: 30 });
  });

  it('requires both tokens with Google credentials, naming the missing one; the sandbox leaves them optional', () => {
    const live = { GOOGLE_CREDENTIALS_FILE: '/k.json', ...WEBHOOK };
    expect(() => loadConfig(live)).toThrow(/^invalid configuration: INGEST_TOKEN is required with GOOGLE_CREDENTIALS_FILE/);
    expect(() => loadConfig({ ...live, INGEST_TOKEN: TOKENS.INGEST_TOKEN })).toThrow(/^invalid configuration: ADMIN_TOKEN is required/);
    expect(loadConfig({ ...live, ...TOKENS })).toMatchObject({ ingestToken: TOKENS.INGEST_TOKEN, adminToken: TOKENS.ADMIN_TOKEN });
    expect(loadConfig({})).toMatchObject({ ingestToken: undefined, adminToken: undefined });
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN must be at least 16 characters/);
    expect(() => loadConfig({ ...live, INGEST_TOKEN: TOKENS.ADMIN_TOKEN, ADMIN_TOKEN: TOKENS.ADMIN_TOKEN, RESOLUTION_WEBHOOK_URL: 'https://x.example.com/' })).toThrow(
      /ADMIN_TOKEN must differ from INGEST_TOKEN/,
    );
  });

  it('requires RESOLUTION_WEBHOOK_URL with Google credentials, before any connection is made', () => {
    expect(() => loadConfig({ ...TOKENS, GOOGLE_CREDENTIALS_FILE: '/k.json' })).toThrow(
      /^invalid configuration: RESOLUTION_WEBHOOK_URL is required with GOOGLE_CREDENTIALS_FILE$/,
    );
  });

  it('refuses the in-memory sandbox under NODE_ENV=production, naming GOOGLE_CREDENTIALS_FILE', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('GOOGLE_CREDENTIALS_FILE');
    expect((error as Error).message).toBe(
      'invalid configuration: GOOGLE_CREDENTIALS_FILE is required with NODE_ENV=production (without it the daemon runs the in-memory Google Calendar sandbox)',
    );
    expect(loadConfig({ NODE_ENV: 'production', ...TOKENS, ...WEBHOOK, GOOGLE_CREDENTIALS_FILE: '/k.json' }).google.mode).toBe('live');
    expect(loadConfig({ NODE_ENV: 'development' }).google.mode).toBe('sandbox');
  });

  it('reports every configuration error at once, in one line', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://user:pw@x', LOG_LEVEL: 'loud', FLEET_URL: 'https://fleet.example.com', GOOGLE_CREDENTIALS_FILE: '/k.json' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.problems.map((p) => p.variable).sort()).toEqual(
      ['ADMIN_TOKEN', 'FLEET_API_TOKEN', 'INGEST_TOKEN', 'LOG_LEVEL', 'PORT', 'REDIS_URL', 'RESOLUTION_WEBHOOK_URL'].sort(),
    );
    expect(e.message).not.toContain('\n');
    expect(e.message).not.toContain('pw');
    expect(e.message).toMatch(/^invalid configuration: /);
    for (const p of e.problems) expect(e.message).toContain(`${p.variable} ${p.problem}`);
    expect(e.message).toContain('PORT must be a port number');
    expect(e.message).toContain('FLEET_API_TOKEN must be set together with the other Fleet variable');
  });

  it('reads the lifecycle settings: webhook URL, event filter, notice lead time, feed bound', () => {
    const c = loadConfig({});
    expect(c.lifecycleWebhook).toEqual({ url: undefined, types: null });
    expect(c.notifyBeforeMinutes).toBe(15);
    expect(c.eventFeedMaxLength).toBe(100_000);
    const set = loadConfig({
      LIFECYCLE_WEBHOOK_URL: 'https://hooks.example.com/x',
      LIFECYCLE_WEBHOOK_EVENTS: 'window.booked, window.upcoming',
      NOTIFY_BEFORE_MINUTES: '0',
      EVENT_FEED_MAX_LENGTH: '5000',
    });
    expect(set.lifecycleWebhook.url).toBe('https://hooks.example.com/x');
    expect([...(set.lifecycleWebhook.types ?? [])]).toEqual(['window.booked', 'window.upcoming']);
    expect(set.notifyBeforeMinutes).toBe(0);
    expect(set.eventFeedMaxLength).toBe(5000);
    expect(() => loadConfig({ LIFECYCLE_WEBHOOK_EVENTS: 'window.booked,window.exploded' })).toThrow(/LIFECYCLE_WEBHOOK_EVENTS names unknown event types window.exploded/);
    expect(() => loadConfig({ NOTIFY_BEFORE_MINUTES: '-1' })).toThrow(/NOTIFY_BEFORE_MINUTES must be 0 or more/);
  });

  it('derives PUBLIC_URL from PORT and reads live Google settings', () => {
    const c = loadConfig({ ...TOKENS, ...WEBHOOK, PORT: '9000', GOOGLE_CREDENTIALS_FILE: '/k.json', GOOGLE_API_URL: 'http://127.0.0.1:1234', REDIS_URL: 'redis://localhost:6380/3' });
    expect(c.http.publicUrl).toBe('http://localhost:9000');
    expect(c.google).toEqual({ mode: 'live', credentialsFile: '/k.json', apiUrl: 'http://127.0.0.1:1234/', tokenUrl: 'https://oauth2.googleapis.com/token' });
    expect(c.redis).toEqual({
      url: 'redis://localhost:6380/3',
      urlFromEnv: true,
      keyPrefix: '{mw}',
      connection: { deployment: { kind: 'url', url: 'redis://localhost:6380/3' }, tlsCaFile: undefined },
    });
    expect(loadConfig({ ...TOKENS, ...WEBHOOK, GOOGLE_CREDENTIALS_FILE: '/k.json', REDIS_KEY_PREFIX: '{acme}' }).redis.keyPrefix).toBe('{acme}');
    expect(loadConfig({ REDIS_KEY_PREFIX: '{demo}' }).redis.keyPrefix).toBe('{demo}');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis://h:6379/abc' }, 'REDIS_URL'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ RESOLUTION_WEBHOOK_URL: 'not a url' }, 'RESOLUTION_WEBHOOK_URL'],
    [{ RESOLUTION_WEBHOOK_URL: 'file:///etc/passwd' }, 'RESOLUTION_WEBHOOK_URL'],
    [{ GOOGLE_DOMAIN: 'not a domain' }, 'GOOGLE_DOMAIN'],
    [{ POLL_INTERVAL_SECONDS: '0' }, 'POLL_INTERVAL_SECONDS'],
    [{ PUSH_HORIZON_DAYS: '2.5' }, 'PUSH_HORIZON_DAYS'],
    [{ INGEST_TOKEN: 'short' }, 'INGEST_TOKEN'],
    [{ FLEET_URL: 'https://fleet.example.com' }, 'FLEET_API_TOKEN'],
    [{ FLEET_API_TOKEN: 'abc' }, 'FLEET_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ GOOGLE_MAX_REQUESTS_PER_MINUTE: '20000' }, 'GOOGLE_MAX_REQUESTS_PER_MINUTE'],
    [{ GOOGLE_TIMEOUT_SECONDS: '0' }, 'GOOGLE_TIMEOUT_SECONDS'],
    [{ REDIS_KEY_PREFIX: 'mw' }, 'REDIS_KEY_PREFIX'],
    [{ REDIS_KEY_PREFIX: 'mw.{x}' }, 'REDIS_KEY_PREFIX'],
  ])('rejects %j with one line naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env as NodeJS.ProcessEnv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^invalid configuration: ${variable} `));
    expect((error as ConfigError).message).not.toContain('\n');
  });

  it.each(['{mw}', '{acme}:mw', 'app:{mw}', '{mw-sandbox}', 'a_b:{c-1}:d'])('accepts the key prefix %s (it holds a hash tag)', (prefix) => {
    expect(loadConfig({ REDIS_KEY_PREFIX: prefix }).redis.keyPrefix).toBe(prefix);
  });

  it.each(['mw', 'mw:app', '{}', 'a{}b', '{mw', 'mw}', '}mw{', '{{mw}}', '{a{b}c}', '{a}{b}'])(
    'rejects the key prefix %s: it needs one {hash tag} for Redis Cluster',
    (prefix) => {
      expect(() => loadConfig({ REDIS_KEY_PREFIX: prefix })).toThrow(
        /^invalid configuration: REDIS_KEY_PREFIX must contain a \{hash tag\} .* so multi-key transactions stay on one Cluster slot/,
      );
    },
  );

  it('keeps the character rule for the key prefix', () => {
    expect(() => loadConfig({ REDIS_KEY_PREFIX: '{mw}.x' })).toThrow(/REDIS_KEY_PREFIX may only hold letters, digits and :\{\}_-/);
    expect(() => loadConfig({ REDIS_KEY_PREFIX: `{${'m'.repeat(63)}}` })).toThrow(/REDIS_KEY_PREFIX may only hold/);
  });

  it.each([
    [{ REDIS_URL: 'redis://alice:hunter2@host:6379/abc' }, 'REDIS_URL', 'redis://host:6379/abc', ['alice', 'hunter2']],
    [{ REDIS_URL: 'http://:hunter2@host/0' }, 'REDIS_URL', 'http://host/0', ['hunter2']],
    [{ RESOLUTION_WEBHOOK_URL: 'ftp://x/?token=abc' }, 'RESOLUTION_WEBHOOK_URL', 'ftp://x/', ['token', 'abc']],
    [{ RESOLUTION_WEBHOOK_URL: 'ftp://u:pw@hooks/r#sig=abc' }, 'RESOLUTION_WEBHOOK_URL', 'ftp://hooks/r', ['u:', 'pw', 'sig', 'abc']],
    [{ PUBLIC_URL: 'ftp://admin:s3cret@example.com:21/x?y=1' }, 'PUBLIC_URL', 'ftp://example.com:21/x', ['admin', 's3cret', 'y=1']],
    [{ GOOGLE_API_URL: 'ws://a:b@api/?key=AIzaXYZ' }, 'GOOGLE_API_URL', 'ws://api/', ['a:b', 'AIzaXYZ']],
    [{ GOOGLE_TOKEN_URL: 'ftp://oauth/token?client_secret=zzz' }, 'GOOGLE_TOKEN_URL', 'ftp://oauth/token', ['zzz']],
    [{ FLEET_URL: 'ftp://fleet?api_token=zzz', FLEET_API_TOKEN: 't' }, 'FLEET_URL', 'ftp://fleet', ['zzz']],
    // Not parseable as URLs (bad port, a password holding "/" or "?", no scheme): the credentials still go.
    [{ REDIS_URL: 'redis://user:hunter2@host:port' }, 'REDIS_URL', 'redis://host:port', ['hunter2']],
    [{ REDIS_URL: 'redis://user:hun/ter2@host:6379' }, 'REDIS_URL', 'redis://host:6379', ['hun', 'ter2']],
    [{ REDIS_URL: 'redis://user:hun?ter2@host:6379' }, 'REDIS_URL', 'redis://', ['hun', 'ter2']],
    [{ REDIS_URL: 'user:hunter2@host:6379' }, 'REDIS_URL', 'host:6379', ['hunter2']],
    [{ REDIS_URL: 'not a url?password=hunter2' }, 'REDIS_URL', 'not a url', ['hunter2']],
    [{ HTTPS_PROXY: 'http://user:hunter2@proxy:port?x=1' }, 'HTTPS_PROXY', '<invalid>', ['hunter2']],
  ])('shows a bad URL in %j without credentials, query or fragment', (env, variable, shown, hidden) => {
    let error: unknown;
    try {
      loadConfig(env as NodeJS.ProcessEnv);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    const message = (error as ConfigError).message;
    expect(message.startsWith(`invalid configuration: ${variable} `)).toBe(true);
    expect(message.slice(message.lastIndexOf(' (got '))).toBe(` (got ${JSON.stringify(shown)})`);
    for (const secret of hidden) expect(message).not.toContain(secret);
  });

  it('shows a URL-like value of another variable without its credentials', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'http://user:hunter2@logs/?k=v' })).toThrow(/\(got "http:\/\/logs\/"\)$/);
  });

  it('never echoes a secret in the error', () => {
    expect(() => loadConfig({ INGEST_TOKEN: 'tooshort' })).toThrow(/<redacted>/);
  });

  it('reads the outbound proxy in either spelling (lower case wins), with http:// implied as curl does', () => {
    expect(loadConfig({}).outboundProxy).toBeUndefined();
    expect(loadConfig({ NO_PROXY: 'localhost' }).outboundProxy).toBeUndefined();
    expect(loadConfig({ HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '.corp,localhost' }).outboundProxy).toEqual({
      httpsProxy: 'http://proxy.corp:3128',
      httpProxy: undefined,
      noProxy: '.corp,localhost',
    });
    expect(loadConfig({ HTTP_PROXY: 'http://upper:1', http_proxy: 'http://lower:2', no_proxy: '*' }).outboundProxy).toEqual({
      httpsProxy: undefined,
      httpProxy: 'http://lower:2',
      noProxy: '*',
    });
  });

  it('names a bad proxy variable without echoing its credentials', () => {
    let error: unknown;
    try {
      loadConfig({ HTTPS_PROXY: 'socks5://user:hunter2@proxy:1080' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('invalid configuration: HTTPS_PROXY must be an http(s) URL (got "socks5://proxy:1080")');
  });

  it('turns push channels off only for the real Google API with a plain-HTTP PUBLIC_URL', () => {
    const live = { ...TOKENS, ...WEBHOOK, GOOGLE_CREDENTIALS_FILE: '/k.json' };
    expect(pushPossible(loadConfig(live))).toBe(false); // http://localhost:8080
    expect(pushPossible(loadConfig({ ...live, PUBLIC_URL: 'https://mw.acme.com' }))).toBe(true);
    expect(pushPossible(loadConfig({ ...live, GOOGLE_API_URL: 'http://127.0.0.1:9999/' }))).toBe(true);
    expect(pushPossible(loadConfig({}))).toBe(true); // the sandbox
  });

  describe('CALENDAR_PROVIDER=microsoft', () => {
    const CLIENT_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
    const MS = { CALENDAR_PROVIDER: 'microsoft', MICROSOFT_TENANT_ID: 'contoso.onmicrosoft.com', MICROSOFT_CLIENT_ID: CLIENT_ID };
    const certFile = join(mkdtempSync(join(tmpdir(), 'mw-config-')), 'app.pem');
    writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');

    it('defaults to google; microsoft without credentials is the Microsoft 365 sandbox', () => {
      expect(loadConfig({}).calendarProvider).toBe('google');
      const c = loadConfig({ CALENDAR_PROVIDER: 'Microsoft' });
      expect(c.calendarProvider).toBe('microsoft');
      expect(c.microsoft).toEqual({ mode: 'sandbox' });
      expect(isSandbox(c)).toBe(true);
      expect(c.redis.keyPrefix).toBe('{mw-sandbox}');
      expect(c.microsoftRequests).toEqual({ maxPerMinute: 9000, timeoutSeconds: 30 });
      expect(() => loadConfig({ CALENDAR_PROVIDER: 'outlook' })).toThrow(/CALENDAR_PROVIDER must be google or microsoft \(got "outlook"\)/);
    });

    it('reads a tenant with a client secret, with the documented URLs (trailing slash added)', () => {
      const c = loadConfig({ ...MS, ...TOKENS, ...WEBHOOK, MICROSOFT_CLIENT_SECRET: 's3cr3t', MICROSOFT_GRAPH_URL: 'https://127.0.0.1:9443', MICROSOFT_LOGIN_URL: 'https://127.0.0.1:9443' });
      expect(c.microsoft).toEqual({
        mode: 'live',
        tenantId: 'contoso.onmicrosoft.com',
        clientId: CLIENT_ID,
        credential: { kind: 'secret', secret: 's3cr3t' },
        graphUrl: 'https://127.0.0.1:9443/',
        loginUrl: 'https://127.0.0.1:9443/',
      });
      expect(isSandbox(c)).toBe(false);
      expect(c.redis.keyPrefix).toBe('{mw}');
      const d = loadConfig({ ...MS, ...TOKENS, ...WEBHOOK, MICROSOFT_CLIENT_CERTIFICATE_FILE: certFile });
      expect(d.microsoft).toMatchObject({ credential: { kind: 'certificate', file: certFile }, graphUrl: 'https://graph.microsoft.com/', loginUrl: 'https://login.microsoftonline.com/' });
    });

    it.each([
      [{ ...MS, ...TOKENS, ...WEBHOOK }, /MICROSOFT_CLIENT_SECRET or MICROSOFT_CLIENT_CERTIFICATE_FILE is required/],
      [{ ...MS, ...TOKENS, ...WEBHOOK, MICROSOFT_CLIENT_SECRET: 's', MICROSOFT_CLIENT_CERTIFICATE_FILE: certFile }, /MICROSOFT_CLIENT_SECRET cannot be set together with MICROSOFT_CLIENT_CERTIFICATE_FILE/],
      [{ ...MS, ...TOKENS, ...WEBHOOK, MICROSOFT_CLIENT_CERTIFICATE_FILE: '/nope.pem' }, /MICROSOFT_CLIENT_CERTIFICATE_FILE names no readable file \(got "\/nope.pem"\)/],
      [{ CALENDAR_PROVIDER: 'microsoft', MICROSOFT_CLIENT_SECRET: 's', ...TOKENS, ...WEBHOOK }, /MICROSOFT_TENANT_ID is required with the other MICROSOFT_\* credentials .*; MICROSOFT_CLIENT_ID is required/],
      [{ ...MS, MICROSOFT_CLIENT_ID: 'not-a-guid', MICROSOFT_CLIENT_SECRET: 's', ...TOKENS, ...WEBHOOK }, /MICROSOFT_CLIENT_ID must be the application \(client\) id, a GUID/],
      [{ ...MS, MICROSOFT_CLIENT_SECRET: 's' }, /INGEST_TOKEN is required with MICROSOFT_TENANT_ID .*RESOLUTION_WEBHOOK_URL is required with MICROSOFT_TENANT_ID/],
      [{ MICROSOFT_TENANT_ID: 'contoso.onmicrosoft.com' }, /MICROSOFT_TENANT_ID is for CALENDAR_PROVIDER=microsoft/],
      [{ CALENDAR_PROVIDER: 'microsoft', GOOGLE_CREDENTIALS_FILE: '/k.json' }, /GOOGLE_CREDENTIALS_FILE is for CALENDAR_PROVIDER=google/],
      [{ CALENDAR_PROVIDER: 'microsoft', NODE_ENV: 'production' }, /MICROSOFT_TENANT_ID is required with NODE_ENV=production and CALENDAR_PROVIDER=microsoft/],
    ])('refuses %j naming the variable', (env, message) => {
      expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(ConfigError);
      expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(message);
    });

    it('never echoes the client secret, and shows a bad Graph URL without its query', () => {
      let message = '';
      try {
        loadConfig({ ...MS, MICROSOFT_CLIENT_SECRET: 'Zq8~topsecret', MICROSOFT_GRAPH_URL: 'ftp://graph?code=abc' });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/MICROSOFT_GRAPH_URL must be an http\(s\) URL \(got "ftp:\/\/graph"\)/);
      expect(message).not.toContain('topsecret');
      expect(message).not.toContain('code=abc');
    });

    it('turns subscriptions off only for the real Graph with a plain-HTTP PUBLIC_URL (Graph requires HTTPS)', () => {
      const live = { ...MS, ...TOKENS, ...WEBHOOK, MICROSOFT_CLIENT_SECRET: 's' };
      expect(pushPossible(loadConfig(live))).toBe(false);
      expect(pushPossible(loadConfig({ ...live, PUBLIC_URL: 'https://mw.acme.com' }))).toBe(true);
      expect(pushPossible(loadConfig({ ...live, MICROSOFT_GRAPH_URL: 'https://127.0.0.1:9443/' }))).toBe(true);
      expect(pushPossible(loadConfig({ CALENDAR_PROVIDER: 'microsoft' }))).toBe(true);
    });
  });
});
