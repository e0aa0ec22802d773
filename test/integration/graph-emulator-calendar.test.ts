/**
 * Graph side of the emulator over real HTTPS (undici fetch, MSAL tokens): mailboxSettings, getSchedule, events
 * with transactionId and extended properties, calendarView paging, immutable ids and Prefer headers.
 */
import { dt, startFixture, type Fixture } from './graph-emulator-fixture';

const PROP = 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name mwRemediation';

describe('Graph emulator: mailbox settings, free/busy and events', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
    f.emulator.addMailbox('alice@contoso.com', { timeZone: 'Pacific Standard Time', displayName: 'Alice' });
    f.emulator.addMailbox('bob@contoso.com', { timeZone: 'Europe/Zurich', workingHours: { startTime: '09:00:00.0000000', endTime: '18:00:00.0000000' } });
    f.emulator.addMailbox('chandra@contoso.com', {
      timeZone: { '@odata.type': '#microsoft.graph.customTimeZone', name: 'Customized Time Zone', bias: -330 },
    });
  });
  afterAll(() => f.close());

  describe('mailboxSettings', () => {
    it('answers the zone in the format the mailbox has (Windows, IANA, custom) with working hours', async () => {
      const alice = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings');
      expect(alice.status).toBe(200);
      expect(alice.body).toMatchObject({
        timeZone: 'Pacific Standard Time',
        workingHours: { daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'], startTime: '08:00:00.0000000', endTime: '17:00:00.0000000', timeZone: { name: 'Pacific Standard Time' } },
      });
      expect(alice.body['@odata.context']).toContain('/mailboxSettings');
      const bob = await f.graph('GET', 'users/BOB@contoso.com/mailboxSettings');
      expect(bob.body).toMatchObject({ timeZone: 'Europe/Zurich', workingHours: { startTime: '09:00:00.0000000', timeZone: { name: 'Europe/Zurich' } } });
      const chandra = await f.graph('GET', 'users/chandra@contoso.com/mailboxSettings');
      expect(chandra.body.timeZone).toBe('Customized Time Zone');
      expect(chandra.body.workingHours.timeZone).toMatchObject({ '@odata.type': '#microsoft.graph.customTimeZone', bias: -330 });
    });

    it('accepts the user object id as well as the address, and answers 404 ErrorInvalidUser for strangers', async () => {
      const { id } = f.emulator.addMailbox('dora@contoso.com');
      expect((await f.graph('GET', `users/${id}/mailboxSettings/timeZone`)).body.value).toBe('UTC');
      const stranger = await f.graph('GET', 'users/nobody@contoso.com/mailboxSettings');
      expect(stranger).toMatchObject({ status: 404, body: { error: { code: 'ErrorInvalidUser' } } });
    });

    it('answers 404 MailboxNotEnabledForRESTAPI for a user without a mailbox, and ErrorInvalidUser once a user left', async () => {
      f.emulator.addMailbox('unlicensed@contoso.com', { mailboxEnabled: false });
      const unlicensed = await f.graph('GET', 'users/unlicensed@contoso.com/mailboxSettings');
      expect(unlicensed).toMatchObject({ status: 404, body: { error: { code: 'MailboxNotEnabledForRESTAPI' } } });
      f.emulator.addMailbox('leaver@contoso.com');
      expect((await f.graph('GET', 'users/leaver@contoso.com/mailboxSettings')).status).toBe(200);
      f.emulator.removeMailbox('leaver@contoso.com');
      expect(await f.graph('GET', 'users/leaver@contoso.com/mailboxSettings')).toMatchObject({ status: 404, body: { error: { code: 'ErrorInvalidUser' } } });
    });
  });

  describe('getSchedule', () => {
    beforeAll(() => {
      f.emulator.addBusy('alice@contoso.com', '2026-12-08T17:00:00Z', '2026-12-08T17:30:00Z');
      f.emulator.addBusy('alice@contoso.com', '2026-12-08T18:00:00Z', '2026-12-08T19:00:00Z', 'oof', 'Vacation');
      f.emulator.addBusy('alice@contoso.com', '2026-12-08T18:30:00Z', '2026-12-08T19:00:00Z', 'tentative');
      f.emulator.addBusy('alice@contoso.com', '2026-12-08T19:00:00Z', '2026-12-08T19:30:00Z', 'free', 'Focus (free)');
    });

    const window = { startTime: dt('2026-12-08T09:00:00', 'Pacific Standard Time'), endTime: dt('2026-12-08T12:00:00', 'Pacific Standard Time') };

    it('answers availabilityView, scheduleItems and workingHours, times in UTC by default', async () => {
      const res = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', {
        body: { schedules: ['alice@contoso.com', 'bob@contoso.com'], ...window, availabilityViewInterval: 30 },
      });
      expect(res.status).toBe(200);
      const [alice, bob] = res.body.value;
      // 09:00-12:00 PST = 17:00-20:00 UTC in 30-minute slots: busy, free, oof, oof (oof beats tentative), free (a free event), free.
      expect(alice).toMatchObject({ scheduleId: 'alice@contoso.com', availabilityView: '203300' });
      expect(alice.scheduleItems.map((i: any) => [i.status, i.start.dateTime, i.end.timeZone])).toEqual([
        ['busy', '2026-12-08T17:00:00.0000000', 'UTC'],
        ['oof', '2026-12-08T18:00:00.0000000', 'UTC'],
        ['tentative', '2026-12-08T18:30:00.0000000', 'UTC'],
      ]);
      expect(alice.workingHours.timeZone).toEqual({ name: 'Pacific Standard Time' });
      expect(bob).toMatchObject({ scheduleId: 'bob@contoso.com', availabilityView: '000000', scheduleItems: [] });
    });

    it('answers times in the zone of Prefer: outlook.timezone', async () => {
      const res = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', {
        body: { schedules: ['alice@contoso.com'], ...window },
        headers: { prefer: 'outlook.timezone="Pacific Standard Time"' },
      });
      expect(res.body.value[0].scheduleItems[0].start).toEqual({ dateTime: '2026-12-08T09:00:00.0000000', timeZone: 'Pacific Standard Time' });
      expect(res.headers.get('preference-applied')).toBe('outlook.timezone="Pacific Standard Time"');
    });

    it('reports an unknown mailbox inside the 200 answer, and refuses 21 schedules', async () => {
      const res = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', { body: { schedules: ['ghost@contoso.com', 'bob@contoso.com'], ...window } });
      expect(res.status).toBe(200);
      expect(res.body.value[0]).toEqual({
        scheduleId: 'ghost@contoso.com',
        error: { message: 'Unable to resolve e-mail address ghost@contoso.com to an Active Directory object.', responseCode: '5009' },
      });
      expect(res.body.value[1].availabilityView).toBe('000000');
      const schedules = Array.from({ length: 21 }, (_, i) => `user${i}@contoso.com`);
      const tooMany = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', { body: { schedules, ...window } });
      expect(tooMany).toMatchObject({ status: 400, body: { error: { code: 'ErrorMailboxDataArrayTooBig' } } });
      const twenty = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', { body: { schedules: schedules.slice(1), ...window } });
      expect(twenty.status).toBe(200);
      expect(twenty.body.value).toHaveLength(20);
    });

    it('reports an injected per-mailbox failure in the answer', async () => {
      f.emulator.setScheduleError('bob@contoso.com', { message: 'The mailbox is unavailable.', responseCode: 'ErrorMailboxStoreUnavailable' });
      const res = await f.graph('POST', 'users/alice@contoso.com/calendar/getSchedule', { body: { schedules: ['bob@contoso.com'], ...window } });
      expect(res.body.value[0]).toEqual({ scheduleId: 'bob@contoso.com', error: { message: 'The mailbox is unavailable.', responseCode: 'ErrorMailboxStoreUnavailable' } });
      f.emulator.setScheduleError('bob@contoso.com', null);
    });
  });

  describe('events', () => {
    const newEvent = (transactionId: string) => ({
      subject: 'Scheduled maintenance',
      body: { contentType: 'text', content: 'We will turn on FileVault.\nThe laptop restarts once.' },
      start: dt('2026-12-08T10:00:00', 'W. Europe Standard Time'),
      end: dt('2026-12-08T10:30:00', 'W. Europe Standard Time'),
      showAs: 'busy',
      transactionId,
      singleValueExtendedProperties: [{ id: PROP, value: 'rem-42' }],
    });

    it('creates one event for two creates with the same transactionId (a retried POST)', async () => {
      const first = await f.graph('POST', 'users/bob@contoso.com/events', { body: newEvent('tx-1') });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ subject: 'Scheduled maintenance', transactionId: 'tx-1', showAs: 'busy', isAllDay: false, isCancelled: false, originalStartTimeZone: 'W. Europe Standard Time' });
      expect(first.body.start).toEqual({ dateTime: '2026-12-08T09:00:00.0000000', timeZone: 'UTC' });
      expect(first.body['@odata.etag']).toBe(`W/"${first.body.changeKey}"`);
      const second = await f.graph('POST', 'users/bob@contoso.com/calendar/events', { body: newEvent('tx-1') });
      expect(second.status).toBe(201);
      expect(second.body.id).toBe(first.body.id);
      expect(f.emulator.events('bob@contoso.com').filter((e) => e.transactionId === 'tx-1')).toHaveLength(1);
      const different = await f.graph('POST', 'users/bob@contoso.com/events', { body: { ...newEvent('tx-1'), subject: 'Something else' } });
      expect(different).toMatchObject({ status: 409, body: { error: { code: 'ErrorDuplicateTransactionId' } } });
    });

    it('reads the extended property back only through $expand, and filters events by it', async () => {
      const created = await f.graph('POST', 'users/bob@contoso.com/events', { body: newEvent('tx-2') });
      const plain = await f.graph('GET', `users/bob@contoso.com/events/${created.body.id}`);
      expect(plain.body.singleValueExtendedProperties).toBeUndefined();
      const expand = encodeURIComponent(`singleValueExtendedProperties($filter=id eq '${PROP}')`);
      const expanded = await f.graph('GET', `users/bob@contoso.com/events/${created.body.id}?$expand=${expand}`);
      expect(expanded.body.singleValueExtendedProperties).toEqual([{ id: PROP, value: 'rem-42' }]);
      f.emulator.addBusy('bob@contoso.com', '2026-12-08T12:00:00Z', '2026-12-08T13:00:00Z');
      const filter = encodeURIComponent(`singleValueExtendedProperties/Any(ep: ep/id eq '${PROP}' and ep/value eq 'rem-42')`);
      const view = await f.graph('GET', `users/bob@contoso.com/calendarView?startDateTime=2026-12-08T00:00:00Z&endDateTime=2026-12-09T00:00:00Z&$filter=${filter}`);
      expect(view.status).toBe(200);
      expect(view.body.value.map((e: any) => e.transactionId).sort()).toEqual(['tx-1', 'tx-2']);
    });

    it('answers bodies as HTML unless text is preferred, and times in the preferred zone', async () => {
      const created = await f.graph('POST', 'users/bob@contoso.com/events', { body: newEvent('tx-3') });
      const html = await f.graph('GET', `users/bob@contoso.com/events/${created.body.id}`);
      expect(html.body.body.contentType).toBe('html');
      expect(html.body.body.content).toContain('We will turn on FileVault.<br>');
      const text = await f.graph('GET', `users/bob@contoso.com/events/${created.body.id}`, {
        headers: { prefer: 'outlook.body-content-type="text", outlook.timezone="Europe/Zurich"' },
      });
      expect(text.body.body).toEqual({ contentType: 'text', content: 'We will turn on FileVault.\nThe laptop restarts once.' });
      expect(text.body.start).toEqual({ dateTime: '2026-12-08T10:00:00.0000000', timeZone: 'Europe/Zurich' });
    });

    it('patches an event, then deletes it: later reads and deletes answer 404 ErrorItemNotFound', async () => {
      const created = await f.graph('POST', 'users/bob@contoso.com/events', { body: newEvent('tx-4') });
      const patched = await f.graph('PATCH', `users/bob@contoso.com/events/${created.body.id}`, { body: { body: { contentType: 'text', content: 'Two policies now.' } } });
      expect(patched.status).toBe(200);
      expect(patched.body.changeKey).not.toBe(created.body.changeKey);
      const immutable = await f.graph('PATCH', `users/bob@contoso.com/events/${created.body.id}`, { body: { transactionId: 'tx-other' } });
      expect(immutable.status).toBe(400);
      const deleted = await f.graph('DELETE', `users/bob@contoso.com/events/${created.body.id}`);
      expect(deleted.status).toBe(204);
      const get = await f.graph('GET', `users/bob@contoso.com/events/${created.body.id}`);
      expect(get).toMatchObject({ status: 404, body: { error: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' } } });
      expect((await f.graph('DELETE', `users/bob@contoso.com/events/${created.body.id}`)).status).toBe(404);
    });

    it('validates like Graph: unknown zones, unknown properties, all-day events off midnight', async () => {
      const badZone = await f.graph('POST', 'users/bob@contoso.com/events', { body: { ...newEvent('tx-5'), start: dt('2026-12-08T10:00:00', 'Mars Standard Time') } });
      expect(badZone).toMatchObject({ status: 400, body: { error: { code: 'TimeZoneNotSupportedException' } } });
      const unknown = await f.graph('POST', 'users/bob@contoso.com/events', { body: { ...newEvent('tx-6'), summary: 'Google word' } });
      expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'RequestBodyRead' } } });
      const allDay = await f.graph('POST', 'users/bob@contoso.com/events', { body: { ...newEvent('tx-7'), isAllDay: true } });
      expect(allDay.status).toBe(400);
      const allDayOk = await f.graph('POST', 'users/bob@contoso.com/events', {
        body: { subject: 'Holiday', isAllDay: true, showAs: 'oof', start: dt('2026-12-24T00:00:00', 'Europe/Zurich'), end: dt('2026-12-25T00:00:00', 'Europe/Zurich') },
      });
      expect(allDayOk).toMatchObject({ status: 201, body: { isAllDay: true, showAs: 'oof' } });
    });

    it('answers immutable ids to clients that prefer them (both ids address the event) and records the preference', async () => {
      f.emulator.resetCalls();
      const created = await f.graph('POST', 'users/bob@contoso.com/events', { body: newEvent('tx-8'), headers: { prefer: 'IdType="ImmutableId"' } });
      const ids = f.emulator.eventIds('bob@contoso.com', created.body.id);
      expect(created.body.id).toBe(ids.immutableId);
      expect(ids.id).not.toBe(ids.immutableId);
      expect((await f.graph('GET', `users/bob@contoso.com/events/${ids.id}`)).body.id).toBe(ids.id);
      expect(f.emulator.calls.map((c) => [c.method, c.immutableIds])).toEqual([
        ['events.create', true],
        ['events.get', false],
      ]);
    });

    it('keeps immutable ids when Exchange moves the item, while the old REST id answers 404', async () => {
      const created = await f.graph('POST', 'users/bob@contoso.com/events', { body: newEvent('tx-9') });
      const before = f.emulator.eventIds('bob@contoso.com', created.body.id);
      const after = f.emulator.moveEventAsExchange('bob@contoso.com', before.id);
      expect(after.immutableId).toBe(before.immutableId);
      expect(after.id).not.toBe(before.id);
      expect((await f.graph('GET', `users/bob@contoso.com/events/${before.id}`)).status).toBe(404);
      const byImmutable = await f.graph('GET', `users/bob@contoso.com/events/${before.immutableId}`, { headers: { prefer: 'IdType="ImmutableId"' } });
      expect(byImmutable).toMatchObject({ status: 200, body: { id: before.immutableId, transactionId: 'tx-9' } });
    });
  });

  describe('calendarView', () => {
    it('pages with @odata.nextLink ($top, $skip) in start order, and needs a time window', async () => {
      f.emulator.addMailbox('erin@contoso.com');
      for (let h = 0; h < 7; h++) f.emulator.addBusy('erin@contoso.com', `2026-12-09T${String(10 + h).padStart(2, '0')}:00:00Z`, `2026-12-09T${String(10 + h).padStart(2, '0')}:30:00Z`, 'busy', `Meeting ${h}`);
      f.emulator.addBusy('erin@contoso.com', '2026-12-10T10:00:00Z', '2026-12-10T11:00:00Z', 'busy', 'Outside the window');
      const subjects: string[] = [];
      let next: string | undefined = 'users/erin@contoso.com/calendarView?startDateTime=2026-12-09T00:00:00Z&endDateTime=2026-12-10T00:00:00Z&$top=3';
      let pages = 0;
      while (next) {
        const page: { body: any } = await f.graph('GET', next);
        subjects.push(...page.body.value.map((e: any) => e.subject));
        next = page.body['@odata.nextLink'];
        pages += 1;
      }
      expect(pages).toBe(3);
      expect(subjects).toEqual(Array.from({ length: 7 }, (_, h) => `Meeting ${h}`));
      const noWindow = await f.graph('GET', 'users/erin@contoso.com/calendarView');
      expect(noWindow).toMatchObject({ status: 400, body: { error: { code: 'ErrorInvalidParameter' } } });
    });
  });
});
