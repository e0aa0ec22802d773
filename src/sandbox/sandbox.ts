import type { FastifyInstance } from 'fastify';
import type { RedisClient as Redis } from '../lib/redis-connection';
import { DateTime } from 'luxon';
import type { Logger } from '../lib/logger';
import { deleteKeysUnder } from '../store/key-prefix';
import { CalendarEmulator, createServiceAccountKey, type ServiceAccountKey } from './calendar-emulator';

/**
 * The built-in sandbox: with no GOOGLE_CREDENTIALS_FILE the daemon runs against the project's Google Calendar
 * emulator, with a generated service-account key (the real JWT flow is exercised) and a few demo owners.
 * Any other owner email gets an empty calendar on first use.
 */

export const DEMO_OWNERS = [
  { email: 'alice@example.com', timeZone: 'Europe/Zurich' },
  { email: 'bob@example.com', timeZone: 'America/New_York' },
  { email: 'chandra@example.com', timeZone: 'Asia/Kolkata' },
] as const;

export interface Sandbox {
  emulator: CalendarEmulator;
  key: ServiceAccountKey;
  close(): Promise<void>;
}

export async function startSandbox(logger: Logger, now: () => number): Promise<Sandbox> {
  const emulator = new CalendarEmulator({ now, autoCreateUsers: true, defaultTimeZone: 'America/New_York', logger: logger.child({ component: 'sandbox-calendar' }) });
  const key = createServiceAccountKey({ clientEmail: 'maintenance-windows@sandbox.iam.gserviceaccount.com' });
  emulator.trustServiceAccount(key);
  for (const owner of DEMO_OWNERS) {
    emulator.addUser(owner.email, { timeZone: owner.timeZone });
    seedMeetings(emulator, owner.email, owner.timeZone, now());
  }
  const url = await emulator.listen(0);
  logger.info({ url, owners: DEMO_OWNERS.map((o) => o.email) }, 'sandbox Google Calendar emulator running');
  // The start banner: nobody should mistake the sandbox for a daemon booking real calendars.
  logger.warn(
    { google: 'sandbox', calendars: 'in memory' },
    'SANDBOX: no GOOGLE_CREDENTIALS_FILE, so the calendars are in memory (an emulator in this process): no real calendar is booked and everything is lost at restart. Set GOOGLE_CREDENTIALS_FILE for Google Calendar (NODE_ENV=production refuses to start without it)',
  );
  return { emulator, key, close: () => emulator.close() };
}

/**
 * The sandbox's calendars are in memory and start anew with every run, so the remediations, queues and channels of
 * an earlier run (under the sandbox's own key prefix) would point at events that no longer exist: they are cleared.
 * Returns how many keys were removed.
 */
export async function clearSandboxState(redis: Redis, prefix: string, logger: Logger): Promise<number> {
  const removed = await deleteKeysUnder(redis, prefix);
  if (removed > 0) logger.info({ prefix, keys: removed }, 'sandbox: the previous run\'s state was cleared (its calendars lived in memory)');
  return removed;
}

/** A morning stand-up and a lunch on the coming Tuesday, so the demo shows slots being skipped. */
function seedMeetings(emulator: CalendarEmulator, email: string, zone: string, now: number): void {
  let tuesday = DateTime.fromMillis(now, { zone }).startOf('day');
  while (tuesday.weekday !== 2) tuesday = tuesday.plus({ days: 1 });
  for (const week of [0, 1]) {
    const day = tuesday.plus({ weeks: week });
    for (const [summary, from, to] of [
      ['Team stand-up', '09:00', '10:00'],
      ['Lunch', '12:00', '13:00'],
    ] as const) {
      const at = (hhmm: string) => day.set({ hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3)) }).toISO() as string;
      emulator.createEventAsOwner(email, { summary, start: { dateTime: at(from), timeZone: zone }, end: { dateTime: at(to), timeZone: zone } });
    }
  }
}

/** Where resolution webhooks go in the sandbox when RESOLUTION_WEBHOOK_URL is not set. */
export const SINK_PATH = '/sandbox/webhook-sink';

/** An event of a sandbox calendar, as `GET /sandbox/calendars/:email/events` shows it (either provider). */
export interface SandboxEventView {
  id: string;
  status: string;
  summary?: string;
  start: unknown;
  end: unknown;
  description?: string;
}

/** What the sandbox routes read: an owner's events in the provider's emulator. */
export type SandboxCalendarView = (email: string) => SandboxEventView[];

/** The Google sandbox's view of an owner's calendar. */
export function googleSandboxView(sandbox: Sandbox): SandboxCalendarView {
  return (email) =>
    sandbox.emulator.events(email).map((e) => ({ id: e.id, status: e.status, summary: e.summary, start: e.start, end: e.end, description: e.description }));
}

/** Sandbox-only routes: the webhook sink, what it received, and a look at an owner's calendar. */
export function registerSandboxRoutes(app: FastifyInstance, calendarView: SandboxCalendarView, logger: Logger): void {
  const deliveries: Array<{ receivedAt: string; body: unknown }> = [];
  app.post(SINK_PATH, async (req, reply) => {
    deliveries.push({ receivedAt: new Date().toISOString(), body: req.body });
    if (deliveries.length > 200) deliveries.shift();
    logger.info({ body: req.body }, 'sandbox webhook sink received a resolution webhook');
    return reply.status(204).send();
  });
  app.get('/sandbox/deliveries', async () => ({ deliveries }));
  app.get<{ Params: { email: string } }>('/sandbox/calendars/:email/events', async (req) => ({
    events: calendarView(req.params.email.toLowerCase()),
  }));
}
