import fc from 'fast-check';
import { defaultSchedulingRules } from '../../config/scheduling';
import { DEFAULT_MAINTENANCE_RULES, type MaintenanceRules } from '../../src/domain/maintenance-rules';
import { chooseRebookWindow, chooseWindow, deadlineOf, plannedRebookDate, rebookDayFor, slotsWithin } from '../../src/domain/policy-slot-search';
import { rebookDate, rebookDay } from '../../src/domain/reschedule-rules';
import { bookingDayOn, chooseSlot, nextBookingDay } from '../../src/domain/slot-search';

/** Oracles read local time with Intl (the code uses luxon and rrule), and day rules from their own spec. */
const ZONES = Intl.supportedValuesOf('timeZone');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const RUNS = { numRuns: 150, seed: 20261203 };

const formatters = new Map<string, Intl.DateTimeFormat>();
function local(ms: number, zone: string): { date: string; minute: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    formatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, minute: Number(p.hour) * 60 + Number(p.minute) };
}

const isoWeekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay() || 7;
const plusDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const minuteOf = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
const CODES = ['', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

/** A day rule as an RRULE plus an independent oracle of which dates it allows. */
interface DayRule {
  rrule: string;
  allows: (date: string) => boolean;
}
const weekdaysArb = fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 });
const dayRuleArb: fc.Arbitrary<DayRule> = fc.oneof(
  fc.constant<DayRule>({ rrule: 'FREQ=DAILY', allows: () => true }),
  weekdaysArb.map((days) => ({ rrule: `FREQ=WEEKLY;BYDAY=${days.map((d) => CODES[d]).join(',')}`, allows: (date: string) => days.includes(isoWeekday(date)) })),
  fc.uniqueArray(fc.integer({ min: 1, max: 28 }), { minLength: 1, maxLength: 4 }).map((mdays) => ({
    rrule: `FREQ=MONTHLY;BYMONTHDAY=${mdays.join(',')}`,
    allows: (date: string) => mdays.includes(Number(date.slice(8))),
  })),
  // Every other week, counted from the anchor Monday 2024-01-01.
  weekdaysArb.map((days) => ({
    rrule: `FREQ=WEEKLY;INTERVAL=2;BYDAY=${days.map((d) => CODES[d]).join(',')}`,
    allows: (date: string) => {
      const week = Math.floor((Date.parse(`${date}T00:00:00Z`) - Date.parse('2024-01-01T00:00:00Z')) / (7 * DAY));
      return week % 2 === 0 && days.includes(isoWeekday(date));
    },
  })),
);

const windowArb = fc
  .record({ startQuarter: fc.integer({ min: 0, max: 95 }), slot: fc.constantFrom(15, 30, 45, 60, 90), count: fc.integer({ min: 1, max: 16 }) })
  .map(({ startQuarter, slot, count }) => ({ start: startQuarter * 15, end: Math.min(24 * 60, startQuarter * 15 + slot * count), slot }))
  .filter((w) => w.start + w.slot <= w.end);

const zoneArb = fc.constantFrom(...ZONES);
const nowArb = fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 11, 31) });

interface Case {
  zone: string;
  now: number;
  day: DayRule;
  rules: MaintenanceRules;
  deadline: number | null;
  busy: { start: number; end: number }[];
}

function caseArb(nowA: fc.Arbitrary<number>, zoneA: fc.Arbitrary<string>): fc.Arbitrary<Case> {
  return fc
    .record({
      zone: zoneA,
      now: nowA,
      day: dayRuleArb,
      window: windowArb,
      blackout: fc.uniqueArray(fc.integer({ min: -1, max: 40 }), { maxLength: 6 }),
      deadlineDays: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }),
      failedDaysAgo: fc.integer({ min: 0, max: 10 }),
      busy: fc.array(fc.record({ fromMinute: fc.integer({ min: -60, max: 40 * 24 * 60 }), minutes: fc.integer({ min: 1, max: 10 * 60 }) }), { maxLength: 15 }),
    })
    .map((c) => {
      const today = local(c.now, c.zone).date;
      const rules: MaintenanceRules = {
        ...DEFAULT_MAINTENANCE_RULES,
        window: { rrule: c.day.rrule, start: hhmm(c.window.start), end: hhmm(c.window.end), slot_minutes: c.window.slot },
        blackout_dates: c.blackout.map((n) => plusDays(today, n)),
        deadline_days: c.deadlineDays,
      };
      const deadline = deadlineOf(c.now - c.failedDaysAgo * DAY, c.deadlineDays, c.zone);
      const busy = c.busy.map((b) => ({ start: c.now + b.fromMinute * MINUTE, end: c.now + (b.fromMinute + b.minutes) * MINUTE }));
      return { zone: c.zone, now: c.now, day: c.day, rules, deadline, busy };
    });
}

function assert(condition: boolean, what: string): void {
  if (!condition) throw new Error(`expected ${what}`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Every invariant of a chosen window, read back through Intl. */
function checkChoice(c: Case, choice: ReturnType<typeof chooseWindow>, allows: (date: string) => boolean, firstFrom?: string): void {
  const { zone, now, rules, deadline } = c;
  if (choice === null) {
    // Only possible when no allowed day exists in 400 days: never for these rules (blackouts span 42 days).
    throw new Error('expected a window');
  }
  const start = Date.parse(choice.slot.start);
  const end = Date.parse(choice.slot.end);
  const l = local(start, zone);
  const at = `${choice.slot.start} in ${zone} (${rules.window.rrule} ${rules.window.start}–${rules.window.end}/${rules.window.slot_minutes})`;
  assert(l.date === choice.day.date, `${at} on its day ${choice.day.date}`);
  assert(l.minute >= minuteOf(rules.window.start) && l.minute < minuteOf(rules.window.end), `${at} inside the window hours`);
  assert((l.minute - minuteOf(rules.window.start)) % rules.window.slot_minutes === 0, `${at} on the slot grid`);
  assert(end - start === rules.window.slot_minutes * MINUTE, `${at} lasting the slot length`);
  assert(end <= Date.parse(choice.day.windowEnd), `${at} ending by the window end`);
  assert(start >= now, `${at} not in the past`);
  const overlapsBusy = c.busy.some((b) => start < b.end && b.start < end);
  if (!choice.onlyTimeLeft) assert(!overlapsBusy, `${at} free`);
  const deadlinePassed = choice.reason?.includes('has passed') ?? false;
  if (deadline !== null && !deadlinePassed) assert(end <= deadline, `${at} ending by the deadline ${iso(deadline)}`);
  if (choice.basis === 'allowed_day') {
    assert(allows(l.date), `${at} on a date the rule allows`);
    assert(!rules.blackout_dates.includes(l.date), `${at} not blacked out`);
    // The first such date: no earlier allowed, non-blacked-out date from today had a slot left.
    for (let d = firstFrom ?? local(now, zone).date; d < l.date; d = plusDays(d, 1)) {
      if (!allows(d) || rules.blackout_dates.includes(d)) continue;
      const slots = slotsWithin(bookingDayOn(d, zone, { dayStart: rules.window.start, dayEnd: rules.window.end, slotMinutes: rules.window.slot_minutes }), now, rules.window, deadlinePassed ? null : deadline);
      assert(slots.length === 0, `no slot left on the earlier allowed date ${d} (chose ${l.date})`);
    }
  } else {
    assert(deadline !== null && choice.reason !== null, `${at}: a deadline fallback has a deadline and a reason`);
  }
}

describe('rules-based slot search properties', () => {
  it('arbitrary rules, blackout dates, deadlines, every zone: the window obeys every rule', () => {
    fc.assert(
      fc.property(caseArb(nowArb, zoneArb), (c) => {
        const busy = c.busy.map((b) => ({ start: iso(b.start), end: iso(b.end) }));
        checkChoice(c, chooseWindow({ now: c.now, zone: c.zone, rules: c.rules, busy, deadline: c.deadline }), c.day.allows);
      }),
      RUNS,
    );
  });

  it('DST change days: the same invariants', () => {
    const transitions = fc.constantFrom(
      ['America/New_York', '2026-03-08T07:00:00Z'],
      ['America/New_York', '2026-11-01T06:00:00Z'],
      ['Europe/London', '2026-03-29T01:00:00Z'],
      ['Europe/London', '2026-10-25T01:00:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T14:30:00Z'],
      ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
      ['America/Santiago', '2026-04-05T03:00:00Z'],
      ['Pacific/Chatham', '2026-04-04T14:00:00Z'],
      ['America/St_Johns', '2026-03-08T05:30:00Z'],
      ['Asia/Gaza', '2026-03-27T23:00:00Z'],
    );
    const arb = transitions.chain(([zone, at]) => caseArb(fc.integer({ min: Date.parse(at) - 36 * 3600_000, max: Date.parse(at) }), fc.constant(zone)));
    fc.assert(
      fc.property(arb, fc.constantFrom(true, false), (c, daily) => {
        const rules = daily ? { ...c.rules, window: { ...c.rules.window, rrule: 'FREQ=DAILY' } } : c.rules;
        const allows = daily ? () => true : c.day.allows;
        const busy = c.busy.map((b) => ({ start: iso(b.start), end: iso(b.end) }));
        checkChoice({ ...c, rules }, chooseWindow({ now: c.now, zone: c.zone, rules, busy, deadline: c.deadline }), allows);
      }),
      RUNS,
    );
  });

  it('rebooks obey the rebook rule, blackout dates and the deadline', () => {
    fc.assert(
      fc.property(caseArb(nowArb, zoneArb), dayRuleArb, fc.integer({ min: -10, max: 10 }), fc.integer({ min: 1, max: 5 }), (c, rebook, originalOffset, attempt) => {
        const rules = { ...c.rules, rebook_rrule: rebook.rrule };
        const original = plusDays(local(c.now, c.zone).date, originalOffset);
        const busy = c.busy.map((b) => ({ start: iso(b.start), end: iso(b.end) }));
        const choice = chooseRebookWindow({ originalDate: original, attempt, now: c.now, zone: c.zone, rules, busy, deadline: c.deadline });
        if (choice === null) throw new Error('expected a window');
        const today = local(c.now, c.zone).date;
        const planned = plannedRebookDate(rules, original, attempt);
        const from = planned < today ? today : planned;
        // Allowed by the rebook rule, first from max(planned, today), plus every window invariant.
        checkChoice({ ...c, rules }, choice, rebook.allows, from);
        assert(planned > original && rebook.allows(planned) && !rules.blackout_dates.includes(planned), `planned rebook ${planned} allowed, after ${original}`);
        if (choice.basis === 'allowed_day') assert(choice.day.date >= from, `rebook ${choice.day.date} not before ${from}`);
      }),
      { ...RUNS, numRuns: 100 },
    );
  });

  it('default configuration: exactly today’s booking day, slot, rebook date and rebook day', () => {
    fc.assert(
      fc.property(
        zoneArb,
        nowArb,
        fc.array(fc.record({ fromMinute: fc.integer({ min: -60, max: 9 * 24 * 60 }), minutes: fc.integer({ min: 1, max: 9 * 60 }) }), { maxLength: 12 }),
        fc.integer({ min: -20, max: 20 }),
        fc.integer({ min: 1, max: 12 }),
        (zone, now, raw, originalOffset, attempt) => {
          const busy = raw.map((b) => ({ start: iso(now + b.fromMinute * MINUTE), end: iso(now + (b.fromMinute + b.minutes) * MINUTE) }));
          const today = nextBookingDay(now, zone, defaultSchedulingRules);
          const choice = chooseWindow({ now, zone, rules: DEFAULT_MAINTENANCE_RULES, busy, deadline: null });
          expect(choice?.day).toEqual(today);
          expect(choice && { slot: choice.slot, onlyTimeLeft: choice.onlyTimeLeft }).toEqual(chooseSlot(today, busy, now, defaultSchedulingRules));
          const original = plusDays(local(now, zone).date, originalOffset);
          expect(plannedRebookDate(DEFAULT_MAINTENANCE_RULES, original, attempt)).toBe(rebookDate(original, attempt));
          expect(rebookDayFor(original, attempt, now, zone, DEFAULT_MAINTENANCE_RULES)).toEqual(rebookDay(original, attempt, now, zone, defaultSchedulingRules));
        },
      ),
      { ...RUNS, numRuns: 100 },
    );
  });
});
