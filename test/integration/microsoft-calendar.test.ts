/**
 * The Graph adapter (src/microsoft) against the project's Graph + Entra emulator over HTTPS, with the real MSAL
 * client-credentials flow and undici: every port operation, the idempotent create, delta and subscriptions, 429
 * with Retry-After, the per-mailbox concurrency limit, and the errors the services act on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../src/config';
import { createMicrosoftCalendar, readClientCertificate, type MicrosoftCalendar } from '../../src/microsoft/microsoft-calendar';
import { ChangeCursorExpiredError, OwnerUnavailableError, type NewWindowEvent } from '../../src/ports/calendar';
import { createSelfSignedCertificate } from '../../src/sandbox/graph-emulator';
import { CLIENT_ID, SECRET, startFixture, type Fixture } from './graph-emulator-fixture';

const NOW = Date.parse('2026-11-23T12:00:00Z');

function window(remediationId: string, bookingNumber = 0, start = '2026-11-24T09:00:00Z', end = '2026-11-24T09:30:00Z'): NewWindowEvent {
  return {
    key: `key-${remediationId}-${bookingNumber}`,
    remediationId,
    bookingNumber,
    start,
    end,
    timeZone: 'Europe/Berlin',
    title: 'Scheduled maintenance',
    description: 'Acme reserved this time to fix Laptop 1.',
  };
}

describe('Microsoft Graph calendar adapter (emulator, MSAL, undici)', () => {
  let f: Fixture;
  let cal: MicrosoftCalendar;
  let now = NOW;
  const calls: Array<[string, number]> = [];
  let receiver: Server;
  let receiverUrl: string;

  const make = (over: Partial<Parameters<typeof createMicrosoftCalendar>[0]> = {}) =>
    createMicrosoftCalendar({
      tenantId: f.emulator.tenantId,
      clientId: CLIENT_ID,
      credential: { kind: 'secret', secret: SECRET },
      graphUrl: f.emulator.baseUrl,
      loginUrl: f.emulator.baseUrl,
      dispatcher: f.emulator.dispatcher,
      now: () => now,
      retry: { baseDelayMs: 10, maxDelayMs: 50 },
      onCall: (method, status) => calls.push([method, status]),
      ...over,
    });

  beforeAll(async () => {
    f = await startFixture({ now: () => now });
    cal = make();
    // A notification endpoint that passes Graph's validation handshake.
    receiver = createServer((req, res) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('validationToken');
      res.writeHead(token ? 200 : 202, { 'content-type': 'text/plain' }).end(token ?? '');
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await f.close();
    await new Promise((r) => receiver.close(r));
  });

  beforeEach(() => {
    now = NOW;
    calls.length = 0;
    f.emulator.clearFaults();
    f.emulator.resetCalls();
  });

  describe('tokens', () => {
    it('gets a token with the client secret, and with the certificate (signed assertion)', async () => {
      f.emulator.addMailbox('token.secret@contoso.com', { timeZone: 'UTC' });
      await expect(cal.timeZone('token.secret@contoso.com')).resolves.toBe('Etc/UTC');
      const dir = mkdtempSync(join(tmpdir(), 'mw-cert-'));
      const file = join(dir, 'app.pem');
      writeFileSync(file, `${f.certificate.certificatePem}\n${f.certificate.privateKeyPem}`);
      const withCertificate = make({ credential: { kind: 'certificate', ...readClientCertificate(file) } });
      await expect(withCertificate.timeZone('token.secret@contoso.com')).resolves.toBe('Etc/UTC');
    });

    it('names the certificate file\'s problem without quoting the key', () => {
      const dir = mkdtempSync(join(tmpdir(), 'mw-cert-'));
      const other = createSelfSignedCertificate({ commonName: 'someone else' });
      const cases: Array<[string, RegExp]> = [
        ['', /holds no PEM certificate/],
        [f.certificate.certificatePem, /holds no private key/],
        [`${f.certificate.certificatePem}\n${other.privateKeyPem}`, /private key that does not belong to its certificate/],
      ];
      for (const [i, [text, message]] of cases.entries()) {
        const file = join(dir, `c${i}.pem`);
        writeFileSync(file, text);
        expect(() => readClientCertificate(file)).toThrow(ConfigError);
        expect(() => readClientCertificate(file)).toThrow(message);
      }
      expect(() => readClientCertificate(join(dir, 'missing.pem'))).toThrow(/MICROSOFT_CLIENT_CERTIFICATE_FILE cannot be read \(ENOENT\)/);
    });

    it('a refused secret is an error of the call, and readiness says so', async () => {
      const wrong = make({ credential: { kind: 'secret', secret: 'wrong-secret-value' } });
      f.emulator.addMailbox('refused@contoso.com');
      await expect(wrong.getEvent('refused@contoso.com', 'x')).rejects.toThrow(/invalid_client|AADSTS7000215/);
      const ready = await wrong.reachability(5000);
      expect(ready.ok).toBe(false);
      expect(ready.error).toMatch(/invalid_client/);
      expect((await cal.reachability(5000)).ok).toBe(true);
    });
  });

  describe('time zone', () => {
    it.each([
      ['W. Europe Standard Time', 'Europe/Berlin'],
      ['Eastern Standard Time', 'America/New_York'],
      ['Asia/Kolkata', 'Asia/Kolkata'],
    ])('maps the mailbox zone %s to %s', async (stored, iana) => {
      const address = `tz.${iana.replace('/', '.').toLowerCase()}@contoso.com`;
      f.emulator.addMailbox(address, { timeZone: stored });
      await expect(cal.timeZone(address)).resolves.toBe(iana);
    });

    it('answers null for a custom zone (the caller falls back), with a warning', async () => {
      f.emulator.addMailbox('custom@contoso.com', {
        timeZone: {
          '@odata.type': '#microsoft.graph.customTimeZone',
          name: 'Customized Time Zone',
          bias: -60,
          standardOffset: { time: '03:00:00.0000000', dayOccurrence: 5, dayOfWeek: 'sunday', month: 10, year: 0 },
          daylightOffset: { daylightBias: -60, time: '02:00:00.0000000', dayOccurrence: 5, dayOfWeek: 'sunday', month: 3, year: 0 },
        },
      });
      await expect(cal.timeZone('custom@contoso.com')).resolves.toBeNull();
    });

    it('an unknown mailbox is OwnerUnavailableError (final for that owner)', async () => {
      await expect(cal.timeZone('nobody@contoso.com')).rejects.toBeInstanceOf(OwnerUnavailableError);
    });
  });

  describe('free/busy', () => {
    it('asks getSchedule once for several mailboxes; busy, oof, tentative and workingElsewhere block, free does not; an error is unknown', async () => {
      const [a, b, c] = ['fb.a@contoso.com', 'fb.b@contoso.com', 'fb.c@contoso.com'];
      for (const m of [a, b, c]) f.emulator.addMailbox(m);
      f.emulator.addBusy(a, '2026-11-24T09:00:00Z', '2026-11-24T10:00:00Z', 'busy');
      f.emulator.addBusy(a, '2026-11-24T11:00:00Z', '2026-11-24T11:30:00Z', 'tentative');
      f.emulator.addBusy(a, '2026-11-24T12:00:00Z', '2026-11-24T12:30:00Z', 'free');
      f.emulator.addBusy(b, '2026-11-24T13:00:00Z', '2026-11-24T14:00:00Z', 'oof');
      f.emulator.addBusy(b, '2026-11-24T15:00:00Z', '2026-11-24T16:00:00Z', 'workingElsewhere');
      f.emulator.setScheduleError(c, { message: 'Not able to get free/busy information.', responseCode: 'ErrorFreeBusyGenerationFailed' });
      const result = await cal.freeBusy([a, b, c], '2026-11-24T00:00:00Z', '2026-11-25T00:00:00Z');
      expect(result.get(a)).toEqual({
        kind: 'known',
        busy: [
          { start: '2026-11-24T09:00:00Z', end: '2026-11-24T10:00:00Z' },
          { start: '2026-11-24T11:00:00Z', end: '2026-11-24T11:30:00Z' },
        ],
      });
      expect(result.get(b)).toEqual({
        kind: 'known',
        busy: [
          { start: '2026-11-24T13:00:00Z', end: '2026-11-24T14:00:00Z' },
          { start: '2026-11-24T15:00:00Z', end: '2026-11-24T16:00:00Z' },
        ],
      });
      expect(result.get(c)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('ErrorFreeBusyGenerationFailed') });
      expect(f.emulator.callCounts()['calendar.getSchedule']).toBe(1);
      await expect(cal.outOfOffice(b, '2026-11-24T00:00:00Z', '2026-11-25T00:00:00Z')).resolves.toEqual([{ start: '2026-11-24T13:00:00Z', end: '2026-11-24T14:00:00Z' }]);
    });

    it('refuses more than 20 mailboxes (the port splits before)', async () => {
      const many = Array.from({ length: 21 }, (_, i) => `m${i}@contoso.com`);
      await expect(cal.freeBusy(many, '2026-11-24T00:00:00Z', '2026-11-25T00:00:00Z')).rejects.toThrow(RangeError);
    });
  });

  describe('events', () => {
    it('creates a busy event with no attendees, marked ours, in the owner\'s zone; every request prefers immutable ids', async () => {
      const owner = 'ev.create@contoso.com';
      f.emulator.addMailbox(owner);
      const created = await cal.createEvent(owner, window('h1-1'));
      expect(created).toMatchObject({ cancelled: false, remediationId: 'h1-1', title: 'Scheduled maintenance', timing: { kind: 'timed', start: '2026-11-24T09:00:00Z', end: '2026-11-24T09:30:00Z' } });
      const [stored] = f.emulator.events(owner, { immutableIds: true });
      expect(stored).toMatchObject({ id: created.id, showAs: 'busy', attendees: [], originalStartTimeZone: 'W. Europe Standard Time', transactionId: 'mw:h1-1:0' });
      expect(f.emulator.calls.filter((c) => c.method !== 'token').every((c) => c.immutableIds)).toBe(true);
    });

    it('creates once when the same window is created twice (transactionId), and adopts the first when the content differs', async () => {
      const owner = 'ev.twice@contoso.com';
      f.emulator.addMailbox(owner);
      const first = await cal.createEvent(owner, window('h2-1'));
      const again = await cal.createEvent(owner, window('h2-1'));
      expect(again.id).toBe(first.id);
      // A retry after a lost answer may carry another text (the slot re-planned): Graph refuses the transactionId
      // for new content, and the event is found again by its key marker.
      const changed = await cal.createEvent(owner, { ...window('h2-1'), description: 'another text' });
      expect(changed).toMatchObject({ id: first.id, remediationId: 'h2-1' });
      expect(f.emulator.events(owner)).toHaveLength(1);
    });

    it('retries a create refused with 503 and still makes one event', async () => {
      const owner = 'ev.retry@contoso.com';
      f.emulator.addMailbox(owner);
      f.emulator.injectFault({ method: 'events.create', status: 503, times: 2 });
      const created = await cal.createEvent(owner, window('h3-1'));
      expect(created.remediationId).toBe('h3-1');
      expect(f.emulator.events(owner)).toHaveLength(1);
      expect(calls.filter(([m]) => m === 'events.create').map(([, s]) => s)).toEqual([503, 503, 201]);
    });

    it('reads, moves and deletes an event; a deleted one reads as null and deletes again quietly', async () => {
      const owner = 'ev.crud@contoso.com';
      f.emulator.addMailbox(owner);
      const created = await cal.createEvent(owner, window('h4-1'));
      await expect(cal.getEvent(owner, created.id)).resolves.toMatchObject({ id: created.id, remediationId: 'h4-1', description: 'Acme reserved this time to fix Laptop 1.' });
      const moved = await cal.updateEvent(owner, created.id, { start: '2026-11-24T14:00:00Z', end: '2026-11-24T14:30:00Z', timeZone: 'America/New_York', description: 'moved' });
      expect(moved).toMatchObject({ timing: { kind: 'timed', start: '2026-11-24T14:00:00Z', end: '2026-11-24T14:30:00Z' }, description: 'moved' });
      await cal.deleteEvent(owner, created.id);
      await expect(cal.getEvent(owner, created.id)).resolves.toBeNull();
      await expect(cal.deleteEvent(owner, created.id)).resolves.toBeUndefined();
    });

    it('reads an all-day event as dates', async () => {
      const owner = 'ev.allday@contoso.com';
      f.emulator.addMailbox(owner);
      const e = f.emulator.createEventAsOwner(owner, {
        subject: 'Holiday',
        isAllDay: true,
        start: { dateTime: '2026-11-24T00:00:00.0000000', timeZone: 'UTC' },
        end: { dateTime: '2026-11-25T00:00:00.0000000', timeZone: 'UTC' },
      });
      await expect(cal.getEvent(owner, f.emulator.eventIds(owner, e.id).immutableId)).resolves.toMatchObject({ timing: { kind: 'all_day', startDate: '2026-11-24', endDate: '2026-11-25' } });
    });

    it('honours Retry-After on a 429', async () => {
      const owner = 'ev.throttled@contoso.com';
      f.emulator.addMailbox(owner, { timeZone: 'UTC' });
      f.emulator.injectFault({ method: 'mailboxSettings.get', status: 429, retryAfterSeconds: 1, times: 1 });
      const started = Date.now();
      await expect(cal.timeZone(owner)).resolves.toBe('Etc/UTC');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(calls.filter(([m]) => m === 'mailboxSettings.get').map(([, s]) => s)).toEqual([429, 200]);
    });

    it('keeps at most 4 requests in flight per mailbox (Graph refuses a fifth)', async () => {
      const owner = 'ev.busy@contoso.com';
      f.emulator.addMailbox(owner);
      const created = await cal.createEvent(owner, window('h5-1'));
      f.emulator.injectFault({ method: 'events.get', delayMs: 150, times: 10 });
      const reads = await Promise.all(Array.from({ length: 10 }, () => cal.getEvent(owner, created.id)));
      expect(reads.every((r) => r?.id === created.id)).toBe(true);
      expect(f.emulator.peakConcurrency(owner)).toBe(4);
      expect(calls.filter(([m, s]) => m === 'events.get' && s === 429)).toEqual([]);
    });

    it('gives up on an event call after the retries with a CalendarApiError carrying the status', async () => {
      const owner = 'ev.down@contoso.com';
      f.emulator.addMailbox(owner);
      f.emulator.injectFault({ method: 'events.update', status: 500 });
      await expect(cal.updateEvent(owner, 'whatever', { title: 'x' })).rejects.toMatchObject({ name: 'CalendarApiError', status: 500 });
      expect(calls.filter(([m]) => m === 'events.update')).toHaveLength(5);
    });
  });

  describe('change feed', () => {
    it('reads the calendar in full (pages), then only what changed; deletions as cancelled; ours recognised', async () => {
      const owner = 'feed@contoso.com';
      f.emulator.addMailbox(owner);
      for (let i = 0; i < 120; i++) f.emulator.addBusy(owner, `2026-11-${String(24 + (i % 5)).padStart(2, '0')}T0${i % 9}:00:00Z`, `2026-11-${String(24 + (i % 5)).padStart(2, '0')}T0${i % 9}:30:00Z`, 'busy', `m${i}`);
      const ours = await cal.createEvent(owner, window('h6-1'));
      const full = await cal.changeFeed.changes(owner, null);
      expect(full.listed).toBe(121);
      expect(f.emulator.callCounts({ mailbox: owner })['calendarView.delta']).toBe(2); // 100 per page
      expect(full.events.find((e) => e.id === ours.id)).toMatchObject({ remediationId: 'h6-1' });
      const keptOurs = await cal.changeFeed.changes(owner, null, (e) => e.remediationId !== undefined || e.cancelled);
      expect(keptOurs.events.map((e) => e.id)).toEqual([ours.id]);

      const nothing = await cal.changeFeed.changes(owner, full.cursor);
      expect(nothing).toMatchObject({ events: [], listed: 0 });
      f.emulator.deleteEventAsOwner(owner, ours.id);
      const moved = f.emulator.addBusy(owner, '2026-11-24T15:00:00Z', '2026-11-24T16:00:00Z', 'busy', 'new');
      const changes = await cal.changeFeed.changes(owner, nothing.cursor);
      expect(changes.events).toEqual(
        expect.arrayContaining([
          { id: ours.id, cancelled: true, timing: { kind: 'unreadable' } },
          expect.objectContaining({ id: f.emulator.eventIds(owner, moved.id).immutableId, cancelled: false }),
        ]),
      );
    });

    it('an expired cursor is ChangeCursorExpiredError (a full read follows)', async () => {
      const owner = 'feed.expired@contoso.com';
      f.emulator.addMailbox(owner);
      const { cursor } = await cal.changeFeed.changes(owner, null);
      f.emulator.expireDeltaTokens(owner);
      await expect(cal.changeFeed.changes(owner, cursor)).rejects.toBeInstanceOf(ChangeCursorExpiredError);
    });

    it('subscribes (validation handshake, clientState, lifecycle URL), renews and stops', async () => {
      const owner = 'sub@contoso.com';
      f.emulator.addMailbox(owner);
      const sub = await cal.changeFeed.subscribe(owner, { address: `${receiverUrl}/n`, lifecycleAddress: `${receiverUrl}/l`, secret: 's3cret-state', ttlSeconds: 7 * 86_400 });
      expect(sub.expiration).toBe(NOW + 10_079 * 60_000);
      expect(f.emulator.subscriptions()).toContainEqual(
        expect.objectContaining({ id: sub.id, mailbox: owner, changeType: 'created,updated,deleted', clientState: 's3cret-state', lifecycleNotificationUrl: `${receiverUrl}/l`, immutableIds: true }),
      );
      now += 86_400_000;
      const renewed = await cal.changeFeed.renew(owner, sub, 3600);
      expect(renewed).toEqual({ id: sub.id, resource: sub.resource, expiration: now + 60 * 60_000 });
      await cal.changeFeed.stop(owner, sub);
      expect(f.emulator.subscriptions().find((s) => s.id === sub.id)).toBeUndefined();
      await expect(cal.changeFeed.stop(owner, sub)).resolves.toBeUndefined();
    });
  });
});

describe('Microsoft Graph calendar adapter: a tenant that limits subscriptions to 4,230 minutes', () => {
  it('asks again within the lifetime Graph names', async () => {
    const f = await startFixture({ now: () => NOW, maxSubscriptionMinutes: 4230 });
    const server = createServer((req, res) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('validationToken');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(token ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      f.emulator.addMailbox('short@contoso.com');
      const cal = createMicrosoftCalendar({
        tenantId: f.emulator.tenantId,
        clientId: CLIENT_ID,
        credential: { kind: 'secret', secret: SECRET },
        graphUrl: f.emulator.baseUrl,
        loginUrl: f.emulator.baseUrl,
        dispatcher: f.emulator.dispatcher,
        now: () => NOW,
      });
      const sub = await cal.changeFeed.subscribe('short@contoso.com', { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}/n`, secret: 's', ttlSeconds: 7 * 86_400 });
      expect(sub.expiration).toBe(NOW + 4229 * 60_000);
    } finally {
      await f.close();
      await new Promise((r) => server.close(r));
    }
  });
});
