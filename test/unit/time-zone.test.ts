import {
  addDays,
  firstInstantAt,
  formatInstant,
  instantsAt,
  isoWeekdayOf,
  localDateOf,
  resolveTimeZone,
  zonedDate,
} from '../../src/domain/time-zone';

const FALLBACK = 'America/New_York';

describe('resolveTimeZone', () => {
  it.each(['Europe/Paris', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC', 'America/Argentina/Buenos_Aires'])('keeps the valid zone %s', (zone) => {
    expect(resolveTimeZone(zone, FALLBACK)).toEqual({ zone, usedFallback: false });
  });

  it('ignores surrounding whitespace', () => {
    expect(resolveTimeZone('  Europe/Paris\n', FALLBACK)).toEqual({ zone: 'Europe/Paris', usedFallback: false });
  });

  it.each([null, undefined, '', '   '])('falls back when the setting is missing (%p)', (candidate) => {
    expect(resolveTimeZone(candidate, FALLBACK)).toEqual({ zone: FALLBACK, usedFallback: true, reason: 'missing' });
  });

  it.each(['Mars/Olympus_Mons', 'Europe/Pariss', 'GMT+25', 'not a zone'])('falls back on the invalid zone %p and says why', (candidate) => {
    expect(resolveTimeZone(candidate, FALLBACK)).toEqual({ zone: FALLBACK, usedFallback: true, reason: `invalid: ${candidate}` });
  });
});

describe('calendar dates', () => {
  it('reads the local date of an instant in a zone', () => {
    const instant = Date.parse('2026-11-24T02:00:00Z');
    expect(localDateOf(instant, 'America/New_York')).toBe('2026-11-23');
    expect(localDateOf(instant, 'Asia/Tokyo')).toBe('2026-11-24');
    expect(() => localDateOf(instant, 'Nowhere/Land')).toThrow(RangeError);
  });

  it('adds days across months, years and leap days', () => {
    expect(addDays('2026-11-24', 7)).toBe('2026-12-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('gives ISO weekdays', () => {
    expect(isoWeekdayOf('2026-11-23')).toBe(1);
    expect(isoWeekdayOf('2026-11-24')).toBe(2);
    expect(isoWeekdayOf('2026-11-29')).toBe(7);
  });

  it('rejects malformed dates', () => {
    expect(() => addDays('2026-02-30', 1)).toThrow(RangeError);
    expect(() => isoWeekdayOf('24/11/2026')).toThrow(RangeError);
  });
});

describe('wall time to instant', () => {
  const at = (date: string, zone: string, hhmm: string) => {
    const day = zonedDate(date, zone);
    const minute = Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
    return instantsAt(day, minute).map((ms) => formatInstant(ms, day));
  };

  it('maps an ordinary wall time to one instant written with the local offset', () => {
    expect(at('2026-11-24', 'America/New_York', '09:00')).toEqual(['2026-11-24T09:00:00.000-05:00']);
    expect(at('2026-11-24', 'Asia/Kathmandu', '09:30')).toEqual(['2026-11-24T09:30:00.000+05:45']);
    expect(at('2026-11-24', 'UTC', '00:00')).toEqual(['2026-11-24T00:00:00.000+00:00']);
  });

  it('has no instant for a wall time in a DST gap, two for a repeated one', () => {
    expect(at('2026-03-08', 'America/New_York', '02:30')).toEqual([]);
    expect(at('2026-11-01', 'America/New_York', '01:30')).toEqual(['2026-11-01T01:30:00.000-04:00', '2026-11-01T01:30:00.000-05:00']);
    expect(at('2026-10-04', 'Australia/Lord_Howe', '02:15')).toEqual([]);
    expect(at('2026-04-05', 'Australia/Lord_Howe', '01:45')).toEqual(['2026-04-05T01:45:00.000+11:00', '2026-04-05T01:45:00.000+10:30']);
  });

  it('moves a wall time in a gap forward by the gap', () => {
    const day = zonedDate('2026-03-08', 'America/New_York');
    expect(formatInstant(firstInstantAt(day, 2 * 60 + 30), day)).toBe('2026-03-08T03:30:00.000-04:00');
  });

  it('reads 24:00 as the next midnight', () => {
    const day = zonedDate('2026-11-24', 'Europe/Paris');
    expect(formatInstant(firstInstantAt(day, 24 * 60), day)).toBe('2026-11-25T00:00:00.000+01:00');
  });
});
