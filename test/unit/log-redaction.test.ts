import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/lib/logger';
import { createServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { LogCapture } from '../support/log-capture';

/**
 * The logger never writes a secret, whatever shape our code (or a library's error) gives the logged object:
 * objects are logged the way src/services, src/google and src/http log them.
 */

const key = createServiceAccountKey();
const ACCESS_TOKEN = `ya29.${randomBytes(40).toString('base64url')}`;
const CHANNEL_TOKEN = randomBytes(32).toString('hex');
const INGEST_TOKEN = randomBytes(24).toString('hex');
const FLEET_API_TOKEN = randomBytes(24).toString('hex');
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** A signed JWT-bearer assertion, as the token request body carries it. */
const ASSERTION = `eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJzYUBwcm9qIn0.${randomBytes(64).toString('base64url')}`;

/** Every secret, and the body lines of the private key (a key must not leak even without its PEM armour). */
const SECRETS = [
  ACCESS_TOKEN,
  CHANNEL_TOKEN,
  INGEST_TOKEN,
  FLEET_API_TOKEN,
  WEBHOOK_SECRET,
  ASSERTION,
  ...key.private_key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
];

/** A request config as gaxios 6 kept it (plain header object) — the worst case for a logged error. */
const requestConfig = {
  url: 'https://www.googleapis.com/calendar/v3/calendars/primary/events/watch?quotaUser=alice%40acme.com',
  method: 'POST',
  headers: { Authorization: `Bearer ${ACCESS_TOKEN}`, 'x-goog-api-client': 'gdcl/7' },
  data: { id: 'mw-1', type: 'web_hook', address: 'https://mw.acme.com/v1/google/notifications', token: CHANNEL_TOKEN },
  body: JSON.stringify({ id: 'mw-1', token: CHANNEL_TOKEN }),
};

/** An error shaped like a GaxiosError from events.watch (config, response with its own config, status, code). */
function gaxiosError(): Error {
  return Object.assign(new Error('Backend Error'), {
    name: 'GaxiosError',
    status: 503,
    code: 503,
    config: requestConfig,
    response: { status: 503, config: requestConfig, headers: { 'www-authenticate': `Bearer realm="x", token="${ACCESS_TOKEN}"` }, data: { error: { message: 'Backend Error' } } },
  });
}

function logged(write: (logger: ReturnType<typeof createLogger>) => void): { text: string; records: Array<Record<string, unknown>> } {
  const capture = new LogCapture();
  write(createLogger('trace', capture));
  return { text: capture.text(), records: capture.records() };
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toContain('Bearer ');
  expect(text).not.toContain('ya29.');
  expect(text).not.toContain('PRIVATE KEY');
}

describe('log redaction', () => {
  it('drops the request config and response of an HTTP client error, keeping what happened to whom', () => {
    const { text, records } = logged((l) => l.warn({ remediation: 'r-1', owner: 'alice@acme.com', err: gaxiosError() }, 'could not update the event description'));
    expectNoSecret(text);
    expect(records[0]).toMatchObject({ owner: 'alice@acme.com', remediation: 'r-1', err: { type: 'Error', message: 'Backend Error', status: 503, code: 503 } });
    expect(records[0].err).not.toHaveProperty('config');
    expect(records[0].err).not.toHaveProperty('response');
  });

  it('handles fetch Headers (gaxios 7), a token request body and a cause chain', () => {
    const headers = new Headers({ authorization: `Bearer ${ACCESS_TOKEN}`, 'x-goog-channel-token': CHANNEL_TOKEN });
    const tokenRequest = Object.assign(new Error('invalid_grant'), { config: { headers, body: `grant_type=urn%3Aietf&assertion=${ASSERTION}` } });
    const wrapped = new Error('booking failed', { cause: tokenRequest });
    const { text, records } = logged((l) => {
      l.error({ owner: 'bob@acme.com', err: wrapped }, 'booking failed');
      l.info({ headers }, 'request headers');
    });
    expectNoSecret(text);
    expect(records[0]).toMatchObject({ err: { message: 'booking failed', cause: { message: 'invalid_grant' } } });
    expect(records[1]).toMatchObject({ headers: { authorization: '[redacted]', 'x-goog-channel-token': '[redacted]' } });
  });

  it('redacts secret-named fields at any depth: request headers, tokens, keys, configuration', () => {
    const { text, records } = logged((l) => {
      l.warn({ req: { method: 'POST', url: '/v1/policy-events', headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'x-goog-channel-token': CHANNEL_TOKEN } } }, 'request');
      l.info({ token: CHANNEL_TOKEN, channelToken: CHANNEL_TOKEN, owner: 'carol@acme.com' }, 'channel');
      l.info({ credentials: key }, 'service account');
      l.info({ config: { ingestToken: INGEST_TOKEN, fleet: { url: 'https://fleet', apiToken: FLEET_API_TOKEN }, webhook: { secret: WEBHOOK_SECRET } } }, 'config');
      l.info({ deep: { a: { b: { c: { d: { access_token: ACCESS_TOKEN, tokenEndpoint: true } } } } } }, 'deep');
    });
    expectNoSecret(text);
    expect(records[1]).toMatchObject({ token: '[redacted]', owner: 'carol@acme.com' });
    expect(records[2]).toMatchObject({ credentials: { client_email: key.client_email, private_key: '[redacted]' } });
    expect(records[4]).toMatchObject({ deep: { a: { b: { c: { d: { access_token: '[redacted]', tokenEndpoint: true } } } } } });
  });

  it('never logs RESOLUTION_WEBHOOK_HEADERS, whatever the header is called', () => {
    const apiKey = 'k9-receiver-key-0123456789';
    const { text, records } = logged((l) => {
      l.info({ config: { webhook: { extraHeaders: { 'x-tines-key': apiKey } } } }, 'config');
      l.info({ env: { RESOLUTION_WEBHOOK_HEADERS: `X-Tines-Key: ${apiKey}` } }, 'env');
      l.child({ extraHeaders: { 'x-tines-key': apiKey } }).info('child');
    });
    expect(text).not.toContain(apiKey);
    expect(records[0]).toMatchObject({ config: { webhook: { extraHeaders: '[redacted]' } } });
  });

  it('scrubs secrets out of messages, error messages, stacks, format arguments and child bindings', () => {
    const { text, records } = logged((l) => {
      l.error(new Error(`token request failed for Authorization: Bearer ${ACCESS_TOKEN}`));
      l.warn(`key rejected: ${key.private_key}`);
      l.info('sent %s with %s', `Bearer ${INGEST_TOKEN}`, WEBHOOK_SECRET);
      l.child({ component: 'google', token: ACCESS_TOKEN }).info({ owner: 'dan@acme.com' }, 'child');
    });
    expectNoSecret(text);
    expect(records[0]).toMatchObject({ msg: 'token request failed for Authorization: [redacted]', err: { type: 'Error' } });
    expect(records[3]).toMatchObject({ component: 'google', token: '[redacted]', owner: 'dan@acme.com' });
  });

  it('leaves ordinary values alone and survives cycles and depth', () => {
    const cyclic: Record<string, unknown> = { owner: 'erin@acme.com' };
    cyclic.self = cyclic;
    let deep: unknown = 'bottom';
    for (let i = 0; i < 50; i++) deep = { x: deep };
    const { records } = logged((l) => {
      l.info({ remediation: 'r-9', host: 42, owner: 'erin@acme.com', status: 'booked', policies: [{ id: 7, name: 'Disk encryption' }] }, 'booked');
      l.info({ cyclic, deep }, 'odd shapes');
    });
    expect(records[0]).toMatchObject({ remediation: 'r-9', host: 42, owner: 'erin@acme.com', status: 'booked', policies: [{ id: 7, name: 'Disk encryption' }] });
    expect(records[1]).toMatchObject({ cyclic: { owner: 'erin@acme.com', self: '[circular]' } });
  });
});
