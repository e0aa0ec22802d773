import fc from 'fast-check';
import { defaultSchedulingRules } from '../../config/scheduling';
import type { SchedulingRules } from '../../src/domain/scheduling-rules';
import { bookingDayOn, candidateSlots, chooseSlot, nextBookingDay, type BookingDay, type Slot } from '../../src/domain/slot-search';

/**
 * Oracles here read local time with Intl (not luxon, which the code under test uses), so a shared mistake in how
 * wall times map to instants cannot hide.
 */
const ZONES = Intl.supportedValuesOf('timeZone');
const MINUTE = 60_000;
const RUNS = { numRuns: 200, seed: 20261124 };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Local date, ISO weekday and minute of day of an instant in a zone, via Intl. */
function local(ms: number, zone: string): { date: string; weekday: number; minute: number } {
  const p = Object.fromEntries(formatterFor(zone).formatToParts(ms).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, weekday: WEEKDAYS[p.weekday], minute: Number(p.hour) * 60 + Number(p.minute) };
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / (24 * 60 * MINUTE));
}

function minuteOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
}

/**
 * Local minute of day (within [fromMinute, toMinute]) → every instant with that local time on `date` in `zone`: two for wall times repeated when
 * clocks go back, none for times skipped by a DST gap. Scans a 15-minute grid (every current offset is a multiple
 * of 15 minutes).
 */
function wallTimeIndex(date: string, zone: string, fromMinute: number, toMinute: number): Map<number, number[]> {
  const utcMidnight = Date.parse(`${date}T00:00:00Z`);
  const index = new Map<number, number[]>();
  // Offsets lie within −12 h … +14 h, so local [from, to] happens within this span of instants.
  for (let t = utcMidnight + (fromMinute - 14 * 60) * MINUTE; t <= utcMidnight + (toMinute + 12 * 60) * MINUTE; t += 15 * MINUTE) {
    const l = local(t, zone);
    if (l.date === date) index.set(l.minute, [...(index.get(l.minute) ?? []), t]);
  }
  return index;
}

/** A plain throw: fast-check reports it with the counterexample, and it is much cheaper than expect() in hot loops. */
function assert(condition: boolean, what: string): void {
  if (!condition) throw new Error(`expected ${what}`);
}

/** The invariants every candidate list must satisfy, read back through Intl. */
function checkSlots(day: BookingDay, slots: Slot[], now: number, rules: SchedulingRules): void {
  const first = minuteOf(rules.dayStart);
  const windowEnd = Date.parse(day.windowEnd);
  let previousEnd = -Infinity;
  for (const slot of slots) {
    const start = Date.parse(slot.start);
    const end = Date.parse(slot.end);
    const l = local(start, day.zone);
    const at = `${slot.start} in ${day.zone}`;
    assert(l.date === day.date && l.weekday === rules.weekday, `${at} on ${day.date}, weekday ${rules.weekday}`);
    assert(l.minute >= first && l.minute < minuteOf(rules.dayEnd), `${at} within ${rules.dayStart}–${rules.dayEnd}`);
    assert((l.minute - first) % rules.slotMinutes === 0, `${at} on a ${rules.slotMinutes}-minute boundary`);
    assert(l.minute === Number(slot.start.slice(11, 13)) * 60 + Number(slot.start.slice(14, 16)), `${at} written with the zone's offset`);
    assert(end - start === rules.slotMinutes * MINUTE, `${at} lasting ${rules.slotMinutes} min`);
    assert(start >= now, `${at} not begun`);
    assert(start >= previousEnd, `${at} after the previous slot`);
    assert(end <= windowEnd, `${at} ending by ${day.windowEnd}`);
    previousEnd = end;
  }
}

/**
 * Every boundary wall time that exists exactly once, has not begun, fits the window and does not overlap the
 * previous boundary's slot (possible only when a slot is longer than a DST gap) must be offered; a repeated wall
 * time is offered at most once.
 */
function checkComplete(day: BookingDay, slots: Slot[], now: number, rules: SchedulingRules): void {
  const offered = new Set(slots.map((s) => Date.parse(s.start)));
  const index = wallTimeIndex(day.date, day.zone, minuteOf(rules.dayStart), minuteOf(rules.dayEnd));
  const length = rules.slotMinutes * MINUTE;
  let previous: number[] = [];
  for (let m = minuteOf(rules.dayStart); m + rules.slotMinutes <= minuteOf(rules.dayEnd); m += rules.slotMinutes) {
    const instants = index.get(m) ?? [];
    assert(instants.filter((t) => offered.has(t)).length <= 1, `minute ${m} of ${day.date} in ${day.zone} offered once`);
    const [t] = instants;
    const fits = t >= now && t + length <= Date.parse(day.windowEnd) && !previous.some((p) => p + length > t);
    if (instants.length === 1 && fits) assert(offered.has(t), `minute ${m} of ${day.date} in ${day.zone} offered`);
    if (instants.length > 0) previous = instants;
  }
}

const zoneArb = fc.constantFrom(...ZONES);
const nowArb = fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 11, 31) });

/** Arbitrary rules: any weekday, window on a 15-minute grid anywhere in the day (night windows meet DST changes). */
const rulesArb: fc.Arbitrary<SchedulingRules> = fc
  .record({
    weekday: fc.integer({ min: 1, max: 7 }),
    startQuarter: fc.integer({ min: 0, max: 95 }),
    slotMinutes: fc.constantFrom(15, 30, 45, 60, 90),
    slotCount: fc.integer({ min: 1, max: 20 }),
  })
  .map(({ weekday, startQuarter, slotMinutes, slotCount }) => {
    const start = startQuarter * 15;
    const end = Math.min(24 * 60, start + slotCount * slotMinutes);
    const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    return { weekday, dayStart: hhmm(start), dayEnd: hhmm(end), slotMinutes, fallbackTimeZone: 'UTC' };
  })
  .filter((r) => minuteOf(r.dayStart) + r.slotMinutes <= minuteOf(r.dayEnd));

describe('slot search properties', () => {
  it('nextBookingDay is the first rules weekday from today (in the zone) that still has a slot, within 7 days', () => {
    fc.assert(
      fc.property(zoneArb, nowArb, (zone, now) => {
        const rules = defaultSchedulingRules;
        const day = nextBookingDay(now, zone, rules);
        const today = local(now, zone);
        const ahead = daysBetween(today.date, day.date);
        expect(ahead).toBeGreaterThanOrEqual(0);
        expect(ahead).toBeLessThanOrEqual(7);
        expect(local(Date.parse(day.windowStart), zone).weekday).toBe(rules.weekday);
        if (ahead === 7) expect(candidateSlots(bookingDayOn(today.date, zone, rules), now, rules)).toEqual([]);
        else expect(ahead).toBe((rules.weekday - today.weekday + 7) % 7);
      }),
      RUNS,
    );
  });

  /** The booking day's candidate slots for `now` under `rules`, checked against every invariant. */
  function checkDay(zone: string, now: number, rules: SchedulingRules): void {
    const day = nextBookingDay(now, zone, rules);
    const slots = candidateSlots(day, now, rules);
    expect(slots.length).toBeGreaterThan(0);
    checkSlots(day, slots, now, rules);
    checkComplete(day, slots, now, rules);
  }

  it('default rules: slots are on the weekday, aligned, inside 09:00–17:00, 30 minutes long, not begun, complete', () => {
    fc.assert(
      fc.property(zoneArb, nowArb, (zone, now) => checkDay(zone, now, defaultSchedulingRules)),
      RUNS,
    );
  });

  it('arbitrary rules (night windows across DST changes included): same invariants', () => {
    fc.assert(
      fc.property(zoneArb, nowArb, rulesArb, (zone, now, rules) => checkDay(zone, now, rules)),
      RUNS,
    );
  });

  it('DST transition days in particular: slots stay disjoint, aligned and complete', () => {
    // now = a moment of a DST change somewhere; the booking day is that zone's weekday of the change.
    const transitions = fc.constantFrom(
      ['America/New_York', '2026-03-08T07:00:00Z'],
      ['America/New_York', '2026-11-01T06:00:00Z'],
      ['Europe/London', '2026-03-29T01:00:00Z'],
      ['Europe/London', '2026-10-25T01:00:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T14:30:00Z'],
      ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
      ['America/Santiago', '2026-04-05T03:00:00Z'],
      ['America/Santiago', '2026-09-06T04:00:00Z'],
      ['Pacific/Chatham', '2026-04-04T14:00:00Z'],
      ['America/St_Johns', '2026-03-08T05:30:00Z'],
      ['Asia/Gaza', '2026-03-27T23:00:00Z'],
    );
    fc.assert(
      fc.property(transitions, rulesArb, fc.integer({ min: -36, max: 0 }), ([zone, iso], rules, hoursBefore) => {
        const change = Date.parse(iso);
        const weekday = local(change, zone).weekday;
        const r = { ...rules, weekday };
        const now = change + hoursBefore * 60 * MINUTE;
        const day = bookingDayOn(local(change, zone).date, zone, r);
        const slots = candidateSlots(day, now, r);
        checkSlots(day, slots, now, r);
        checkComplete(day, slots, now, r);
      }),
      RUNS,
    );
  });

  it('chooseSlot takes the first candidate free of every busy interval, else the last one with onlyTimeLeft', () => {
    const busyArb = fc.array(
      fc.record({
        fromMinute: fc.integer({ min: -180, max: 24 * 60 }),
        minutes: fc.integer({ min: 1, max: 9 * 60 }),
        utc: fc.boolean(),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(zoneArb, nowArb, busyArb, (zone, now, raw) => {
        const rules = defaultSchedulingRules;
        const day = nextBookingDay(now, zone, rules);
        const dayStart = Date.parse(day.windowStart) - ((Date.parse(day.windowStart) / MINUTE) % 1) * MINUTE;
        const busyMs = raw.map((b) => ({ start: dayStart + b.fromMinute * MINUTE - 9 * 60 * MINUTE + 9 * 60 * MINUTE, minutes: b.minutes, utc: b.utc }));
        const busy = busyMs.map((b) => {
          const write = (ms: number) => (b.utc ? new Date(ms).toISOString() : new Date(ms).toISOString().replace('Z', '+00:00'));
          return { start: write(b.start), end: write(b.start + b.minutes * MINUTE) };
        });
        const candidates = candidateSlots(day, now, rules);
        // Brute force: a slot is busy if any of its minutes lies inside any busy interval.
        const isBusy = (s: Slot) => {
          for (let t = Date.parse(s.start); t < Date.parse(s.end); t += MINUTE) {
            if (busyMs.some((b) => t >= b.start && t < b.start + b.minutes * MINUTE)) return true;
          }
          return false;
        };
        const firstFree = candidates.find((s) => !isBusy(s));
        const choice = chooseSlot(day, busy, now, rules);
        if (candidates.length === 0) expect(choice).toBeNull();
        else if (firstFree) expect(choice).toEqual({ slot: firstFree, onlyTimeLeft: false });
        else expect(choice).toEqual({ slot: candidates[candidates.length - 1], onlyTimeLeft: true });
      }),
      RUNS,
    );
  });
});
