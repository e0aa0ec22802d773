import fc from 'fast-check';
import { defaultSchedulingRules as rules } from '../../config/scheduling';
import { classifyEventChange, rebookDate, rebookDay, type ObservedEvent } from '../../src/domain/reschedule-rules';
import { addDays, isoWeekdayOf } from '../../src/domain/time-zone';

const NY = 'America/New_York';
const at = (iso: string): number => Date.parse(iso);
const booked = { start: '2026-11-24T10:00:00.000-05:00', end: '2026-11-24T10:30:00.000-05:00' };
const timed = (start: string, end: string, cancelled = false): ObservedEvent => ({ cancelled, timing: { kind: 'timed', start, end } });
const before = at('2026-11-20T12:00:00Z');

describe('classifyEventChange', () => {
  it('sees a deleted event: not found or cancelled', () => {
    expect(classifyEventChange(booked, null, before)).toEqual({ kind: 'rebook', reason: 'deleted' });
    expect(classifyEventChange(booked, timed(booked.start, booked.end, true), before)).toEqual({ kind: 'rebook', reason: 'deleted' });
  });

  it('sees an event turned all-day', () => {
    const allDay: ObservedEvent = { cancelled: false, timing: { kind: 'all_day', startDate: '2026-11-24', endDate: '2026-11-25' } };
    expect(classifyEventChange(booked, allDay, before)).toEqual({ kind: 'rebook', reason: 'all_day' });
  });

  it('leaves an event with the same instants unchanged, however they are written', () => {
    expect(classifyEventChange(booked, timed(booked.start, booked.end), before)).toEqual({ kind: 'unchanged' });
    expect(classifyEventChange(booked, timed('2026-11-24T15:00:00Z', '2026-11-24T15:30:00Z'), before)).toEqual({ kind: 'unchanged' });
    expect(classifyEventChange(booked, timed('2026-11-24T16:00:00+01:00', '2026-11-24T16:30:00+01:00'), before)).toEqual({ kind: 'unchanged' });
  });

  it('follows a move to a later time, or an earlier one still in the future', () => {
    const later = timed('2026-11-26T14:00:00-05:00', '2026-11-26T14:30:00-05:00');
    expect(classifyEventChange(booked, later, before)).toEqual({ kind: 'moved', start: '2026-11-26T14:00:00-05:00', end: '2026-11-26T14:30:00-05:00' });
    const earlier = timed('2026-11-23T09:00:00-05:00', '2026-11-23T09:30:00-05:00');
    expect(classifyEventChange(booked, earlier, before).kind).toBe('moved');
  });

  it('follows a resized window (same start, new end) while it is in the future', () => {
    const longer = timed(booked.start, '2026-11-24T11:00:00.000-05:00');
    expect(classifyEventChange(booked, longer, before)).toEqual({ kind: 'moved', start: booked.start, end: '2026-11-24T11:00:00.000-05:00' });
  });

  it('rebooks an event moved to now or into the past', () => {
    const now = at('2026-11-23T12:00:00-05:00');
    const past = timed('2026-11-20T09:00:00-05:00', '2026-11-20T09:30:00-05:00');
    expect(classifyEventChange(booked, past, now)).toEqual({ kind: 'rebook', reason: 'moved_to_past' });
    const rightNow = timed('2026-11-23T12:00:00-05:00', '2026-11-23T12:30:00-05:00');
    expect(classifyEventChange(booked, rightNow, now)).toEqual({ kind: 'rebook', reason: 'moved_to_past' });
  });

  it('does not mistake our own window, once it has begun, for a move into the past', () => {
    const during = at('2026-11-24T10:10:00-05:00');
    expect(classifyEventChange(booked, timed(booked.start, booked.end), during)).toEqual({ kind: 'unchanged' });
    expect(classifyEventChange(booked, timed(booked.start, '2026-11-24T11:00:00-05:00'), during)).toEqual({ kind: 'unchanged' });
  });

  it('leaves an event without readable times unchanged', () => {
    expect(classifyEventChange(booked, { cancelled: false, timing: { kind: 'unreadable' } }, before)).toEqual({ kind: 'unchanged' });
  });
});

describe('rebookDate', () => {
  it.each([
    ['2026-11-24', 1, '2026-11-25'], // Tuesday → Wednesday
    ['2026-11-24', 2, '2026-11-26'],
    ['2026-11-24', 3, '2026-11-27'], // Friday
    ['2026-11-24', 4, '2026-11-30'], // over the weekend → Monday
    ['2026-11-27', 1, '2026-11-30'], // Friday → Monday
    ['2026-11-28', 1, '2026-11-30'], // Saturday → Monday
    ['2026-11-29', 1, '2026-11-30'], // Sunday → Monday
    ['2026-12-31', 1, '2027-01-01'],
  ])('%s, attempt %i → %s', (original, attempt, expected) => {
    expect(rebookDate(original, attempt)).toBe(expected);
  });

  it('rejects attempts below 1', () => {
    expect(() => rebookDate('2026-11-24', 0)).toThrow(RangeError);
    expect(() => rebookDate('2026-11-24', 1.5)).toThrow(RangeError);
  });
});

describe('rebookDay', () => {
  it('is the rebook date when it is still ahead', () => {
    const day = rebookDay('2026-11-24', 1, at('2026-11-24T10:45:00-05:00'), NY, rules);
    expect(day).toEqual({
      date: '2026-11-25',
      zone: NY,
      windowStart: '2026-11-25T09:00:00.000-05:00',
      windowEnd: '2026-11-25T17:00:00.000-05:00',
    });
  });

  it('is the rebook date when it is today and a slot is left', () => {
    expect(rebookDay('2026-11-24', 1, at('2026-11-25T16:10:00-05:00'), NY, rules).date).toBe('2026-11-25');
  });

  it('moves to the next business day when the rebook date is today but over', () => {
    expect(rebookDay('2026-11-24', 1, at('2026-11-25T16:45:00-05:00'), NY, rules).date).toBe('2026-11-26');
    expect(rebookDay('2026-11-24', 3, at('2026-11-27T17:00:00-05:00'), NY, rules).date).toBe('2026-11-30'); // Friday → Monday
  });

  it('never books a day already past: from today, or the next business day', () => {
    // Deleted late: the rebook date (Wednesday) is gone; today is Thursday morning.
    expect(rebookDay('2026-11-24', 1, at('2026-11-26T08:00:00-05:00'), NY, rules).date).toBe('2026-11-26');
    // Today is Saturday: Monday.
    expect(rebookDay('2026-11-24', 1, at('2026-11-28T08:00:00-05:00'), NY, rules).date).toBe('2026-11-30');
  });

  it('uses the date in the owner zone', () => {
    // 2026-11-25T23:30Z is already Thursday in Tokyo: Wednesday (the rebook date) is past there.
    expect(rebookDay('2026-11-24', 1, at('2026-11-25T23:30:00Z'), 'Asia/Tokyo', rules).date).toBe('2026-11-26');
    expect(rebookDay('2026-11-24', 1, at('2026-11-25T23:30:00Z'), NY, rules).date).toBe('2026-11-26');
    expect(rebookDay('2026-11-24', 1, at('2026-11-25T20:30:00Z'), NY, rules).date).toBe('2026-11-25');
  });
});

describe('rebook properties', () => {
  const RUNS = { numRuns: 200, seed: 424242 };
  const dateArb = fc
    .integer({ min: 0, max: 4 * 366 })
    .map((n) => addDays('2025-01-01', n));

  /** Brute force: walk day by day, counting Mondays to Fridays. */
  function countBusinessDays(original: string, attempt: number): string {
    let date = original;
    for (let counted = 0; counted < attempt; ) {
      date = addDays(date, 1);
      if (isoWeekdayOf(date) <= 5) counted++;
    }
    return date;
  }

  it('rebookDate is a business day strictly after the original, one business day per attempt', () => {
    fc.assert(
      fc.property(dateArb, fc.integer({ min: 1, max: 30 }), (original, attempt) => {
        const date = rebookDate(original, attempt);
        expect(date).toBe(countBusinessDays(original, attempt));
        expect(date > original).toBe(true);
        expect(isoWeekdayOf(date)).toBeLessThanOrEqual(5);
        if (attempt > 1) expect(date > rebookDate(original, attempt - 1)).toBe(true);
        // No business day is skipped: at most two weekend days in between per step.
        const previous = attempt > 1 ? rebookDate(original, attempt - 1) : original;
        expect(date <= addDays(previous, 3)).toBe(true);
      }),
      RUNS,
    );
  });

  it('rebookDay is a business day, not before today in the zone, not before the rebook date, and has a slot', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    fc.assert(
      fc.property(
        dateArb,
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 12 * 24 * 60 }),
        fc.constantFrom(...zones),
        (original, attempt, minutesLater, zone) => {
          const now = Date.parse(`${original}T00:00:00Z`) + minutesLater * 60_000;
          const day = rebookDay(original, attempt, now, zone, rules);
          const today = new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(now);
          expect(isoWeekdayOf(day.date)).toBeLessThanOrEqual(5);
          expect(day.date >= today).toBe(true);
          expect(day.date >= rebookDate(original, attempt)).toBe(true);
          expect(Date.parse(day.windowEnd)).toBeGreaterThan(now);
        },
      ),
      RUNS,
    );
  });

  it('classifyEventChange on random moves: unchanged iff same instants, moved iff new start in the future', () => {
    const base = Date.parse('2026-11-24T15:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: -14 * 24 * 60, max: 14 * 24 * 60 }),
        fc.integer({ min: -120, max: 120 }),
        fc.integer({ min: -14 * 24 * 60, max: 14 * 24 * 60 }),
        fc.constantFrom('Z', '+05:30', '-03:00'),
        (startShift, endShift, nowShift, offset) => {
          const write = (ms: number) => {
            const minutes = offset === 'Z' ? 0 : (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4)));
            return new Date(ms + minutes * 60_000).toISOString().slice(0, 19) + (offset === 'Z' ? 'Z' : offset);
          };
          const start = base + startShift * 60_000;
          const end = base + 30 * 60_000 + (startShift + endShift) * 60_000;
          const now = base + nowShift * 60_000;
          const verdict = classifyEventChange(
            { start: new Date(base).toISOString(), end: new Date(base + 30 * 60_000).toISOString() },
            timed(write(start), write(end)),
            now,
          );
          if (startShift === 0 && endShift === 0) expect(verdict).toEqual({ kind: 'unchanged' });
          else if (startShift !== 0 && start <= now) expect(verdict).toEqual({ kind: 'rebook', reason: 'moved_to_past' });
          else if (startShift === 0 && start <= now) expect(verdict).toEqual({ kind: 'unchanged' });
          else expect(verdict).toEqual({ kind: 'moved', start: write(start), end: write(end) });
        },
      ),
      RUNS,
    );
  });
});
