import type { Job, Queue } from 'bullmq';
import type { TestEnv } from './test-app';
import { waitFor } from './wait';

/**
 * Positive signals that the daemon has finished deciding, for tests that assert something did NOT happen: they
 * wait for the event that would prove them wrong to have had its chance (the job ran, the queue drained), never
 * for a fixed time.
 */

const PENDING = ['active', 'waiting', 'prioritized', 'waiting-children'] as const;

/** Jobs not yet run in these queues; a repeating tick's next (delayed) run is not work anyone caused. */
async function pendingJobs(queues: Queue[]): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const q of queues) {
    jobs.push(...(await q.getJobs([...PENDING])));
    jobs.push(...(await q.getJobs(['delayed'])).filter((j) => !j.repeatJobKey));
  }
  return jobs;
}

/**
 * Waits until what the calendar told the daemon has been handled: every push notification the emulator sent was
 * answered (the daemon enqueues its sync before it answers), and no ingest, booking, sync or channel job is left
 * to run — with no new notification meanwhile (a job that wrote to the calendar is told so, and the loop goes
 * round again). Fire and lifecycle jobs wait for their windows and are not counted.
 */
export async function calendarSettled(env: TestEnv, what = 'the daemon to handle every notification and job'): Promise<void> {
  const { policyEvents, bookings, calendarSync, calendarWatch } = env.probe.queues;
  await waitFor(
    async () => {
      const sent = env.calendars.notificationsSent();
      await env.calendars.notificationsSettled();
      if ((await pendingJobs([policyEvents, bookings, calendarSync, calendarWatch])).length > 0) return false;
      await env.calendars.notificationsSettled();
      return env.calendars.notificationsSent() === sent;
    },
    { what },
  );
}

/**
 * Waits until the fire queue holds jobs with ids starting `idPrefix` and every one of them has ended (completed
 * or failed: no retry is left to come). Returns their final states by id.
 */
export async function fireJobsEnded(env: TestEnv, idPrefix: string, what = `the ${idPrefix}* jobs to end`): Promise<Record<string, string>> {
  return waitFor(
    async () => {
      const jobs = (await env.probe.queues.fires.getJobs([...PENDING, 'delayed', 'completed', 'failed'])).filter((j) => j.id?.startsWith(idPrefix));
      if (jobs.length === 0) return null;
      const states: Record<string, string> = {};
      for (const j of jobs) states[j.id as string] = await j.getState();
      return Object.values(states).every((s) => s === 'completed' || s === 'failed') ? states : null;
    },
    { what },
  );
}
