/** The demo tenant: mailboxes in Windows, IANA and custom zones with their Tuesday meetings, read through Graph. */
import { DateTime } from 'luxon';
import { resolveGraphTimeZone } from '../../src/microsoft/windows-zones';
import { seedDemoTenant } from '../../src/sandbox/graph-emulator';
import { startFixture, type Fixture } from './graph-emulator-fixture';

describe('Graph emulator: demo tenant', () => {
  let f: Fixture;
  const now = Date.parse('2026-12-03T06:00:00Z'); // a Thursday: the coming Tuesday is 2026-12-08

  beforeAll(async () => {
    f = await startFixture();
    seedDemoTenant(f.emulator, now);
  });
  afterAll(() => f.close());

  it('answers each mailbox zone as Exchange stores it; the resolver turns it into a zone (or the fallback)', async () => {
    const zones: Record<string, string> = {};
    for (const address of ['alice@contoso.com', 'bob@contoso.com', 'chandra@contoso.com', 'dana@contoso.com']) {
      const settings = await f.graph('GET', `users/${address}/mailboxSettings`);
      zones[address] = resolveGraphTimeZone(settings.body.timeZone, 'America/New_York').zone;
    }
    expect(zones).toEqual({
      'alice@contoso.com': 'Europe/Berlin',
      'bob@contoso.com': 'America/New_York',
      'chandra@contoso.com': 'Asia/Kolkata',
      'dana@contoso.com': 'America/New_York',
    });
  });

  it('has a stand-up at 09:00 and a lunch at 12:00 local on Tuesday, visible to getSchedule', async () => {
    const res = await f.graph('POST', 'users/bob@contoso.com/calendar/getSchedule', {
      headers: { prefer: 'outlook.timezone="Eastern Standard Time"' },
      body: {
        schedules: ['bob@contoso.com', 'chandra@contoso.com'],
        startTime: { dateTime: '2026-12-08T00:00:00', timeZone: 'Eastern Standard Time' },
        endTime: { dateTime: '2026-12-09T00:00:00', timeZone: 'Eastern Standard Time' },
        availabilityViewInterval: 60,
      },
    });
    const [bob, chandra] = res.body.value;
    expect(bob.scheduleItems.map((i: any) => i.start.dateTime)).toEqual(['2026-12-08T09:00:00.0000000', '2026-12-08T12:00:00.0000000']);
    expect(bob.availabilityView).toBe('000000000200200000000000');
    // Chandra's 09:00 IST stand-up is 22:30 the evening before in New York: only her lunch (01:30 EST) is on this day.
    const chandraStarts = chandra.scheduleItems.map((i: any) => DateTime.fromISO(i.start.dateTime, { zone: 'America/New_York' }).setZone('Asia/Kolkata').toFormat('HH:mm'));
    expect(chandraStarts).toEqual(['12:00']);
  });
});
