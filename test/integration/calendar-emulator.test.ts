/**
 * The Google Calendar emulator, driven through the real googleapis and google-auth-library clients: OAuth JWT
 * bearer tokens, Google's error bodies, settings, freeBusy, events, incremental sync, push channels, faults and
 * call accounting.
 */
import { JWT } from 'google-auth-library';
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { createSign } from 'node:crypto';
import { request } from 'undici';
import { CalendarEmulator, createServiceAccountKey, type ServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { HttpRecorder } from '../support/http-recorder';
import { waitFor } from '../support/wait';

const DOMAIN = 'example.com';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const AUTH = 'https://www.googleapis.com/auth/';
const SCOPES = [`${AUTH}calendar.events`, `${AUTH}calendar.settings.readonly`, `${AUTH}calendar.freebusy`];
const DAY = { timeMin: '2026-12-01T00:00:00Z', timeMax: '2026-12-02T00:00:00Z' };

let emulator: CalendarEmulator;
let key: ServiceAccountKey;
let receiver: HttpRecorder;
let counter = 0;

beforeAll(async () => {
  emulator = new CalendarEmulator({ domain: DOMAIN, defaultTimeZone: 'Etc/GMT' });
  key = createServiceAccountKey({ clientEmail: 'daemon@tests.iam.gserviceaccount.com' });
  emulator.trustServiceAccount(key);
  await emulator.listen();
  receiver = await new HttpRecorder().start();
});
afterAll(async () => {
  await emulator.close();
  await receiver.close();
});
beforeEach(() => {
  emulator.clearFaults();
  emulator.resetCalls();
  emulator.dropNotifications(false);
  receiver.status = 200;
});

/** A fresh owner per test, so tests do not see each other's calendars. */
function newOwner(timeZone = 'Europe/Zurich'): string {
  counter += 1;
  const email = `owner${counter}@${DOMAIN}`;
  emulator.addUser(email, { timeZone });
  return email;
}

function eventId(): string {
  counter += 1;
  return `ev${Date.now().toString(32)}${counter.toString(32)}`; // base32hex: a-v and 0-9 only
}

interface ClientOptions {
  key?: ServiceAccountKey;
  scopes?: string[];
  /** Another emulator than the shared one. */
  target?: CalendarEmulator;
}

/**
 * A JWT client for `subject` whose token request goes to the emulator instead of Google. Node's own fetch: gaxios'
 * default is a dynamic import of node-fetch, which Jest's CommonJS runtime refuses.
 */
function jwtFor(subject: string | undefined, opts: ClientOptions = {}): JWT {
  const k = opts.key ?? key;
  const target = opts.target ?? emulator;
  const jwt = new JWT({
    email: k.client_email,
    key: k.private_key,
    scopes: opts.scopes ?? SCOPES,
    subject,
    transporterOptions: { fetchImplementation: fetch },
  });
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(target.tokenUrl);
      return config;
    },
  });
  return jwt;
}

function calendarFor(subject: string, opts: ClientOptions = {}): calendar_v3.Calendar {
  return calendar({ version: 'v3', auth: jwtFor(subject, opts), rootUrl: (opts.target ?? emulator).baseUrl, retry: false });
}

interface Failure {
  status?: number;
  data: unknown;
}

/** The HTTP failure a client call ended with (gaxios puts the response on the error). */
async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    const response = (err as { response?: { status?: number; data?: unknown } }).response;
    if (response) return { status: response.status, data: response.data };
    throw err;
  }
  throw new Error('expected the call to fail');
}

function googleError(code: number, reason: string, message: string, domain = 'global') {
  return { error: { errors: [{ domain, reason, message }], code, message } };
}

const timed = (start: string, end: string) => ({ start: { dateTime: start }, end: { dateTime: end } });

describe('token endpoint', () => {
  it('issues a token for the impersonated user through the redirected token URL', async () => {
    const owner = newOwner();
    const jwt = jwtFor(owner);
    const { token } = await jwt.getAccessToken();
    expect(token).toMatch(/^ya29\./);
    expect(jwt.credentials.expiry_date).toBeGreaterThan(Date.now() + 3500_000);
    expect(emulator.calls).toEqual([{ method: 'token', owner, status: 200, at: expect.any(Number), peerPort: expect.any(Number) }]);
  });

  it('answers the raw OAuth body on success', async () => {
    const owner = newOwner();
    const jwt = jwtFor(owner);
    let body: unknown;
    jwt.transporter.interceptors.response.add({
      resolved: async (response) => {
        body = response.data;
        return response;
      },
    });
    await jwt.getAccessToken();
    expect(body).toEqual({ access_token: expect.stringMatching(/^ya29\./), expires_in: 3599, token_type: 'Bearer' });
  });

  it('refuses an unknown user (no auto-create) and an out-of-domain user with invalid_grant', async () => {
    const strict = new CalendarEmulator({ domain: DOMAIN, autoCreateUsers: false });
    strict.trustServiceAccount(key);
    await strict.listen();
    try {
      for (const subject of [`gone@${DOMAIN}`, 'someone@elsewhere.org']) {
        expect(await failure(jwtFor(subject, { target: strict }).getAccessToken())).toEqual({
          status: 400,
          data: { error: 'invalid_grant', error_description: 'Invalid email or User ID' },
        });
      }
      expect(strict.hasUser(`gone@${DOMAIN}`)).toBe(false);
      expect(strict.calls.map((c) => [c.method, c.owner, c.status])).toEqual([
        ['token', `gone@${DOMAIN}`, 400],
        ['token', 'someone@elsewhere.org', 400],
      ]);
    } finally {
      await strict.close();
    }
  });

  it('auto-creates in-domain users on first use, never others', async () => {
    const email = `newcomer${eventId()}@${DOMAIN}`;
    expect(emulator.hasUser(email)).toBe(false);
    await jwtFor(email).getAccessToken();
    expect(emulator.hasUser(email)).toBe(true);
    expect((await failure(jwtFor('x@elsewhere.org').getAccessToken())).status).toBe(400);
    expect(emulator.hasUser('x@elsewhere.org')).toBe(false);
  });

  it('answers unauthorized_client without domain-wide delegation', async () => {
    const undelegated = createServiceAccountKey();
    emulator.trustServiceAccount(undelegated, { delegation: false });
    expect(await failure(jwtFor(newOwner(), { key: undelegated }).getAccessToken())).toEqual({
      status: 401,
      data: {
        error: 'unauthorized_client',
        error_description:
          'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      },
    });
  });

  it('rejects a bad signature and an untrusted service account', async () => {
    const impostor = createServiceAccountKey();
    const forged = { ...impostor, client_email: key.client_email };
    expect(await failure(jwtFor(newOwner(), { key: forged }).getAccessToken())).toEqual({
      status: 400,
      data: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
    });
    expect(await failure(jwtFor(newOwner(), { key: impostor }).getAccessToken())).toEqual({
      status: 400,
      data: { error: 'invalid_grant', error_description: 'Invalid grant: account not found' },
    });
  });

  it('accepts only JWT bearer grants with a scope', async () => {
    const post = (form: Record<string, string>) =>
      request(emulator.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      }).then(async (r) => ({ status: r.statusCode, data: await r.body.json() }));
    expect(await post({ grant_type: 'client_credentials' })).toMatchObject({ status: 400, data: { error: 'unsupported_grant_type' } });
    expect(await post({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: 'not.a.jwt' })).toMatchObject({
      status: 400,
      data: { error: 'invalid_grant' },
    });
    // A scope-less JWT client signs its own token and never calls the endpoint: send such an assertion by hand.
    const owner = newOwner();
    const grant = (assertion: string) => post({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    expect(await grant(await signedAssertion(owner, ''))).toMatchObject({ status: 400, data: { error: 'invalid_scope' } });
    expect(await grant(await signedAssertion(owner, SCOPES[0], { exp: 7200 }))).toMatchObject({ status: 400, data: { error: 'invalid_grant' } });
    expect(await grant(await signedAssertion(owner, SCOPES[0], { aud: 'https://example.com/token' }))).toMatchObject({
      status: 400,
      data: { error: 'invalid_grant' },
    });
    expect(await grant(await signedAssertion(owner, SCOPES[0], { aud: emulator.tokenUrl }))).toMatchObject({ status: 200 });
  });
});

describe('API authentication and scopes', () => {
  it("answers Google's exact 401 body without a valid bearer token", async () => {
    for (const authorization of [undefined, 'Bearer ya29.unknown']) {
      const res = await request(`${emulator.baseUrl}calendar/v3/users/me/settings/timezone`, {
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
      expect(await res.body.text()).toBe(
        '{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}',
      );
    }
    expect(emulator.calls.map((c) => [c.method, c.status])).toEqual([
      ['settings.get', 401],
      ['settings.get', 401],
    ]);
  });

  it('expires tokens after an hour of the auth clock', async () => {
    let now = Date.now();
    const timed = new CalendarEmulator({ authNow: () => now });
    timed.trustServiceAccount(key);
    await timed.listen();
    try {
      const owner = `late@${DOMAIN}`;
      const token = await request(timed.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await signedAssertion(owner) }),
      }).then((r) => r.body.json() as Promise<{ access_token: string }>);
      const settings = () =>
        request(`${timed.baseUrl}calendar/v3/users/me/settings/timezone`, { headers: { authorization: `Bearer ${token.access_token}` } }).then(
          (r) => r.body.dump().then(() => r.statusCode),
        );
      expect(await settings()).toBe(200);
      now += 3600_000;
      expect(await settings()).toBe(401);
    } finally {
      await timed.close();
    }
  });

  it('answers 403 insufficientPermissions when the token lacks the scope', async () => {
    const owner = newOwner();
    const readOnlySettings = calendarFor(owner, { scopes: [`${AUTH}calendar.settings.readonly`] });
    expect(await failure(readOnlySettings.events.list({ calendarId: 'primary' }))).toEqual({
      status: 403,
      data: {
        error: {
          code: 403,
          message: 'Request had insufficient authentication scopes.',
          errors: [{ message: 'Insufficient Permission', domain: 'global', reason: 'insufficientPermissions' }],
          status: 'PERMISSION_DENIED',
        },
      },
    });
    const eventsOnly = calendarFor(owner, { scopes: [`${AUTH}calendar.events`] });
    expect((await failure(eventsOnly.freebusy.query({ requestBody: { ...DAY, items: [{ id: owner }] } }))).status).toBe(403);
    expect((await failure(eventsOnly.settings.get({ setting: 'timezone' }))).status).toBe(403);
    await expect(eventsOnly.events.list({ calendarId: 'primary' })).resolves.toMatchObject({ status: 200 });
  });

  it("refuses another user's calendar with 404 notFound", async () => {
    const [owner, other] = [newOwner(), newOwner()];
    expect(await failure(calendarFor(owner).events.list({ calendarId: other }))).toEqual({
      status: 404,
      data: googleError(404, 'notFound', 'Not Found'),
    });
    await expect(calendarFor(owner).events.list({ calendarId: owner })).resolves.toMatchObject({ status: 200 });
  });
});

/** A JWT assertion signed with the test key, as gtoken builds it (exp given relative to iat). */
async function signedAssertion(subject: string, scope = SCOPES.join(' '), claims: { aud?: string; exp?: number } = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const payload = { iss: key.client_email, scope, aud: claims.aud ?? GOOGLE_TOKEN_URL, iat, exp: iat + (claims.exp ?? 3600), sub: subject };
  const input = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(payload)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key.private_key).toString('base64url')}`;
}

describe('settings and calendars', () => {
  it('reads the time zone setting and the calendar resource', async () => {
    const owner = newOwner('Asia/Kolkata');
    const api = calendarFor(owner);
    const setting = await api.settings.get({ setting: 'timezone' });
    expect(setting.data).toEqual({ kind: 'calendar#setting', etag: expect.stringMatching(/^".+"$/), id: 'timezone', value: 'Asia/Kolkata' });
    const calendar = await calendarFor(owner, { scopes: [`${AUTH}calendar.readonly`] }).calendars.get({ calendarId: 'primary' });
    expect(calendar.data).toMatchObject({ kind: 'calendar#calendar', id: owner, timeZone: 'Asia/Kolkata' });
  });

  it("defaults to Google's Etc/GMT and fails with settingsError", async () => {
    const email = `tz${eventId()}@${DOMAIN}`;
    expect((await calendarFor(email).settings.get({ setting: 'timezone' })).data.value).toBe('Etc/GMT');
    emulator.addUser(email, { settingsError: 500 });
    expect(await failure(calendarFor(email).settings.get({ setting: 'timezone' }))).toEqual({
      status: 500,
      data: googleError(500, 'backendError', 'Backend Error'),
    });
  });
});

describe('freeBusy', () => {
  it('merges busy time, ignoring transparent and cancelled events, and clips to the range', async () => {
    const owner = newOwner('UTC');
    const api = calendarFor(owner);
    emulator.createEventAsOwner(owner, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    emulator.createEventAsOwner(owner, timed('2026-12-01T09:30:00+01:00', '2026-12-01T11:30:00+01:00')); // 08:30-10:30Z
    emulator.createEventAsOwner(owner, timed('2026-12-01T10:30:00Z', '2026-12-01T11:00:00Z')); // adjacent: merged
    emulator.createEventAsOwner(owner, { transparency: 'transparent', ...timed('2026-12-01T13:00:00Z', '2026-12-01T14:00:00Z') });
    const cancelled = emulator.createEventAsOwner(owner, timed('2026-12-01T15:00:00Z', '2026-12-01T16:00:00Z'));
    emulator.deleteEventAsOwner(owner, cancelled.id);
    emulator.createEventAsOwner(owner, timed('2026-11-30T22:00:00Z', '2026-12-01T01:00:00Z'));
    const { data } = await api.freebusy.query({ requestBody: { ...DAY, items: [{ id: owner }] } });
    expect(data).toEqual({
      kind: 'calendar#freeBusy',
      timeMin: '2026-12-01T00:00:00.000Z',
      timeMax: '2026-12-02T00:00:00.000Z',
      calendars: {
        [owner]: {
          busy: [
            { start: '2026-12-01T00:00:00Z', end: '2026-12-01T01:00:00Z' },
            { start: '2026-12-01T08:30:00Z', end: '2026-12-01T11:00:00Z' },
          ],
        },
      },
    });
  });

  it("counts opaque all-day events as the whole day in the calendar's zone", async () => {
    const owner = newOwner('Europe/Zurich');
    emulator.createEventAsOwner(owner, { start: { date: '2026-12-01' }, end: { date: '2026-12-02' } });
    emulator.createEventAsOwner(owner, { transparency: 'transparent', start: { date: '2026-12-03' }, end: { date: '2026-12-04' } });
    const { data } = await calendarFor(owner).freebusy.query({
      requestBody: { timeMin: '2026-11-30T00:00:00Z', timeMax: '2026-12-05T00:00:00Z', items: [{ id: owner }] },
    });
    expect(data.calendars?.[owner].busy).toEqual([{ start: '2026-11-30T23:00:00Z', end: '2026-12-01T23:00:00Z' }]);
  });

  it('reports failing and unknown calendars inside the 200, and lets any domain user be queried', async () => {
    const [owner, colleague, broken] = [newOwner(), newOwner(), newOwner()];
    emulator.createEventAsOwner(colleague, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    emulator.setCalendarError(broken, 'internalError');
    const fresh = `fresh${eventId()}@${DOMAIN}`;
    const { status, data } = await calendarFor(owner).freebusy.query({
      requestBody: { ...DAY, items: [{ id: 'primary' }, { id: colleague }, { id: broken }, { id: 'stranger@elsewhere.org' }, { id: fresh }] },
    });
    expect(status).toBe(200);
    expect(data.calendars).toEqual({
      primary: { busy: [] },
      [colleague]: { busy: [{ start: '2026-12-01T09:00:00Z', end: '2026-12-01T10:00:00Z' }] },
      [broken]: { errors: [{ domain: 'global', reason: 'internalError' }], busy: [] },
      'stranger@elsewhere.org': { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] },
      [fresh]: { busy: [] },
    });
    emulator.setCalendarError(broken, null);
    const again = await calendarFor(owner).freebusy.query({ requestBody: { ...DAY, items: [{ id: broken }] } });
    expect(again.data.calendars?.[broken]).toEqual({ busy: [] });
  });

  it('validates the range and the number of calendars', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const query = (requestBody: calendar_v3.Schema$FreeBusyRequest) => failure(api.freebusy.query({ requestBody }));
    expect(await query({ timeMin: DAY.timeMax, timeMax: DAY.timeMin, items: [] })).toEqual({
      status: 400,
      data: googleError(400, 'timeRangeEmpty', 'The specified time range is empty.'),
    });
    expect(await query({ timeMin: DAY.timeMin, timeMax: DAY.timeMin, items: [] })).toMatchObject({ status: 400 });
    expect(await query({ timeMin: '2026-12-01T00:00:00', timeMax: DAY.timeMax, items: [] })).toEqual({
      status: 400,
      data: googleError(400, 'badRequest', 'Bad Request'),
    });
    expect(await query({ timeMax: DAY.timeMax, items: [] })).toMatchObject({ status: 400, data: { error: { errors: [{ reason: 'required' }] } } });
    expect(await query({ timeMin: DAY.timeMin, timeMax: '2027-03-15T00:00:00Z', items: [] })).toMatchObject({
      status: 400,
      data: { error: { errors: [{ reason: 'timeRangeTooLong' }] } },
    });
    const many = Array.from({ length: 51 }, (_, i) => ({ id: `many${i}@${DOMAIN}` }));
    expect(await query({ ...DAY, items: many })).toMatchObject({ status: 400, data: { error: { errors: [{ reason: 'tooManyCalendarsRequested' }] } } });
    await expect(api.freebusy.query({ requestBody: { ...DAY, items: many.slice(0, 50) } })).resolves.toMatchObject({ status: 200 });
  });
});

describe('events', () => {
  const body = (id?: string): calendar_v3.Schema$Event => ({
    ...(id && { id }),
    summary: 'Maintenance window',
    description: 'Your laptop needs an update.',
    start: { dateTime: '2026-12-01T10:00:00+01:00', timeZone: 'Europe/Zurich' },
    end: { dateTime: '2026-12-01T10:30:00+01:00', timeZone: 'Europe/Zurich' },
    extendedProperties: { private: { mw: '1', remediationId: 'r-1' } },
  });

  it("inserts with the client's id and answers Google's event resource", async () => {
    const owner = newOwner();
    const id = eventId();
    const { data } = await calendarFor(owner).events.insert({ calendarId: 'primary', sendUpdates: 'none', requestBody: body(id) });
    expect(data).toEqual({
      kind: 'calendar#event',
      etag: expect.stringMatching(/^"\d{16}"$/),
      id,
      status: 'confirmed',
      htmlLink: expect.stringMatching(/^https:\/\/www\.google\.com\/calendar\/event\?eid=/),
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      summary: 'Maintenance window',
      description: 'Your laptop needs an update.',
      creator: { email: owner, self: true },
      organizer: { email: owner, self: true },
      start: { dateTime: '2026-12-01T10:00:00+01:00', timeZone: 'Europe/Zurich' },
      end: { dateTime: '2026-12-01T10:30:00+01:00', timeZone: 'Europe/Zurich' },
      iCalUID: `${id}@google.com`,
      sequence: 0,
      extendedProperties: { private: { mw: '1', remediationId: 'r-1' } },
      reminders: { useDefault: true },
      eventType: 'default',
    });
    expect(emulator.events(owner)).toEqual([data]);
  });

  it('generates an id when none is given and writes times in the calendar zone', async () => {
    const owner = newOwner('Europe/Zurich');
    const { data } = await calendarFor(owner).events.insert({ calendarId: owner, requestBody: timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z') });
    expect(data.id).toMatch(/^[a-v0-9]{26}$/);
    expect(data.start).toEqual({ dateTime: '2026-12-01T10:00:00+01:00' });
  });

  it('answers 409 duplicate for a reused id, even of a deleted event, and 400 for an invalid id', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const id = eventId();
    await api.events.insert({ calendarId: 'primary', requestBody: body(id) });
    const duplicate = googleError(409, 'duplicate', 'The requested identifier already exists.');
    expect(await failure(api.events.insert({ calendarId: 'primary', requestBody: body(id) }))).toEqual({ status: 409, data: duplicate });
    await api.events.delete({ calendarId: 'primary', eventId: id });
    expect(await failure(api.events.insert({ calendarId: 'primary', requestBody: body(id) }))).toEqual({ status: 409, data: duplicate });
    for (const bad of ['abc', 'UPPERCASE1', 'has-dash-1', 'wxyz12345']) {
      expect(await failure(api.events.insert({ calendarId: 'primary', requestBody: body(bad) }))).toEqual({
        status: 400,
        data: googleError(400, 'invalid', 'Invalid resource id value.'),
      });
    }
  });

  it('validates start and end', async () => {
    const api = calendarFor(newOwner());
    const insert = (requestBody: calendar_v3.Schema$Event) => failure(api.events.insert({ calendarId: 'primary', requestBody }));
    expect(await insert({ start: { dateTime: '2026-12-01T10:00:00Z' } })).toEqual({ status: 400, data: googleError(400, 'required', 'Missing end time.') });
    expect(await insert(timed('2026-12-01T10:00:00Z', '2026-12-01T09:00:00Z'))).toEqual({
      status: 400,
      data: googleError(400, 'timeRangeEmpty', 'The specified time range is empty.'),
    });
    expect((await insert(timed('2026-12-01T10:00:00', '2026-12-01T11:00:00'))).status).toBe(400);
  });

  it('gets an event, 304 for If-None-Match, cancelled after deletion, 404 if it never existed', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const id = eventId();
    const inserted = await api.events.insert({ calendarId: 'primary', requestBody: body(id) });
    const got = await api.events.get({ calendarId: 'primary', eventId: id });
    expect(got.data).toEqual(inserted.data);
    const etag = String(inserted.data.etag);
    const notModified = await api.events.get({ calendarId: 'primary', eventId: id }, { headers: { 'If-None-Match': etag }, validateStatus: () => true });
    expect(notModified.status).toBe(304);
    emulator.deleteEventAsOwner(owner, id);
    const cancelled = await api.events.get({ calendarId: 'primary', eventId: id });
    expect(cancelled.data).toMatchObject({ id, status: 'cancelled' });
    expect(cancelled.data.etag).not.toBe(etag);
    expect(await failure(api.events.get({ calendarId: 'primary', eventId: eventId() }))).toEqual({
      status: 404,
      data: googleError(404, 'notFound', 'Not Found'),
    });
  });

  it('deletes (204), then 410 deleted, and 404 for an unknown id', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const id = eventId();
    await api.events.insert({ calendarId: 'primary', requestBody: body(id) });
    expect((await api.events.delete({ calendarId: 'primary', eventId: id })).status).toBe(204);
    expect(await failure(api.events.delete({ calendarId: 'primary', eventId: id }))).toEqual({
      status: 410,
      data: googleError(410, 'deleted', 'Resource has been deleted'),
    });
    expect((await failure(api.events.delete({ calendarId: 'primary', eventId: eventId() }))).status).toBe(404);
    expect(emulator.events(owner)).toEqual([]);
    expect(emulator.events(owner, { includeCancelled: true })).toMatchObject([{ id, status: 'cancelled' }]);
  });

  it('patches, merging private properties key by key, with If-Match', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const id = eventId();
    const inserted = await api.events.insert({ calendarId: 'primary', requestBody: body(id) });
    const patched = await api.events.patch({
      calendarId: 'primary',
      eventId: id,
      requestBody: { description: 'Resolved.', extendedProperties: { private: { state: 'resolved', remediationId: null as unknown as string } } },
    });
    expect(patched.data).toMatchObject({ summary: 'Maintenance window', description: 'Resolved.', sequence: 0 });
    expect(patched.data.extendedProperties).toEqual({ private: { mw: '1', state: 'resolved' } });
    expect(patched.data.etag).not.toBe(inserted.data.etag);
    expect(Date.parse(String(patched.data.updated))).toBeGreaterThanOrEqual(Date.parse(String(inserted.data.updated)));

    expect(
      await failure(api.events.patch({ calendarId: 'primary', eventId: id, requestBody: { summary: 'x' } }, { headers: { 'If-Match': String(inserted.data.etag) } })),
    ).toEqual({ status: 412, data: googleError(412, 'conditionNotMet', 'Precondition Failed') });

    const moved = await api.events.patch(
      { calendarId: 'primary', eventId: id, requestBody: { start: { dateTime: '2026-12-01T14:00:00Z' }, end: { dateTime: '2026-12-01T14:30:00Z' } } },
      { headers: { 'If-Match': String(patched.data.etag) } },
    );
    expect(moved.data).toMatchObject({
      sequence: 1,
      start: { dateTime: '2026-12-01T15:00:00+01:00', timeZone: 'Europe/Zurich' },
      end: { dateTime: '2026-12-01T15:30:00+01:00', timeZone: 'Europe/Zurich' },
    });
  });

  it('updates (PUT) by replacing the event', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const id = eventId();
    await api.events.insert({ calendarId: 'primary', requestBody: body(id) });
    const { data } = await api.events.update({
      calendarId: 'primary',
      eventId: id,
      requestBody: { summary: 'Replaced', ...timed('2026-12-01T10:00:00+01:00', '2026-12-01T10:30:00+01:00') },
    });
    expect(data).toMatchObject({ id, summary: 'Replaced', start: { dateTime: '2026-12-01T10:00:00+01:00' } });
    expect(data.description).toBeUndefined();
    expect(data.extendedProperties).toBeUndefined();
  });

  it('answers parseError for a malformed JSON body', async () => {
    const owner = newOwner();
    const { token } = await jwtFor(owner).getAccessToken();
    const res = await request(`${emulator.baseUrl}calendar/v3/calendars/primary/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"summary": ',
    });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toEqual(googleError(400, 'parseError', 'Parse Error'));
    const unknown = await request(`${emulator.baseUrl}calendar/v3/nothing/here`, { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.statusCode).toBe(404);
    expect(await unknown.body.json()).toEqual(googleError(404, 'notFound', 'Not Found'));
  });
});

describe('events.list and incremental sync', () => {
  async function listAll(api: calendar_v3.Calendar, params: calendar_v3.Params$Resource$Events$List) {
    const items: calendar_v3.Schema$Event[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    for (;;) {
      const { data } = await api.events.list({ calendarId: 'primary', ...params, pageToken });
      pages += 1;
      items.push(...(data.items ?? []));
      if (!data.nextPageToken) return { items, pages, nextSyncToken: data.nextSyncToken, last: data };
      expect(data.nextSyncToken).toBeUndefined();
      pageToken = data.nextPageToken;
    }
  }

  it('lists in pages with the sync token only on the last page', async () => {
    const owner = newOwner('UTC');
    for (let i = 0; i < 7; i++) emulator.createEventAsOwner(owner, timed(`2026-12-0${i + 1}T09:00:00Z`, `2026-12-0${i + 1}T10:00:00Z`));
    const api = calendarFor(owner);
    const { items, pages, nextSyncToken, last } = await listAll(api, { maxResults: 3, singleEvents: true, orderBy: 'startTime' });
    expect(pages).toBe(3);
    expect(items.map((e) => e.start?.dateTime)).toEqual(Array.from({ length: 7 }, (_, i) => `2026-12-0${i + 1}T09:00:00Z`));
    expect(nextSyncToken).toBeTruthy();
    expect(last).toMatchObject({ kind: 'calendar#events', summary: owner, timeZone: 'UTC', accessRole: 'owner', defaultReminders: [] });
    const first = await api.events.list({ calendarId: 'primary' });
    expect(first.data.items).toHaveLength(7);
    expect(first.data.nextPageToken).toBeUndefined();
  });

  it('filters: timeMin on end, timeMax on start (both exclusive), private properties, q, cancelled', async () => {
    const owner = newOwner('UTC');
    const api = calendarFor(owner);
    const a = emulator.createEventAsOwner(owner, { summary: 'Alpha', ...timed('2026-12-01T08:00:00Z', '2026-12-01T09:00:00Z') });
    const b = emulator.createEventAsOwner(owner, {
      summary: 'Beta',
      extendedProperties: { private: { mw: '1', kind: 'x' } },
      ...timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'),
    });
    const c = emulator.createEventAsOwner(owner, { summary: 'Gamma', ...timed('2026-12-01T10:00:00Z', '2026-12-01T11:00:00Z') });
    const ids = async (params: calendar_v3.Params$Resource$Events$List) => (await listAll(api, params)).items.map((e) => e.id);
    expect(await ids({ timeMin: '2026-12-01T09:00:00Z', timeMax: '2026-12-01T10:00:00Z' })).toEqual([b.id]);
    expect(await ids({ privateExtendedProperty: ['mw=1', 'kind=x'] })).toEqual([b.id]);
    expect(await ids({ privateExtendedProperty: ['mw=1', 'kind=y'] })).toEqual([]);
    expect(await ids({ q: 'gAMma' })).toEqual([c.id]);
    emulator.deleteEventAsOwner(owner, a.id);
    expect(await ids({})).toEqual([b.id, c.id]);
    expect(await ids({ showDeleted: true })).toEqual([a.id, b.id, c.id]);
    expect((await failure(api.events.list({ calendarId: 'primary', orderBy: 'startTime' }))).status).toBe(400);
  });

  it('returns every change since the sync token, deletions included, across pages', async () => {
    const owner = newOwner('UTC');
    const api = calendarFor(owner);
    const kept = emulator.createEventAsOwner(owner, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    const removed = emulator.createEventAsOwner(owner, timed('2026-12-02T09:00:00Z', '2026-12-02T10:00:00Z'));
    const full = await listAll(api, { showDeleted: false });
    expect(full.items.map((e) => e.id)).toEqual([kept.id, removed.id]);

    const none = await listAll(api, { syncToken: full.nextSyncToken ?? '' });
    expect(none.items).toEqual([]);
    expect(none.nextSyncToken).toBeTruthy();

    const ours = await api.events.insert({ calendarId: 'primary', requestBody: { id: eventId(), ...timed('2026-12-03T09:00:00Z', '2026-12-03T10:00:00Z') } });
    emulator.patchEventAsOwner(owner, kept.id, { summary: 'renamed' });
    emulator.deleteEventAsOwner(owner, removed.id);
    const extra = Array.from({ length: 4 }, (_, i) => emulator.createEventAsOwner(owner, timed(`2026-12-1${i}T09:00:00Z`, `2026-12-1${i}T10:00:00Z`)));

    const changes = await listAll(api, { syncToken: none.nextSyncToken ?? '', maxResults: 3 });
    expect(changes.pages).toBe(3);
    const byId = new Map(changes.items.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual([ours.data.id, kept.id, removed.id, ...extra.map((e) => e.id)].sort());
    expect(byId.get(removed.id)?.status).toBe('cancelled');
    expect(byId.get(kept.id)?.summary).toBe('renamed');

    const after = await listAll(api, { syncToken: changes.nextSyncToken ?? '' });
    expect(after.items).toEqual([]);
    // A full sync (no showDeleted) leaves the cancelled event out.
    expect((await listAll(api, {})).items.map((e) => e.id)).not.toContain(removed.id);
  });

  it('answers 410 fullSyncRequired for expired or unknown sync tokens', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const { nextSyncToken } = await listAll(api, {});
    emulator.expireSyncTokens(owner);
    const gone = googleError(410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.');
    expect(await failure(api.events.list({ calendarId: 'primary', syncToken: nextSyncToken ?? '' }))).toEqual({ status: 410, data: gone });
    expect(await failure(api.events.list({ calendarId: 'primary', syncToken: 'CPnotatoken=' }))).toEqual({ status: 410, data: gone });
    const fresh = await listAll(api, {});
    await expect(api.events.list({ calendarId: 'primary', syncToken: fresh.nextSyncToken ?? '' })).resolves.toMatchObject({ status: 200 });
  });

  it('refuses a sync token combined with restrictions', async () => {
    const api = calendarFor(newOwner());
    const { nextSyncToken } = await listAll(api, {});
    const syncToken = nextSyncToken ?? '';
    for (const params of [
      { timeMin: DAY.timeMin },
      { timeMax: DAY.timeMax },
      { orderBy: 'updated' },
      { privateExtendedProperty: ['mw=1'] },
      { q: 'x' },
      { updatedMin: DAY.timeMin },
    ]) {
      expect(await failure(api.events.list({ calendarId: 'primary', syncToken, ...params }))).toMatchObject({
        status: 400,
        data: { error: { code: 400, errors: [{ domain: 'global', reason: 'invalid' }] } },
      });
    }
    await expect(api.events.list({ calendarId: 'primary', syncToken, showDeleted: true, maxResults: 10, singleEvents: true })).resolves.toMatchObject({
      status: 200,
    });
  });
});

describe('push notifications', () => {
  async function watch(owner: string, id = `ch-${eventId()}`, extra: Partial<calendar_v3.Schema$Channel> = {}) {
    const { data } = await calendarFor(owner).events.watch({
      calendarId: 'primary',
      requestBody: { id, type: 'web_hook', address: `${receiver.url}/hook/${id}`, token: 'secret-token', ...extra },
    });
    return data;
  }
  const received = (channelId: string) => receiver.requests.filter((r) => r.headers['x-goog-channel-id'] === channelId);
  const states = (channelId: string) => received(channelId).map((r) => `${r.headers['x-goog-message-number']}:${r.headers['x-goog-resource-state']}`);
  const waitForCount = (channelId: string, n: number) =>
    waitFor(() => received(channelId).length >= n, { timeoutMs: 2000, intervalMs: 10, what: `${n} notifications on ${channelId}` });

  it('answers the channel, then delivers sync and exists with the exact headers and an empty body', async () => {
    const owner = newOwner();
    const before = Date.now();
    const channel = await watch(owner, undefined, { params: { ttl: '3600' } });
    expect(channel).toEqual({
      kind: 'api#channel',
      id: channel.id,
      resourceId: expect.any(String),
      resourceUri: 'https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json',
      token: 'secret-token',
      expiration: expect.stringMatching(/^\d+$/),
    });
    const expiration = Number(channel.expiration);
    expect(expiration).toBeGreaterThanOrEqual(before + 3600_000);
    expect(expiration).toBeLessThanOrEqual(Date.now() + 3600_000);
    await waitForCount(String(channel.id), 1);

    const id = eventId();
    await calendarFor(owner).events.insert({ calendarId: 'primary', requestBody: { id, ...timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z') } });
    await waitForCount(String(channel.id), 2);
    emulator.patchEventAsOwner(owner, id, { summary: 'moved by the owner' });
    await waitForCount(String(channel.id), 3);
    emulator.deleteEventAsOwner(owner, id);
    await waitForCount(String(channel.id), 4);

    expect(states(String(channel.id))).toEqual(['1:sync', '2:exists', '3:exists', '4:exists']);
    const [sync] = received(String(channel.id));
    expect(sync.method).toBe('POST');
    expect(sync.url).toBe(`/hook/${channel.id}`);
    expect(sync.rawBody).toBe('');
    expect(sync.headers).toMatchObject({
      'content-type': 'application/json; utf-8',
      'content-length': '0',
      'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
      'x-goog-channel-id': channel.id,
      'x-goog-channel-token': 'secret-token',
      'x-goog-channel-expiration': new Date(expiration).toUTCString(),
      'x-goog-message-number': '1',
      'x-goog-resource-id': channel.resourceId,
      'x-goog-resource-state': 'sync',
      'x-goog-resource-uri': channel.resourceUri,
    });
    expect(emulator.channels()).toContainEqual({
      id: channel.id,
      resourceId: channel.resourceId,
      owner,
      address: `${receiver.url}/hook/${channel.id}`,
      token: 'secret-token',
      expiration,
    });
    expect(emulator.notificationsSent).toBeGreaterThanOrEqual(4);
  });

  it('notifies only channels of the changed calendar', async () => {
    const [a, b] = [newOwner(), newOwner()];
    const [ca, cb] = [await watch(a), await watch(b)];
    await waitForCount(String(ca.id), 1);
    await waitForCount(String(cb.id), 1);
    emulator.createEventAsOwner(a, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    await waitForCount(String(ca.id), 2);
    await emulator.notificationsSettled();
    expect(received(String(cb.id))).toHaveLength(1);
  });

  it('loses notifications while dropNotifications is on (message numbers still advance)', async () => {
    const owner = newOwner();
    const channel = await watch(owner);
    await waitForCount(String(channel.id), 1);
    emulator.dropNotifications(true);
    emulator.createEventAsOwner(owner, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    await emulator.notificationsSettled();
    emulator.dropNotifications(false);
    emulator.createEventAsOwner(owner, timed('2026-12-02T09:00:00Z', '2026-12-02T10:00:00Z'));
    await waitForCount(String(channel.id), 2);
    expect(states(String(channel.id))).toEqual(['1:sync', '3:exists']);
  });

  it('retries a failing receiver', async () => {
    const owner = newOwner();
    receiver.status = 503;
    const channel = await watch(owner);
    await waitForCount(String(channel.id), 2);
    receiver.status = 200;
    await emulator.notificationsSettled();
    expect(states(String(channel.id)).every((s) => s === '1:sync')).toBe(true);
    expect(received(String(channel.id)).length).toBeGreaterThanOrEqual(2);
  });

  it('validates the watch request and refuses a channel id in use', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const watchWith = (requestBody: calendar_v3.Schema$Channel) => failure(api.events.watch({ calendarId: 'primary', requestBody }));
    expect((await watchWith({ type: 'web_hook', address: receiver.url })).status).toBe(400);
    expect((await watchWith({ id: 'no-address', type: 'web_hook' })).status).toBe(400);
    expect((await watchWith({ id: 'x'.repeat(65), type: 'web_hook', address: receiver.url })).status).toBe(400);
    expect((await watchWith({ id: 'long-token', type: 'web_hook', address: receiver.url, token: 't'.repeat(257) })).status).toBe(400);
    const channel = await watch(owner, 'taken-id');
    expect(await watchWith({ id: 'taken-id', type: 'web_hook', address: receiver.url })).toEqual({
      status: 400,
      data: googleError(400, 'channelIdNotUnique', 'Channel id not unique'),
    });
    const capped = await watch(owner, `ttl-${eventId()}`, { params: { ttl: String(30 * 24 * 3600) } });
    expect(Number(capped.expiration)).toBeLessThanOrEqual(Date.now() + 604_800_000);
    expect(Number(capped.expiration)).toBeGreaterThan(Date.now() + 604_700_000);
    await api.channels.stop({ requestBody: { id: channel.id, resourceId: channel.resourceId } });
  });

  it('stops a channel (204), then 404, and delivers nothing more', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    const channel = await watch(owner);
    await waitForCount(String(channel.id), 1);
    const stop = () => api.channels.stop({ requestBody: { id: channel.id, resourceId: channel.resourceId } });
    expect((await stop()).status).toBe(204);
    expect(await failure(stop())).toEqual({ status: 404, data: googleError(404, 'notFound', 'Not Found') });
    expect(emulator.channels().map((c) => c.id)).not.toContain(channel.id);
    emulator.createEventAsOwner(owner, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    await emulator.notificationsSettled();
    expect(received(String(channel.id))).toHaveLength(1);
  });

  it('stops delivering when the channel expires', async () => {
    let offset = 0;
    const clocked = new CalendarEmulator({ now: () => Date.now() + offset });
    clocked.trustServiceAccount(key);
    await clocked.listen();
    try {
      const owner = `expiring@${DOMAIN}`;
      const api = calendarFor(owner, { target: clocked });
      const id = `exp-${eventId()}`;
      await api.events.watch({ calendarId: 'primary', requestBody: { id, type: 'web_hook', address: `${receiver.url}/x`, params: { ttl: '60' } } });
      await waitForCount(id, 1);
      offset = 61_000;
      expect(clocked.channels()).toEqual([]);
      clocked.createEventAsOwner(owner, timed('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
      await clocked.notificationsSettled();
      expect(received(id)).toHaveLength(1);
    } finally {
      await clocked.close();
    }
  });
});

describe('faults and call accounting', () => {
  it('answers the injected status with the default reason, a limited number of times, for one owner', async () => {
    const [owner, other] = [newOwner(), newOwner()];
    const api = calendarFor(owner);
    emulator.injectFault({ method: 'events.list', owner, status: 429, times: 1 });
    expect(await failure(api.events.list({ calendarId: 'primary' }))).toEqual({
      status: 429,
      data: googleError(429, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'),
    });
    await expect(api.events.list({ calendarId: 'primary' })).resolves.toMatchObject({ status: 200 });

    emulator.injectFault({ method: 'events.list', owner, status: 403 });
    emulator.injectFault({ method: 'events.insert', status: 503 });
    expect(await failure(api.events.list({ calendarId: 'primary' }))).toEqual({
      status: 403,
      data: googleError(403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'),
    });
    await expect(calendarFor(other).events.list({ calendarId: 'primary' })).resolves.toMatchObject({ status: 200 });
    expect(await failure(api.events.insert({ calendarId: 'primary', requestBody: timed(DAY.timeMin, DAY.timeMax) }))).toEqual({
      status: 503,
      data: googleError(503, 'backendError', 'The service is currently unavailable.'),
    });
    emulator.clearFaults();
    emulator.injectFault({ status: 500, reason: 'backendError', times: 1, method: 'settings.get' });
    expect(await failure(api.settings.get({ setting: 'timezone' }))).toEqual({ status: 500, data: googleError(500, 'backendError', 'Backend Error') });
    emulator.injectFault({ method: 'events.get', status: 403, reason: 'quotaExceeded' });
    expect(await failure(api.events.get({ calendarId: 'primary', eventId: 'abcde' }))).toEqual({
      status: 403,
      data: googleError(403, 'quotaExceeded', 'Calendar usage limits exceeded.', 'usageLimits'),
    });
  });

  it('applies a fault with its probability', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    emulator.injectFault({ method: 'settings.get', status: 500, probability: 0 });
    await expect(api.settings.get({ setting: 'timezone' })).resolves.toMatchObject({ status: 200 });
    emulator.clearFaults();
    emulator.injectFault({ method: 'settings.get', status: 500, probability: 1, times: 2 });
    expect((await failure(api.settings.get({ setting: 'timezone' }))).status).toBe(500);
    expect((await failure(api.settings.get({ setting: 'timezone' }))).status).toBe(500);
    await expect(api.settings.get({ setting: 'timezone' })).resolves.toMatchObject({ status: 200 });
  });

  it('delays a request (the client times out) and fails the token endpoint (gtoken retries)', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    await api.settings.get({ setting: 'timezone' });
    emulator.injectFault({ method: 'settings.get', status: 200, delayMs: 600, times: 1 });
    const started = Date.now();
    await expect(api.settings.get({ setting: 'timezone' }, { timeout: 100 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(600);

    const fresh = newOwner();
    emulator.injectFault({ method: 'token', owner: fresh, status: 503, times: 1 });
    await expect(calendarFor(fresh).settings.get({ setting: 'timezone' })).resolves.toMatchObject({ status: 200 });
    expect(emulator.calls.filter((c) => c.owner === fresh).map((c) => [c.method, c.status])).toEqual([
      ['token', 503],
      ['token', 200],
      ['settings.get', 200],
    ]);
  });

  it('records every request with owner, quotaUser and status, and counts them', async () => {
    const owner = newOwner();
    const api = calendarFor(owner);
    await api.settings.get({ setting: 'timezone', quotaUser: owner });
    await api.events.list({ calendarId: 'primary', quotaUser: owner });
    await failure(api.events.get({ calendarId: 'primary', eventId: 'abcde', quotaUser: owner }));
    expect(emulator.calls.map(({ method, owner: o, quotaUser, status }) => ({ method, owner: o, quotaUser, status }))).toEqual([
      { method: 'token', owner, quotaUser: undefined, status: 200 },
      { method: 'settings.get', owner, quotaUser: owner, status: 200 },
      { method: 'events.list', owner, quotaUser: owner, status: 200 },
      { method: 'events.get', owner, quotaUser: owner, status: 404 },
    ]);
    expect(emulator.callCounts({ owner })).toEqual({ token: 1, 'settings.get': 1, 'events.list': 1, 'events.get': 1 });
    expect(emulator.callCounts({ owner: 'nobody@example.com' })).toEqual({});
    emulator.resetCalls();
    expect(emulator.calls).toEqual([]);
  });
});
