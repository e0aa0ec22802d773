import { statusFromHistory } from '../../src/domain/remediation-lifecycle';
import { fakeWorld, policyEvent, type FakeWorld } from '../support/fake-services';
import type { JournalEntry } from '../support/in-memory-remediation-store';

const MONDAY_NOON = '2026-11-23T12:00:00Z';
const OWNER = 'alice@acme.com';

const isCommitOf = (id: string, status: string) => (e: JournalEntry) =>
  e.kind === 'commit' && e.remediationIds.some((rid, i) => rid === id && e.statuses[i] === status);
const isWithdrawalOf = (eventId: string) => (e: JournalEntry) =>
  e.kind === 'job' && e.method === 'withdrawEvent' && (e.detail as { eventId: string }).eventId === eventId;

/** Books host 20 for the owner, then queues hosts 31 and 30 behind it. */
async function ownerWithQueue(w: FakeWorld) {
  w.calendar.addOwner(OWNER, { timeZone: 'UTC' });
  await w.ingest(policyEvent('policy_failing', 20, OWNER));
  await w.scheduler.runBookings();
  const first = await w.latest(20);
  await w.ingest(policyEvent('policy_failing', 31, OWNER));
  await w.ingest(policyEvent('policy_failing', 30, OWNER));
  return { first, h31: await w.latest(31), h30: await w.latest(30) };
}

describe('services on in-memory ports: one host per owner, hand-over, resolve', () => {
  it('books the first host and queues the others (remediation.queued naming the host they wait for)', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const { first, h31, h30 } = await ownerWithQueue(w);

    expect(first).toMatchObject({ status: 'booked', email: OWNER, start: '2026-11-24T09:00:00.000+00:00' });
    expect(w.calendar.events(OWNER).map((e) => e.id)).toEqual([first.calendarEventId]);
    for (const queued of [h31, h30]) {
      expect(queued.status).toBe('queued');
      const history = await w.history(queued.id);
      expect(history.map((e) => [e.type, e.actor])).toEqual([
        ['remediation.created', 'producer'],
        ['remediation.assigned', 'system'],
        ['remediation.queued', 'system'],
      ]);
      expect(history[2].data).toMatchObject({ waiting_for: { remediation_id: first.id, host_id: 20 }, status: 'queued' });
    }
    // Lowest host id first, whatever order they came in.
    expect(w.store.waitingOf(OWNER)).toEqual([h30.id, h31.id]);
    expect(await w.store.activeForOwner(OWNER)).toBe(first.id);
    // Queued hosts are not booked: no second event, nothing on the booking queue.
    expect(w.store.pendingIds()).toEqual([]);
    expect(await w.store.statusCounts()).toEqual({ pending: 0, booked: 1, queued: 2 });
  });

  it('resolves on passing: the withdrawal is asked before the commit, and the lowest queued host is handed the owner in it', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const { first, h31, h30 } = await ownerWithQueue(w);
    const bookingsBefore = w.scheduler.bookingRequests;

    await w.ingest(policyEvent('policy_passing', 20, OWNER));

    const resolved = await w.store.get(first.id);
    expect(resolved).toMatchObject({ status: 'resolved' });
    const withdrawal = w.journal.indexOf(isWithdrawalOf(first.calendarEventId as string));
    const commit = w.journal.indexOf(isCommitOf(first.id, 'resolved'));
    expect(withdrawal).toBeGreaterThanOrEqual(0);
    expect(commit).toBeGreaterThan(withdrawal);
    // One transaction: the resolution and the hand-over.
    const entry = w.journal.entries[commit] as Extract<JournalEntry, { kind: 'commit' }>;
    expect(entry.remediationIds).toEqual([first.id, h30.id]);
    expect(entry.events).toEqual(['remediation.resolved', 'remediation.assigned']);

    const resolvedHistory = await w.history(first.id);
    expect(resolvedHistory[resolvedHistory.length - 1]).toMatchObject({ type: 'remediation.resolved', actor: 'producer', data: { previous_status: 'booked', status: 'resolved' } });
    const handed = await w.history(h30.id);
    expect(handed[handed.length - 1]).toMatchObject({ type: 'remediation.assigned', actor: 'system', data: { via: 'hand_over', previous_status: 'queued', status: 'pending' } });
    expect(await w.store.get(h30.id)).toMatchObject({ status: 'pending' });
    expect(await w.store.get(h31.id)).toMatchObject({ status: 'queued' });
    expect(w.store.waitingOf(OWNER)).toEqual([h31.id]);
    expect(await w.store.activeForOwner(OWNER)).toBe(h30.id);
    expect(w.scheduler.bookingRequests).toBeGreaterThan(bookingsBefore);

    // The withdrawal job takes the old event off; the next booking takes its slot.
    await w.scheduler.runWithdrawals();
    expect(w.calendar.event(OWNER, first.calendarEventId as string)?.cancelled).toBe(true);
    await w.scheduler.runBookings();
    expect(await w.store.get(h30.id)).toMatchObject({ status: 'booked', start: '2026-11-24T09:00:00.000+00:00' });
    expect(w.calendar.events(OWNER)).toHaveLength(1);
  });

  it('a resolution that never got saved leaves the event where it belongs: its withdrawal job refuses to run', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const { first } = await ownerWithQueue(w);

    w.store.failNextCommit(new Error('Redis went away'));
    await expect(w.ingest(policyEvent('policy_passing', 20, OWNER))).rejects.toThrow('Redis went away');

    expect(w.scheduler.withdrawalsRequested).toHaveLength(1);
    await w.scheduler.runWithdrawals();
    const [job] = w.scheduler.openJobs(w.scheduler.withdrawals);
    expect(job.lastError).toMatch(/still the booking/);
    expect(w.calendar.event(OWNER, first.calendarEventId as string)?.cancelled).toBe(false);
    expect(await w.store.get(first.id)).toMatchObject({ status: 'booked' });
    expect(statusFromHistory(await w.history(first.id))).toBe('booked');
  });

  it('hands the owner over when their window fires, whatever becomes of the delivery', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const { first, h30 } = await ownerWithQueue(w);
    w.sender.answerNext({ kind: 'answered', status: 503 });

    w.clock.set('2026-11-24T09:00:00Z');
    await w.scheduler.runFires();

    expect(await w.store.get(first.id)).toMatchObject({ status: 'firing' });
    expect(await w.store.get(h30.id)).toMatchObject({ status: 'pending' });
    expect((await w.history(h30.id)).map((e) => e.data.via)).toContain('hand_over');
    expect(w.scheduler.outcomes).toEqual([expect.objectContaining({ outcome: expect.objectContaining({ kind: 'retry' }) })]);
  });
});
