/**
 * A starting daemon checks that every booked window has its fire and window.upcoming jobs (added before each
 * booking is saved, so only lost data or a hand leaves one missing) — after it has started, a page at a time.
 */
import { postFailing } from '../support/fixtures';
import { startTestEnv, type TestEnv } from '../support/test-app';
import { TestClock } from '../support/test-clock';
import type { DaemonHandle } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const START = Date.parse('2026-11-24T09:00:00.000Z');

describe('start-up: the jobs of booked windows', () => {
  // Booked a little before the start: jobs wait in real time, the clock only says where "now" is.
  const clock = new TestClock(START - 15_000);
  let first: TestEnv | undefined;
  let second: TestEnv | undefined;
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  }, 90_000);

  it('a booked window whose jobs were removed gets them back at the next start, and fires', async () => {
    first = await startTestEnv({ label: 'startup-recovery', clock });
    const t1: DaemonHandle = { env: first, daemon: first.client };
    const hosts = [1101, 1102, 1103];
    for (const id of hosts) await postFailing(t1, id, first.calendars.addOwner(`recover${id}@acme.com`, 'UTC'));
    const booked = [];
    for (const id of hosts) booked.push(await first.client.waitForStatus(id, 'booked'));
    expect(booked.every((r) => Date.parse(r.start as string) === START)).toBe(true);
    await first.app.stop();

    // Someone removes the first window's fire job and its window.upcoming job while no daemon runs.
    const lost = booked[0];
    const fireId = `fire-${lost.id}-0-${START}`;
    const upcomingId = `upcoming-${lost.id}-0-${START}`;
    const { fires, lifecycle } = first.probe.queues;
    await (await fires.getJob(fireId))?.remove();
    await (await lifecycle.getJob(upcomingId))?.remove();
    expect(await fires.getJob(fireId)).toBeUndefined();
    const keptIds = booked.slice(1).map((r) => `fire-${r.id}-0-${START}`);
    const keptBefore = await Promise.all(keptIds.map(async (id) => (await fires.getJob(id))?.timestamp));

    second = await startTestEnv({ label: 'startup-recovery', clock, reuse: first });
    await waitFor(async () => (await fires.getJob(fireId)) !== undefined && (await lifecycle.getJob(upcomingId)) !== undefined, {
      what: 'the missing jobs added again',
    });
    // The others were left as they were (not added again).
    expect(await Promise.all(keptIds.map(async (id) => (await fires.getJob(id))?.timestamp))).toEqual(keptBefore);

    for (const id of hosts) await second.client.waitForStatus(id, 'fired', 20_000);
  }, 60_000);
});
