import { defaultSchedulingRules as rules } from '../../config/scheduling';
import type { SchedulingRules } from '../../src/domain/scheduling-rules';
import { bookingDayOn, candidateSlots, chooseSlot, nextBookingDay, queryRange } from '../../src/domain/slot-search';

const NY = 'America/New_York';
const at = (iso: string): number => Date.parse(iso);
const starts = (zone: string, date: string, now: number, r: SchedulingRules = rules): string[] =>
  candidateSlots(bookingDayOn(date, zone, r), now, r).map((s) => s.start);

describe('nextBookingDay', () => {
  it('is today when today is Tuesday before the workday', () => {
    const day = nextBookingDay(at('2026-11-24T07:12:00-05:00'), NY, rules);
    expect(day).toEqual({
      date: '2026-11-24',
      zone: NY,
      windowStart: '2026-11-24T09:00:00.000-05:00',
      windowEnd: '2026-11-24T17:00:00.000-05:00',
    });
  });

  it('is today when a slot still fits (Tuesday 16:29)', () => {
    expect(nextBookingDay(at('2026-11-24T16:29:00-05:00'), NY, rules).date).toBe('2026-11-24');
  });

  it('is next Tuesday once the last slot has begun (Tuesday 16:30:01 and 16:45)', () => {
    expect(nextBookingDay(at('2026-11-24T16:30:01-05:00'), NY, rules).date).toBe('2026-12-01');
    expect(nextBookingDay(at('2026-11-24T16:45:00-05:00'), NY, rules).date).toBe('2026-12-01');
  });

  it('is the coming Tuesday from any other weekday', () => {
    expect(nextBookingDay(at('2026-11-25T10:00:00-05:00'), NY, rules).date).toBe('2026-12-01'); // Wednesday
    expect(nextBookingDay(at('2026-11-23T23:59:00-05:00'), NY, rules).date).toBe('2026-11-24'); // Monday night
    expect(nextBookingDay(at('2026-11-29T12:00:00-05:00'), NY, rules).date).toBe('2026-12-01'); // Sunday
  });

  it('uses the weekday in the owner zone, not in UTC', () => {
    // Tuesday 01:00 UTC is still Monday evening in New York and already Tuesday in Tokyo.
    const now = at('2026-11-24T01:00:00Z');
    expect(nextBookingDay(now, NY, rules).date).toBe('2026-11-24');
    expect(nextBookingDay(at('2026-11-23T20:00:00Z'), 'Asia/Tokyo', rules).date).toBe('2026-11-24');
    // Tuesday 10:00 UTC is Tuesday 19:00 in Tokyo: the workday there is over.
    expect(nextBookingDay(at('2026-11-24T10:00:00Z'), 'Asia/Tokyo', rules).date).toBe('2026-12-01');
  });

  it('follows the rules weekday (Thursday rules)', () => {
    const thursdays = { ...rules, weekday: 4 };
    expect(nextBookingDay(at('2026-11-24T10:00:00-05:00'), NY, thursdays).date).toBe('2026-11-26');
  });

  it('carries the offset of the booking day across a DST change', () => {
    // Wednesday 2026-03-04 is EST; the next Tuesday, 2026-03-10, is after the switch to EDT.
    const day = nextBookingDay(at('2026-03-04T12:00:00-05:00'), NY, rules);
    expect(day.windowStart).toBe('2026-03-10T09:00:00.000-04:00');
    expect(day.windowEnd).toBe('2026-03-10T17:00:00.000-04:00');
  });

  it('rejects an invalid zone', () => {
    expect(() => nextBookingDay(at('2026-11-24T07:00:00Z'), 'Mars/Olympus', rules)).toThrow(RangeError);
  });
});

describe('candidateSlots', () => {
  it('lists the 16 half-hour slots of a whole workday', () => {
    const slots = candidateSlots(bookingDayOn('2026-11-24', NY, rules), at('2026-11-24T06:00:00-05:00'), rules);
    expect(slots).toHaveLength(16);
    expect(slots[0]).toEqual({ start: '2026-11-24T09:00:00.000-05:00', end: '2026-11-24T09:30:00.000-05:00' });
    expect(slots[15]).toEqual({ start: '2026-11-24T16:30:00.000-05:00', end: '2026-11-24T17:00:00.000-05:00' });
  });

  it('starts at the next aligned boundary once the workday has started (10:07 → 10:30)', () => {
    expect(starts(NY, '2026-11-24', at('2026-11-24T10:07:00-05:00'))[0]).toBe('2026-11-24T10:30:00.000-05:00');
  });

  it('keeps a slot starting exactly now, drops one that began a second ago', () => {
    expect(starts(NY, '2026-11-24', at('2026-11-24T10:30:00-05:00'))[0]).toBe('2026-11-24T10:30:00.000-05:00');
    expect(starts(NY, '2026-11-24', at('2026-11-24T10:30:01-05:00'))[0]).toBe('2026-11-24T11:00:00.000-05:00');
  });

  it('is empty when the workday is over', () => {
    expect(starts(NY, '2026-11-24', at('2026-11-24T16:31:00-05:00'))).toEqual([]);
  });

  it('honours other slot lengths and windows', () => {
    const hourly: SchedulingRules = { ...rules, dayStart: '08:15', dayEnd: '11:00', slotMinutes: 60 };
    expect(starts(NY, '2026-11-24', 0, hourly)).toEqual([
      '2026-11-24T08:15:00.000-05:00',
      '2026-11-24T09:15:00.000-05:00',
    ]);
  });

  it.each([
    ['Asia/Kolkata', '+05:30'],
    ['Asia/Kathmandu', '+05:45'],
    ['Australia/Eucla', '+08:45'],
    ['Asia/Tehran', '+03:30'],
    ['Australia/Adelaide', '+10:30'],
    ['America/St_Johns', '-03:30'],
    ['Pacific/Chatham', '+13:45'],
  ])('aligns to local :00/:30 in %s (%s)', (zone, offset) => {
    const slots = candidateSlots(bookingDayOn('2026-11-24', zone, rules), 0, rules);
    expect(slots).toHaveLength(16);
    expect(slots[0].start).toBe(`2026-11-24T09:00:00.000${offset}`);
    expect(slots[1].start).toBe(`2026-11-24T09:30:00.000${offset}`);
    expect(slots[15].end).toBe(`2026-11-24T17:00:00.000${offset}`);
  });

  it.each([
    ['America/New_York', '2026-03-03', '-05:00'],
    ['America/New_York', '2026-03-10', '-04:00'],
    ['America/New_York', '2026-11-03', '-05:00'],
    ['Europe/London', '2026-03-24', '+00:00'],
    ['Europe/London', '2026-03-31', '+01:00'],
    ['Europe/London', '2026-10-27', '+00:00'],
    ['Australia/Lord_Howe', '2026-03-31', '+11:00'],
    ['Australia/Lord_Howe', '2026-04-07', '+10:30'],
    ['Australia/Lord_Howe', '2026-10-06', '+11:00'],
    ['America/Santiago', '2026-03-31', '-03:00'],
    ['America/Santiago', '2026-04-07', '-04:00'],
    ['America/Santiago', '2026-09-08', '-03:00'],
    ['Australia/Adelaide', '2026-04-07', '+09:30'],
    ['America/St_Johns', '2026-03-10', '-02:30'],
  ])('uses the right offset in %s on Tuesday %s (%s) around DST changes', (zone, date, offset) => {
    const slots = candidateSlots(bookingDayOn(date, zone, rules), 0, rules);
    expect(slots).toHaveLength(16);
    expect(slots[0].start).toBe(`${date}T09:00:00.000${offset}`);
    expect(slots[15].end).toBe(`${date}T17:00:00.000${offset}`);
  });

  describe('a working window across the DST change itself', () => {
    const night = (weekday: number, dayStart: string, dayEnd: string): SchedulingRules => ({ ...rules, weekday, dayStart, dayEnd });

    it('skips wall times in the spring-forward gap (New York, 02:00–03:00 missing)', () => {
      expect(starts(NY, '2026-03-08', 0, night(7, '00:00', '04:00'))).toEqual([
        '2026-03-08T00:00:00.000-05:00',
        '2026-03-08T00:30:00.000-05:00',
        '2026-03-08T01:00:00.000-05:00',
        '2026-03-08T01:30:00.000-05:00',
        '2026-03-08T03:00:00.000-04:00',
        '2026-03-08T03:30:00.000-04:00',
      ]);
      const slots = candidateSlots(bookingDayOn('2026-03-08', NY, night(7, '00:00', '04:00')), 0, night(7, '00:00', '04:00'));
      expect(slots[3].end).toBe('2026-03-08T03:00:00.000-04:00'); // 30 real minutes
    });

    it('skips the 30-minute gap of Lord Howe (02:00–02:30 missing)', () => {
      expect(starts('Australia/Lord_Howe', '2026-10-04', 0, night(7, '01:00', '03:30'))).toEqual([
        '2026-10-04T01:00:00.000+10:30',
        '2026-10-04T01:30:00.000+10:30',
        '2026-10-04T02:30:00.000+11:00',
        '2026-10-04T03:00:00.000+11:00',
      ]);
    });

    it('moves a day start that falls in a gap forward (Santiago, midnight missing)', () => {
      const day = bookingDayOn('2026-09-06', 'America/Santiago', night(7, '00:00', '02:00'));
      expect(day.windowStart).toBe('2026-09-06T01:00:00.000-03:00');
      expect(starts('America/Santiago', '2026-09-06', 0, night(7, '00:00', '02:00'))).toEqual([
        '2026-09-06T01:00:00.000-03:00',
        '2026-09-06T01:30:00.000-03:00',
      ]);
    });

    it.each([
      [NY, '2026-11-01', 7, '00:00', '03:00'],
      ['Europe/London', '2026-10-25', 7, '00:00', '03:00'],
      ['Australia/Lord_Howe', '2026-04-05', 7, '00:30', '03:00'],
      ['America/Santiago', '2026-04-04', 6, '21:00', '24:00'],
    ])('emits disjoint, strictly increasing 30-minute slots when clocks go back (%s %s)', (zone, date, weekday, from, to) => {
      const r = night(weekday, from, to);
      const day = bookingDayOn(date, zone, r);
      const slots = candidateSlots(day, 0, r);
      expect(slots.length).toBeGreaterThanOrEqual(5);
      for (const [i, s] of slots.entries()) {
        expect(Date.parse(s.end) - Date.parse(s.start)).toBe(30 * 60_000);
        if (i > 0) expect(Date.parse(s.start)).toBeGreaterThanOrEqual(Date.parse(slots[i - 1].end));
      }
      expect(Date.parse(slots[slots.length - 1].end)).toBeLessThanOrEqual(Date.parse(day.windowEnd));
    });
  });

  it('rejects rules in which no slot fits', () => {
    expect(() => bookingDayOn('2026-11-24', NY, { ...rules, dayStart: '17:00', dayEnd: '17:15' })).toThrow(RangeError);
    expect(() => bookingDayOn('2026-11-24', NY, { ...rules, dayStart: '9:00' })).toThrow(RangeError);
  });
});

describe('chooseSlot', () => {
  const tuesday = bookingDayOn('2026-11-24', NY, rules);
  const early = at('2026-11-24T06:00:00-05:00');

  it('takes the first slot of a free day', () => {
    expect(chooseSlot(tuesday, [], early, rules)).toEqual({
      slot: { start: '2026-11-24T09:00:00.000-05:00', end: '2026-11-24T09:30:00.000-05:00' },
      onlyTimeLeft: false,
    });
  });

  it('skips busy blocks, including one that only partly covers a slot', () => {
    const busy = [
      { start: '2026-11-24T09:00:00-05:00', end: '2026-11-24T10:00:00-05:00' },
      { start: '2026-11-24T10:15:00-05:00', end: '2026-11-24T10:20:00-05:00' },
    ];
    expect(chooseSlot(tuesday, busy, early, rules)?.slot.start).toBe('2026-11-24T10:30:00.000-05:00');
  });

  it('treats touching edges as free', () => {
    const busy = [
      { start: '2026-11-24T08:00:00-05:00', end: '2026-11-24T09:00:00-05:00' },
      { start: '2026-11-24T09:30:00-05:00', end: '2026-11-24T10:00:00-05:00' },
    ];
    expect(chooseSlot(tuesday, busy, early, rules)?.slot.start).toBe('2026-11-24T09:00:00.000-05:00');
  });

  it('compares instants whatever offset the busy intervals are written in', () => {
    const busyUtc = [{ start: '2026-11-24T14:00:00Z', end: '2026-11-24T15:00:00Z' }]; // 09:00–10:00 New York
    const busyIndia = [{ start: '2026-11-24T19:30:00+05:30', end: '2026-11-24T20:30:00+05:30' }]; // same hour
    const busyMillis = [{ start: '2026-11-24T14:00:00.000+00:00', end: '2026-11-24T15:00:00.000+00:00' }];
    for (const busy of [busyUtc, busyIndia, busyMillis]) {
      expect(chooseSlot(tuesday, busy, early, rules)?.slot.start).toBe('2026-11-24T10:00:00.000-05:00');
    }
  });

  it('starts searching at now (Tuesday 10:07 → 10:30)', () => {
    expect(chooseSlot(tuesday, [], at('2026-11-24T10:07:00-05:00'), rules)?.slot.start).toBe('2026-11-24T10:30:00.000-05:00');
  });

  it('double-books the last slot when the day is full', () => {
    const busy = [{ start: '2026-11-24T08:00:00-05:00', end: '2026-11-24T18:00:00-05:00' }];
    expect(chooseSlot(tuesday, busy, early, rules)).toEqual({
      slot: { start: '2026-11-24T16:30:00.000-05:00', end: '2026-11-24T17:00:00.000-05:00' },
      onlyTimeLeft: true,
    });
  });

  it('finds the one free slot in an otherwise full day', () => {
    const busy = [
      { start: '2026-11-24T09:00:00-05:00', end: '2026-11-24T15:00:00-05:00' },
      { start: '2026-11-24T15:30:00-05:00', end: '2026-11-24T17:00:00-05:00' },
    ];
    expect(chooseSlot(tuesday, busy, early, rules)).toEqual({
      slot: { start: '2026-11-24T15:00:00.000-05:00', end: '2026-11-24T15:30:00.000-05:00' },
      onlyTimeLeft: false,
    });
  });

  it('returns null once the day is over', () => {
    expect(chooseSlot(tuesday, [], at('2026-11-24T16:45:00-05:00'), rules)).toBeNull();
  });

  it('rejects an unparseable busy interval rather than booking over it', () => {
    expect(() => chooseSlot(tuesday, [{ start: 'tomorrow', end: 'later' }], early, rules)).toThrow(RangeError);
  });
});

describe('queryRange', () => {
  it('spans the earliest window start to the latest window end, by instant', () => {
    const days = [
      bookingDayOn('2026-11-24', NY, rules), // 14:00Z–22:00Z
      bookingDayOn('2026-11-24', 'Asia/Kolkata', rules), // 03:30Z–11:30Z
      bookingDayOn('2026-11-24', 'America/Los_Angeles', rules), // 17:00Z–01:00Z next day
    ];
    expect(queryRange(days)).toEqual({
      timeMin: '2026-11-24T09:00:00.000+05:30',
      timeMax: '2026-11-24T17:00:00.000-08:00',
    });
  });

  it('needs at least one day', () => {
    expect(() => queryRange([])).toThrow(RangeError);
  });
});
