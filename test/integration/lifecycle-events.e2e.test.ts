import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import { policyEvent } from '../support/daemon-client';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const MONDAY_NOON = '2026-11-23T12:00:00Z';

/**
 * Every change is an event: a remediation's history through the API, in order and with its actors, the same
 * events as signed lifecycle webhooks (once per webhook-id), and window.upcoming N minutes before the start.
 */
describe('lifecycle events: history, feed and lifecycle webhooks', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({ label: 'lifecycle-events', clock, lifecycleWebhooks: true, env: { WEBHOOK_SECRET: SECRET, NOTIFY_BEFORE_MINUTES: '1' } });

  const lifecycleHooks = () => t.env.webhook.requests.filter((r) => r.url === '/lifecycle');

  it('booked, moved by the owner, deleted, rebooked, fired and delivered: that history, in that order, with the right actors', async () => {
    const owner = 'history@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 701, emails: [owner] }));
    const booked = await t.daemon.waitForStatus(701, 'booked');
    expect(booked.start).toBe('2026-11-24T09:00:00.000+00:00');
    // Watched: the calendar was read before the booking and its channel opens right after it (a change in between
    // would be found by the poll, not by a notification).
    await waitFor(() => t.env.emulator.channels().some((c) => c.owner === owner), { what: `channel for ${owner}` });

    // The owner drags it to 10:00 on the same Tuesday: followed.
    t.env.emulator.patchEventAsOwner(owner, booked.calendar_event_id as string, {
      start: { dateTime: '2026-11-24T10:00:00Z' },
      end: { dateTime: '2026-11-24T10:30:00Z' },
    });
    await waitFor(async () => (await t.daemon.remediations({ host_id: 701 }))[0].start === '2026-11-24T10:00:00.000+00:00', { what: 'move followed' });

    // Wednesday, five seconds before 09:00: the owner deletes it; the rebook lands on Wednesday 09:00 and fires.
    clock.set('2026-11-25T08:59:55Z');
    t.env.emulator.deleteEventAsOwner(owner, booked.calendar_event_id as string);
    const fired = await t.daemon.waitForStatus(701, 'fired', 20_000);
    expect(fired.start).toBe('2026-11-25T09:00:00.000+00:00');

    const { history } = await t.daemon.remediation(fired.id);
    expect(history.map((e) => [e.type, e.actor])).toEqual([
      ['remediation.created', 'producer'],
      ['remediation.assigned', 'system'],
      ['window.booked', 'system'],
      ['window.moved', 'owner'],
      ['window.rebooked', 'owner'],
      ['window.booked', 'system'],
      // Booked less than N minutes ahead: the notice is due at once.
      ['window.upcoming', 'system'],
      ['window.started', 'system'],
      ['delivery.succeeded', 'system'],
    ]);
    const byType = (type: string) => history.filter((e) => e.type === type);
    expect(byType('window.moved')[0].data).toMatchObject({ previous_start: '2026-11-24T09:00:00.000+00:00', start: '2026-11-24T10:00:00.000+00:00' });
    expect(byType('window.rebooked')[0].data).toMatchObject({ reason: 'deleted', previous_start: '2026-11-24T10:00:00.000+00:00', rebook_count: 1 });
    expect(byType('window.booked')[1].data).toMatchObject({ start: '2026-11-25T09:00:00.000+00:00', booking_number: 1 });
    expect(byType('delivery.succeeded')[0].data).toMatchObject({ http_status: 200, delivery_number: 1 });
    for (const e of history) expect(e).toMatchObject({ remediation_id: fired.id, host_id: 701, email: owner });
    // Oldest first, and each event is in the global feed too.
    expect([...history].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at))).toEqual(history);
    const feed = await t.daemon.get(`/v1/events?host_id=701&limit=100`);
    expect(feed.body.events.map((e: LifecycleEvent) => e.id)).toEqual(history.map((e) => e.id));

    // window.ended: the window's end passes (the test's clock), its job runs then.
    clock.set('2026-11-25T09:30:01Z');
    const endJob = await t.env.probe.queues.lifecycle.getJob(`window-end-${fired.id}-1-${Date.parse('2026-11-25T09:00:00Z')}`);
    await endJob?.promote();
    await waitFor(async () => (await t.daemon.remediation(fired.id)).history.some((e) => e.type === 'window.ended'), { what: 'window.ended' });

    // The same events arrive as lifecycle webhooks: signed, once per webhook-id (= the event id).
    const all = (await t.daemon.remediation(fired.id)).history;
    await waitFor(() => all.every((e) => lifecycleHooks().some((r) => r.headers['webhook-id'] === e.id)), { what: 'every event delivered' });
    const wh = new Webhook(SECRET);
    const mine = lifecycleHooks().filter((r) => (r.body as { data: LifecycleEvent }).data.remediation_id === fired.id);
    expect(mine.map((r) => r.headers['webhook-id']).sort()).toEqual(all.map((e) => e.id).sort());
    for (const r of mine) {
      const verified = wh.verify(r.rawBody, r.headers as Record<string, string>) as { type: string; timestamp: string; data: LifecycleEvent };
      const event = all.find((e) => e.id === r.headers['webhook-id']);
      expect(verified).toEqual({ type: event?.type, timestamp: event?.occurred_at, data: event });
    }
  });

  it('sends window.upcoming N minutes before the start (here N = 1)', async () => {
    const owner = 'upcoming@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    // 65 seconds before Tuesday 09:00: the notice is due 5 seconds from now, the window in 65.
    clock.set('2026-11-24T08:58:55Z');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 702, emails: [owner] }));
    const booked = await t.daemon.waitForStatus(702, 'booked');
    expect(booked.start).toBe('2026-11-24T09:00:00.000+00:00');
    expect((await t.daemon.remediation(booked.id)).history.some((e) => e.type === 'window.upcoming')).toBe(false);
    const notice = await waitFor(
      async () => (await t.daemon.remediation(booked.id)).history.find((e) => e.type === 'window.upcoming') ?? null,
      { timeoutMs: 15_000, what: 'window.upcoming' },
    );
    expect(notice.data).toMatchObject({ start: '2026-11-24T09:00:00.000+00:00', minutes_before: 1 });
    const lead = Date.parse('2026-11-24T09:00:00Z') - Date.parse(notice.occurred_at);
    expect(lead).toBeGreaterThan(55_000);
    expect(lead).toBeLessThanOrEqual(60_000);
    await waitFor(() => lifecycleHooks().some((r) => r.headers['webhook-id'] === notice.id), { what: 'upcoming webhook' });
    // Stop it before it fires: cancelled, with the admin as its actor.
    const cancelled = await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, { reason: 'test done' });
    expect(cancelled.status).toBe(200);
  });

  it('retries a lifecycle webhook the receiver refused, under the same webhook-id', async () => {
    const owner = 'retry@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    clock.set(MONDAY_NOON);
    t.env.webhook.status = 503;
    try {
      await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 705, emails: [owner] }));
      const booked = await t.daemon.waitForStatus(705, 'booked');
      const { history } = await t.daemon.remediation(booked.id);
      const created = history[0];
      // Refused twice under one id: it is the same message, retried.
      await waitFor(() => lifecycleHooks().filter((r) => r.headers['webhook-id'] === created.id).length >= 2, { what: 'a retry', timeoutMs: 15_000 });
    } finally {
      t.env.webhook.status = 200;
    }
    const okSince = Date.now();
    const { history } = await t.daemon.remediation((await t.daemon.remediations({ host_id: 705 }))[0].id);
    await waitFor(() => history.every((e) => lifecycleHooks().some((r) => r.headers['webhook-id'] === e.id && r.at >= okSince)), {
      what: 'every event delivered once the receiver answers',
      timeoutMs: 20_000,
    });
  });

  it('pages the feed with its cursor without gaps or repeats while events keep arriving', async () => {
    const owner = 'feed@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    clock.set(MONDAY_NOON);
    const seen: string[] = [];
    let cursor: string | null = null;
    const pageOnce = async () => {
      const res = await t.daemon.get(`/v1/events?limit=3${cursor ? `&after=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.events.map((e: LifecycleEvent) => e.id));
      cursor = res.body.next;
    };
    // Events arrive (hosts failing and passing) while the reader pages.
    for (let i = 0; i < 6; i++) {
      await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 710 + i, emails: [owner] }));
      await pageOnce();
      // The failure is applied before its host passes (a pass older than nothing is simply ignored).
      await waitFor(async () => (await t.daemon.remediations({ host_id: 710 + i })).length === 1, { what: `host ${710 + i} failing` });
      if (i % 2 === 1) await t.daemon.post('/v1/policy-events', policyEvent('policy_passing', { id: 710 + i, emails: [owner] }));
      await pageOnce();
    }
    await waitFor(async () => (await t.daemon.remediations({ host_id: 715 }))[0]?.status === 'resolved', { what: 'last event applied' });
    const drain = async () => {
      for (let i = 0; i < 50; i++) {
        const before: number = seen.length;
        await pageOnce();
        if (seen.length === before) return;
      }
    };
    const readAll = async () => {
      const everything: string[] = [];
      let all: string | null = null;
      for (;;) {
        const res = await t.daemon.get(`/v1/events?limit=1000${all ? `&after=${all}` : ''}`);
        everything.push(...res.body.events.map((e: LifecycleEvent) => e.id));
        if (res.body.events.length < 1000) return everything;
        all = res.body.next;
      }
    };
    // The daemon may still be writing (a pass hands the owner's window to the next host after the pass is applied):
    // the reader drains, then compares with a full read taken after it; while the feed grew in between, it drains again.
    await drain();
    let everything = await readAll();
    for (let round = 0; round < 20 && everything.length > seen.length; round++) {
      await drain();
      everything = await readAll();
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(everything);
    // A cursor past the newest event is not one this API returned: 400, rather than an empty page for ever.
    expect((await t.daemon.get('/v1/events?after=99999999999999-0')).body).toMatchObject({ statusCode: 400, field: 'after' });
    // Filters: one type, one owner.
    const queued = await t.daemon.get(`/v1/events?type=remediation.queued&email=${owner}&limit=100`);
    expect(queued.body.events.length).toBeGreaterThan(0);
    expect(queued.body.events.every((e: LifecycleEvent) => e.type === 'remediation.queued' && e.email === owner)).toBe(true);
  });

  it('needs the admin token to read, and answers 404 for an unknown remediation', async () => {
    const { request } = await import('undici');
    for (const path of ['/v1/remediations', '/v1/events', '/v1/hosts/1/maintenance', '/v1/remediations/h1-1']) {
      const res = await request(`${t.env.url}${path}`);
      expect(res.statusCode).toBe(401);
      await res.body.dump();
    }
    expect((await t.daemon.get('/v1/remediations/h99999-1')).status).toBe(404);
  });
});

describe('lifecycle webhooks filtered by LIFECYCLE_WEBHOOK_EVENTS', () => {
  const clock = new TestClock(MONDAY_NOON);
  const t = useDaemon({
    label: 'lifecycle-filter',
    clock,
    lifecycleWebhooks: true,
    env: { LIFECYCLE_WEBHOOK_EVENTS: 'window.booked,remediation.cancelled', NOTIFY_BEFORE_MINUTES: '0' },
  });

  it('sends only the listed types, while the history keeps every event', async () => {
    const owner = 'filtered@acme.com';
    t.env.emulator.addUser(owner, { timeZone: 'UTC' });
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 750, emails: [owner] }));
    const booked = await t.daemon.waitForStatus(750, 'booked');
    await t.daemon.post(`/v1/remediations/${booked.id}/cancel`, { reason: 'filter test' });
    const { history } = await t.daemon.remediation(booked.id);
    expect(history.map((e) => e.type)).toEqual(['remediation.created', 'remediation.assigned', 'window.booked', 'remediation.cancelled']);
    const hooks = () => t.env.webhook.requests.filter((r) => r.url === '/lifecycle');
    await waitFor(() => hooks().length >= 2, { what: 'two lifecycle webhooks' });
    // The cancellation is the last event: once it has arrived, everything before it was dispatched too.
    expect(hooks().map((r) => (r.body as { type: string }).type).sort()).toEqual(['remediation.cancelled', 'window.booked']);
  });
});
