import { policyEvent } from '../support/daemon-client';
import { addOwner, firstWebhookFor, postFailing, postPassing, webhooksFor } from '../support/fixtures';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const MONDAY_NOON = '2026-11-23T12:00:00Z';

describe('remediation lifecycle: one host per owner, passing cancels, firing at the start', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'lifecycle', clock });
  beforeEach(() => clock.set(MONDAY_NOON));

  it('books one host per owner at a time and hands over to the lowest waiting host id when it is resolved', async () => {
    const owner = addOwner(t, 'multi@acme.com');
    await postFailing(t, 305, owner);
    await t.daemon.waitForStatus(305, 'booked');
    await t.daemon.post('/v1/policy-events', [
      policyEvent('policy_failing', { id: 304, emails: [owner] }),
      policyEvent('policy_failing', { id: 303, emails: [owner] }),
    ]);
    const waiting = await t.daemon.waitForStatus(303, 'queued');
    expect(waiting.reason).toContain('305');
    await t.daemon.waitForStatus(304, 'queued');
    expect(t.env.emulator.events(owner)).toHaveLength(1);

    await postPassing(t, 305, owner);
    await t.daemon.waitForStatus(305, 'resolved');
    const next = await t.daemon.waitForStatus(303, 'booked');
    expect((await t.daemon.remediations({ host_id: 304 }))[0].status).toBe('queued');
    // The resolved host's future event is withdrawn (a job, once the resolution is saved).
    await waitFor(() => t.env.emulator.events(owner).length === 1, { what: 'resolved host’s event withdrawn' });
    expect(t.env.emulator.events(owner).map((e) => e.id)).toEqual([next.calendar_event_id]);
  });

  it('keeps the window while some policies still fail and deletes the future event when all pass', async () => {
    const owner = addOwner(t, 'passing@acme.com');
    await t.daemon.post('/v1/policy-events', [
      policyEvent('policy_failing', { id: 310, emails: [owner] }, { id: 1 }),
      policyEvent('policy_failing', { id: 310, emails: [owner] }, { id: 2 }),
    ]);
    const booked = await waitFor(async () => {
      const [r] = await t.daemon.remediations({ host_id: 310 });
      return r?.status === 'booked' && r.policies.length === 2 ? r : null;
    });
    await postPassing(t, 310, owner, { id: 1 });
    await waitFor(async () => (await t.daemon.remediations({ host_id: 310 }))[0].policies.length === 1, { what: 'policy 1 removed' });
    expect((await t.daemon.remediations({ host_id: 310 }))[0].status).toBe('booked');
    expect(t.env.emulator.events(owner)).toHaveLength(1);

    await postPassing(t, 310, owner, { id: 2 });
    await t.daemon.waitForStatus(310, 'resolved');
    await waitFor(() => t.env.emulator.events(owner).length === 0, { what: 'event deleted' });
    const cancelled = t.env.emulator.events(owner, { includeCancelled: true }).find((e) => e.id === booked.calendar_event_id);
    expect(cancelled?.status).toBe('cancelled');
  });

  it('fires the resolution webhook at the start with exactly Fleet’s payload, then books the owner’s next host', async () => {
    const owner = addOwner(t, 'fire@acme.com', 'America/Chicago');
    // Three seconds before Tuesday 09:00 in Chicago: the first slot starts almost now.
    const start = '2026-11-24T09:00:00.000-06:00';
    clock.set(Date.parse(start) - 3000);
    const victor = { id: 320, emails: [owner], display_name: "Victor's Virtual Machine", serial_number: 'Z5C4L7GKY0' };
    await t.daemon.post('/v1/policy-events', [
      policyEvent('policy_failing', victor, { id: 479, name: 'macOS - OS version up to date' }),
      policyEvent('policy_failing', victor, { id: 12, name: 'Firewall enabled' }),
    ]);
    const booked = await t.daemon.waitForStatus(320, 'booked');
    expect(booked.start).toBe(start);
    await postFailing(t, 321, owner);
    await t.daemon.waitForStatus(321, 'queued');

    const delivery = await firstWebhookFor(t, 320);
    const lateMs = delivery.at - clock.realTimeOf(start);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(1000);
    expect(delivery.method).toBe('POST');
    expect(delivery.url).toBe('/resolution');
    expect(delivery.headers['content-type']).toBe('application/json');
    const body = delivery.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['timestamp', 'host_id', 'host_display_name', 'host_serial_number', 'failing_policies']);
    expect(body).toMatchObject({
      host_id: 320,
      host_display_name: "Victor's Virtual Machine",
      host_serial_number: 'Z5C4L7GKY0',
      failing_policies: [
        { id: 12, name: 'Firewall enabled' },
        { id: 479, name: 'macOS - OS version up to date' },
      ],
    });
    expect(body.timestamp).toMatch(/^2026-11-24T0[89]:\d\d:\d\d\.\d{3}-06:00$/);
    await t.daemon.waitForStatus(320, 'fired');

    // The owner is free again: host 321 is booked (the 09:00 slot is taken by the fired window).
    const next = await t.daemon.waitForStatus(321, 'booked');
    expect(next.start).toBe('2026-11-24T09:30:00.000-06:00');
    expect(webhooksFor(t, 320)).toHaveLength(1);
    console.log(`firing lateness: ${lateMs} ms`);
  });

  it('withdraws a resolved window’s event even when Google fails the delete longer than one call’s retries', async () => {
    const owner = addOwner(t, 'stubborn@acme.com');
    await postFailing(t, 315, owner);
    const booked = await t.daemon.waitForStatus(315, 'booked');
    t.env.emulator.injectFault({ method: 'events.delete', owner, status: 503, times: 8 });
    await postPassing(t, 315, owner);
    await t.daemon.waitForStatus(315, 'resolved');
    await waitFor(() => t.env.emulator.events(owner).length === 0, { timeoutMs: 10_000, what: 'event withdrawn' });
    const deletes = t.env.emulator.calls.filter((c) => c.method === 'events.delete' && c.owner === owner).map((c) => c.status);
    expect(deletes.filter((s) => s === 503)).toHaveLength(8);
    expect(deletes[deletes.length - 1]).toBe(204);
    expect(t.env.emulator.events(owner, { includeCancelled: true }).find((e) => e.id === booked.calendar_event_id)?.status).toBe('cancelled');
  });

  it('applies the events of a host and policy in the order they happened, not the order they arrive', async () => {
    const owner = addOwner(t, 'order@acme.com');
    const at = (iso: string, e: ReturnType<typeof policyEvent>) => ({ ...e, occurred_at: iso });
    // The passing event (10:05) is taken before the failing one it follows (10:00): the failure is stale.
    // Handled = its job is gone (a policy event's job is dropped once done): none waiting, running or to retry.
    const unhandled = async () => {
      const counts = await t.env.probe.queues.policyEvents.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return counts.waiting + counts.active + counts.delayed + counts.failed;
    };
    await t.daemon.post('/v1/policy-events', at('2026-11-23T10:05:00Z', policyEvent('policy_passing', { id: 340, emails: [owner] })));
    await waitFor(async () => (await unhandled()) === 0, { what: 'passing event applied' });
    await t.daemon.post('/v1/policy-events', at('2026-11-23T10:00:00Z', policyEvent('policy_failing', { id: 340, emails: [owner] })));
    await waitFor(async () => (await unhandled()) === 0, { what: 'failing event handled' });
    expect(await t.daemon.remediations({ host_id: 340 })).toEqual([]);
    // A failure after the pass opens a remediation as usual.
    await t.daemon.post('/v1/policy-events', at('2026-11-23T10:10:00Z', policyEvent('policy_failing', { id: 340, emails: [owner] })));
    await t.daemon.waitForStatus(340, 'booked');
  });

  it('fires on time when Google is slow to answer the last look at the event', async () => {
    const owner = addOwner(t, 'slowlook@acme.com');
    const start = '2026-11-24T09:00:00.000+00:00';
    clock.set(Date.parse(start) - 3000);
    await postFailing(t, 325, owner);
    await t.daemon.waitForStatus(325, 'booked');
    t.env.emulator.injectFault({ method: 'events.get', owner, status: 200, delayMs: 5000 });
    const delivery = await firstWebhookFor(t, 325);
    const lateMs = delivery.at - clock.realTimeOf(start);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(1000);
    // The look was made (the emulator logs it when its delayed answer goes out, long after the client gave up).
    await waitFor(() => t.env.emulator.calls.some((c) => c.method === 'events.get' && c.owner === owner), { timeoutMs: 8000, what: 'events.get' });
    t.env.emulator.clearFaults();
    console.log(`firing lateness with a 5 s events.get: ${lateMs} ms`);
  });

  it('books a new window when the host is still failing after its window fired', async () => {
    const owner = addOwner(t, 'again@acme.com');
    const start = '2026-11-24T09:00:00.000+00:00';
    clock.set(Date.parse(start) - 3000);
    await postFailing(t, 330, owner);
    await t.daemon.waitForStatus(330, 'booked');
    await t.daemon.waitForStatus(330, 'fired', 8000);
    clock.set('2026-11-25T12:00:00Z');
    await postFailing(t, 330, owner);
    const again = await t.daemon.waitForStatus(330, 'booked');
    expect(again.start).toBe('2026-12-01T09:00:00.000+00:00');
    expect(await t.daemon.remediations({ host_id: 330 })).toHaveLength(2);
  });
});
