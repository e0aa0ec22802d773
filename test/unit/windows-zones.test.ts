import { DateTime } from 'luxon';
import { isIanaZone, resolveGraphTimeZone, windowsToIana, WINDOWS_TO_IANA } from '../../src/microsoft/windows-zones';

const FALLBACK = 'America/New_York';

describe('Windows → IANA zones (CLDR windowsZones, territory 001)', () => {
  const entries = Object.entries(WINDOWS_TO_IANA);

  it('holds every Windows zone CLDR maps (139 in the 2021a mapping)', () => {
    expect(entries).toHaveLength(139);
    expect(new Set(entries.map(([w]) => w.toLowerCase())).size).toBe(entries.length);
  });

  it.each(entries)('%s → %s is a zone luxon knows', (_windows, iana) => {
    expect(DateTime.fromISO('2026-12-01T12:00:00', { zone: iana }).isValid).toBe(true);
    expect(isIanaZone(iana)).toBe(true);
  });

  it.each([
    ['Pacific Standard Time', 'America/Los_Angeles'],
    ['Eastern Standard Time', 'America/New_York'],
    ['W. Europe Standard Time', 'Europe/Berlin'],
    ['Romance Standard Time', 'Europe/Paris'],
    ['GMT Standard Time', 'Europe/London'],
    ['India Standard Time', 'Asia/Calcutta'],
    ['Nepal Standard Time', 'Asia/Katmandu'],
    ['Chatham Islands Standard Time', 'Pacific/Chatham'],
    ['UTC', 'Etc/UTC'],
    ['UTC-11', 'Etc/GMT+11'],
    ['UTC+12', 'Etc/GMT-12'],
    ['Dateline Standard Time', 'Etc/GMT+12'],
    ['Line Islands Standard Time', 'Pacific/Kiritimati'],
  ])('maps %s to %s', (windows, iana) => {
    expect(windowsToIana(windows)).toBe(iana);
    expect(resolveGraphTimeZone(windows, FALLBACK)).toEqual({ zone: iana, source: 'windows', name: windows });
  });

  it('keeps the offsets the Windows names stand for (India +05:30, Nepal +05:45, Chatham +12:45 in winter)', () => {
    const at = (windows: string) => DateTime.fromISO('2026-07-01T12:00:00Z').setZone(windowsToIana(windows)).offset;
    expect(at('India Standard Time')).toBe(330);
    expect(at('Nepal Standard Time')).toBe(345);
    expect(at('Chatham Islands Standard Time')).toBe(765);
    expect(at('UTC-11')).toBe(-660);
  });

  it('matches Windows names case-insensitively and ignores surrounding blanks, answering the IANA zone', () => {
    expect(windowsToIana('pacific standard time')).toBe('America/Los_Angeles');
    expect(resolveGraphTimeZone('  Tokyo Standard Time ', FALLBACK)).toMatchObject({ zone: 'Asia/Tokyo', source: 'windows' });
  });

  it('passes IANA names through (mailboxes configured with IANA zones)', () => {
    expect(resolveGraphTimeZone('Europe/Zurich', FALLBACK)).toEqual({ zone: 'Europe/Zurich', source: 'iana', name: 'Europe/Zurich' });
    expect(resolveGraphTimeZone('Asia/Kolkata', FALLBACK)).toMatchObject({ zone: 'Asia/Kolkata', source: 'iana' });
  });

  it('falls back, with a reason, for custom zones', () => {
    const named = resolveGraphTimeZone('Customized Time Zone', FALLBACK);
    expect(named).toMatchObject({ zone: FALLBACK, source: 'fallback', name: 'Customized Time Zone' });
    expect(named.source === 'fallback' && named.reason).toMatch(/custom time zone/);
    const object = resolveGraphTimeZone(
      { '@odata.type': '#microsoft.graph.customTimeZone', name: 'Customized Time Zone', bias: -60, standardOffset: { time: '03:00:00' } },
      FALLBACK,
    );
    expect(object).toMatchObject({ zone: FALLBACK, source: 'fallback', name: 'Customized Time Zone' });
    expect(object.source === 'fallback' && object.reason).toMatch(/bias rules are not converted/);
    expect(resolveGraphTimeZone('tzone://Microsoft/Custom', FALLBACK)).toMatchObject({ zone: FALLBACK, source: 'fallback' });
  });

  it('falls back, with a reason, for unknown, empty or missing names (and never treats "UTC+3"-like strings as IANA)', () => {
    for (const value of ['Mars Standard Time', 'Nowhere/City', 'UTC+3', 'GMT+1', '', '   ', null, undefined, 42]) {
      const r = resolveGraphTimeZone(value, FALLBACK);
      expect(r.zone).toBe(FALLBACK);
      expect(r.source).toBe('fallback');
      expect(r.source === 'fallback' && r.reason.length).toBeGreaterThan(0);
    }
  });

  it('refuses an invalid fallback zone', () => {
    expect(() => resolveGraphTimeZone('UTC', 'Not/AZone')).toThrow(/fallback time zone/);
  });
});
