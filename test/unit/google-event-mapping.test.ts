import { OWNED_BY_PROPERTY } from '../../src/domain/event-id';
import { insertBody, patchBody, timingOf, toCalendarEvent } from '../../src/google/google-event-mapping';

describe("Google's event resource → CalendarEvent", () => {
  it('reads timed, all-day and unreadable times', () => {
    expect(timingOf({ dateTime: '2026-11-24T10:00:00-05:00' }, { dateTime: '2026-11-24T10:30:00-05:00' })).toEqual({
      kind: 'timed',
      start: '2026-11-24T10:00:00-05:00',
      end: '2026-11-24T10:30:00-05:00',
    });
    expect(timingOf({ date: '2026-11-24' }, { date: '2026-11-25' })).toEqual({ kind: 'all_day', startDate: '2026-11-24', endDate: '2026-11-25' });
    // A start date without a dateTime is all-day, whatever the end says.
    expect(timingOf({ date: '2026-11-24' }, undefined)).toEqual({ kind: 'all_day', startDate: '2026-11-24', endDate: '2026-11-24' });
    expect(timingOf({}, {})).toEqual({ kind: 'unreadable' });
    expect(timingOf(undefined, undefined)).toEqual({ kind: 'unreadable' });
    // A timed start with no end cannot be followed.
    expect(timingOf({ dateTime: '2026-11-24T10:00:00Z' }, {})).toEqual({ kind: 'unreadable' });
  });

  it('only status "cancelled" is cancelled (tentative and confirmed are live)', () => {
    const timed = { start: { dateTime: '2026-11-24T10:00:00Z' }, end: { dateTime: '2026-11-24T10:30:00Z' } };
    expect(toCalendarEvent({ id: 'a', status: 'confirmed', ...timed }).cancelled).toBe(false);
    expect(toCalendarEvent({ id: 'a', status: 'tentative', ...timed }).cancelled).toBe(false);
    expect(toCalendarEvent({ id: 'a', ...timed }).cancelled).toBe(false);
    // A deleted event in a sync: its id and status only.
    expect(toCalendarEvent({ id: 'a', status: 'cancelled' })).toEqual({ id: 'a', cancelled: true, timing: { kind: 'unreadable' } });
  });

  it('maps our marker to remediationId, and summary to title', () => {
    const event = toCalendarEvent({
      id: 'ours',
      status: 'confirmed',
      summary: 'Scheduled maintenance',
      description: 'Why',
      start: { dateTime: '2026-11-24T10:00:00Z' },
      end: { dateTime: '2026-11-24T10:30:00Z' },
      extendedProperties: { private: { [OWNED_BY_PROPERTY]: 'r-1', bookingNumber: '2' } },
    });
    expect(event).toMatchObject({ id: 'ours', remediationId: 'r-1', title: 'Scheduled maintenance', description: 'Why' });
    const theirs = toCalendarEvent({ id: 'theirs', summary: 'Lunch', extendedProperties: { private: { other: 'x' } } });
    expect(theirs).not.toHaveProperty('remediationId');
  });
});

describe('CalendarPort → Google request bodies', () => {
  it('inserts under the key, in the owner zone, marked ours with the booking number, default reminders', () => {
    expect(
      insertBody({
        key: 'abc123',
        remediationId: 'r-1',
        bookingNumber: 3,
        start: '2026-11-24T10:00:00+01:00',
        end: '2026-11-24T10:30:00+01:00',
        timeZone: 'Europe/Zurich',
        title: 'Scheduled maintenance',
        description: 'Text',
      }),
    ).toEqual({
      id: 'abc123',
      start: { dateTime: '2026-11-24T10:00:00+01:00', timeZone: 'Europe/Zurich' },
      end: { dateTime: '2026-11-24T10:30:00+01:00', timeZone: 'Europe/Zurich' },
      summary: 'Scheduled maintenance',
      description: 'Text',
      extendedProperties: { private: { [OWNED_BY_PROPERTY]: 'r-1', bookingNumber: '3' } },
      reminders: { useDefault: true },
    });
  });

  it('patches only what is named', () => {
    expect(patchBody({ description: 'New text' })).toEqual({ description: 'New text' });
    expect(patchBody({ title: 'T' })).toEqual({ summary: 'T' });
    expect(patchBody({ start: 's', end: 'e', timeZone: 'UTC' })).toEqual({ start: { dateTime: 's', timeZone: 'UTC' }, end: { dateTime: 'e', timeZone: 'UTC' } });
  });
});
