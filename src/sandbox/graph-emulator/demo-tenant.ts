/**
 * Demo mailboxes for a Microsoft 365 sandbox, mirroring the Google sandbox's owners but with zones as Exchange
 * stores them (Windows names by default), plus one mailbox on a custom zone so the fallback path shows too. Each
 * gets a stand-up and a lunch on the coming two Tuesdays, in their own zone.
 */
import { DateTime } from 'luxon';
import { windowsToIana } from '../../microsoft/windows-zones';
import type { GraphEmulator } from './graph-emulator';
import type { CustomTimeZone } from './types';

export const DEMO_MAILBOXES: ReadonlyArray<{ address: string; displayName: string; timeZone: string | CustomTimeZone }> = [
  { address: 'alice@contoso.com', displayName: 'Alice', timeZone: 'W. Europe Standard Time' },
  { address: 'bob@contoso.com', displayName: 'Bob', timeZone: 'Eastern Standard Time' },
  { address: 'chandra@contoso.com', displayName: 'Chandra', timeZone: 'Asia/Kolkata' },
  {
    address: 'dana@contoso.com',
    displayName: 'Dana',
    timeZone: {
      '@odata.type': '#microsoft.graph.customTimeZone',
      name: 'Customized Time Zone',
      bias: -60,
      standardOffset: { time: '03:00:00.0000000', dayOccurrence: 5, dayOfWeek: 'sunday', month: 10, year: 0 },
      daylightOffset: { daylightBias: -60, time: '02:00:00.0000000', dayOccurrence: 5, dayOfWeek: 'sunday', month: 3, year: 0 },
    },
  },
];

/** Adds the demo mailboxes and their meetings; returns their addresses. */
export function seedDemoTenant(emulator: GraphEmulator, now: number): string[] {
  for (const mailbox of DEMO_MAILBOXES) {
    emulator.addMailbox(mailbox.address, { displayName: mailbox.displayName, timeZone: mailbox.timeZone });
    // A custom zone has no name to compute in: its meetings are placed in UTC+1 (its bias), standard time.
    const zoneName = typeof mailbox.timeZone === 'string' ? mailbox.timeZone : 'UTC';
    const zone = typeof mailbox.timeZone === 'string' ? (windowsToIana(mailbox.timeZone) ?? mailbox.timeZone) : 'UTC+1';
    let tuesday = DateTime.fromMillis(now, { zone }).startOf('day');
    while (tuesday.weekday !== 2) tuesday = tuesday.plus({ days: 1 });
    for (const week of [0, 1]) {
      const day = tuesday.plus({ weeks: week });
      for (const [subject, from, to] of [
        ['Team stand-up', 9, 10],
        ['Lunch', 12, 13],
      ] as const) {
        const at = (hour: number) => {
          const local = day.set({ hour });
          return zoneName === 'UTC'
            ? { dateTime: local.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss"), timeZone: 'UTC' }
            : { dateTime: local.toFormat("yyyy-MM-dd'T'HH:mm:ss"), timeZone: zoneName };
        };
        emulator.createEventAsOwner(mailbox.address, { subject, start: at(from), end: at(to), showAs: 'busy' });
      }
    }
  }
  return DEMO_MAILBOXES.map((m) => m.address);
}
