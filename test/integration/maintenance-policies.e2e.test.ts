/**
 * Maintenance policies (issue 8) end to end: MAINTENANCE_CONFIG_FILE read at start, the rules in force applied to
 * bookings (team rule, policy rule beating its team's, blackout date, deadline, event template), the configuration
 * served at GET /v1/maintenance-config, a reload (what SIGHUP calls) applying a new rule to new bookings and an
 * invalid reload keeping the old one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { policyEvent } from '../support/daemon-client';
import { addOwner } from '../support/fixtures';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// Monday 23 November 2026, 12:00 UTC.
const MONDAY_NOON = '2026-11-23T12:00:00Z';

const CONFIG = `
defaults:
  blackout_dates: ["2026-12-24"]
teams:
  "5": { window: { rrule: "FREQ=WEEKLY;BYDAY=TH", start: "13:00", end: "15:00", slot_minutes: 60 } }
  "6": { blackout_dates: ["2026-11-24"] }
policies:
  "9": { window: { rrule: "FREQ=WEEKLY;BYDAY=WE", start: "10:00", end: "12:00", slot_minutes: 60 } }
  "11":
    deadline_days: 10
    max_deferrals: 2
    event: { title: "Patch window", description: "{{host_name}} must fix {{policy_names}} by {{deadline}} <b>now</b>" }
  "12": { deadline_days: 1, window: { rrule: "FREQ=WEEKLY;BYDAY=FR" } }
  "13": { max_deferrals: 1, deadline_days: 14 }
  "14": { deadline_days: 1 }
  "16": { deadline_days: 2 }
  "17": { max_deferrals: 0 }
`;

describe('maintenance policies (daemon + Redis + Calendar emulator, MAINTENANCE_CONFIG_FILE)', () => {
  const clock = new TestClock(MONDAY_NOON);
  const dir = mkdtempSync(join(tmpdir(), 'mw-policies-'));
  const file = join(dir, 'maintenance.yaml');
  writeFileSync(file, CONFIG);
  const t = useDaemon({ label: 'policies', clock, env: { MAINTENANCE_CONFIG_FILE: file } });
  beforeEach(() => clock.set(MONDAY_NOON));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fail = async (hostId: number, owner: string, teamId: number, policyId: number) => {
    const res = await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: hostId, emails: [owner], team_id: teamId }, { id: policyId }));
    expect(res.status).toBe(202);
    return t.daemon.waitForStatus(hostId, 'booked');
  };

  it('serves the configuration in force, defaults filled in, to admins only', async () => {
    const res = await t.daemon.get('/v1/maintenance-config');
    expect(res.status).toBe(200);
    expect(res.body.file).toBe(file);
    expect(res.body.defaults).toMatchObject({
      window: { rrule: 'FREQ=WEEKLY;BYDAY=TU', start: '09:00', end: '17:00', slot_minutes: 30 },
      time_zone: 'owner',
      fallback_time_zone: 'America/New_York',
      blackout_dates: ['2026-12-24'],
      deadline_days: null,
      max_deferrals: null,
      event: { title: 'Scheduled maintenance', description: null },
    });
    expect(res.body.teams['5'].window).toEqual({ rrule: 'FREQ=WEEKLY;BYDAY=TH', start: '13:00', end: '15:00', slot_minutes: 60 });
    expect(res.body.teams['5'].blackout_dates).toEqual(['2026-12-24']);
    expect(res.body.policies['11']).toMatchObject({ deadline_days: 10, max_deferrals: 2 });
    const anonymous = await request(`${t.env.url}/v1/maintenance-config`);
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
  });

  it('books a team rule: Thursday 13:00–14:00, then 14:00–15:00 when that hour is busy', async () => {
    const owner = addOwner(t, 'thu@acme.com', 'Europe/Zurich');
    const r = await fail(501, owner, 5, 7);
    expect(r.start).toBe('2026-11-26T13:00:00.000+01:00');
    expect(r.end).toBe('2026-11-26T14:00:00.000+01:00');
    expect(r).toMatchObject({ deadline: null, deferrals_used: 0, max_deferrals: null });

    const busy = addOwner(t, 'thu.busy@acme.com', 'Europe/Zurich');
    t.env.emulator.createEventAsOwner(busy, { summary: 'Busy', start: { dateTime: '2026-11-26T13:00:00+01:00' }, end: { dateTime: '2026-11-26T14:00:00+01:00' } });
    const r2 = await fail(502, busy, 5, 7);
    expect(r2.start).toBe('2026-11-26T14:00:00.000+01:00');
  });

  it("a policy rule beats its team's: Wednesday 10:00–11:00 for policy 9 on team 5", async () => {
    const owner = addOwner(t, 'wed@acme.com', 'America/New_York');
    const r = await fail(503, owner, 5, 9);
    expect(r.start).toBe('2026-11-25T10:00:00.000-05:00');
    expect(r.end).toBe('2026-11-25T11:00:00.000-05:00');
  });

  it('skips a blackout date: team 6 has no window on Tuesday 24, so the next Tuesday', async () => {
    const owner = addOwner(t, 'blackout@acme.com', 'UTC');
    const r = await fail(504, owner, 6, 7);
    expect(r.start).toBe('2026-12-01T09:00:00.000+00:00');
  });

  it('writes the event from the title and description templates, escaped, and shows the deadline and deferral cap', async () => {
    const owner = addOwner(t, 'template@acme.com', 'UTC');
    const r = await fail(505, owner, 1, 11);
    expect(r.start).toBe('2026-11-24T09:00:00.000+00:00');
    // First failure Monday 23 + 10 days: the deadline is the end of Thursday 3 December.
    expect(r).toMatchObject({ deadline: '2026-12-04T00:00:00.000+00:00', deferrals_used: 0, max_deferrals: 2 });
    const event = t.env.emulator.events(owner).find((e) => e.id === r.calendar_event_id);
    expect(event?.summary).toBe('Patch window');
    expect(event?.description).toContain('Laptop 505 must fix Policy 11 by 2026-12-03 &lt;b&gt;now&lt;/b&gt;');
    expect(event?.description).toContain('must happen by the end of 2026-12-03');
  });

  it('with no allowed day before the deadline, books the latest free slot before it and says why', async () => {
    const owner = addOwner(t, 'deadline@acme.com', 'UTC');
    t.env.emulator.createEventAsOwner(owner, { summary: 'Busy', start: { dateTime: '2026-11-24T16:30:00Z' }, end: { dateTime: '2026-11-24T17:00:00Z' } });
    // Policy 12: Fridays only, deadline the end of Tuesday 24 (first failure Monday 23 + 1 day).
    const r = await fail(506, owner, 1, 12);
    expect(r.start).toBe('2026-11-24T16:00:00.000+00:00');
    expect(r.deadline).toBe('2026-11-25T00:00:00.000+00:00');
    const event = t.env.emulator.events(owner).find((e) => e.id === r.calendar_event_id);
    expect(event?.description).toMatch(/No day allowed by the maintenance rules \(FREQ=WEEKLY;BYDAY=FR\) has a slot before the deadline/);
  });

  it('a reload applies a new rule to new bookings; an invalid reload keeps the old configuration', async () => {
    writeFileSync(file, CONFIG.replace('BYDAY=TH', 'BYDAY=FR'));
    expect(t.env.app.reloadMaintenanceConfig()).toEqual({ ok: true });
    const owner = addOwner(t, 'fri@acme.com', 'UTC');
    const r = await fail(507, owner, 5, 7);
    expect(r.start).toBe('2026-11-27T13:00:00.000+00:00');

    writeFileSync(file, CONFIG.replace('BYDAY=TH', 'BYDAY=XX'));
    const bad = t.env.app.reloadMaintenanceConfig();
    expect(bad).toMatchObject({ ok: false });
    expect((bad as { error: string }).error).toContain('teams.5.window.rrule');
    const res = await t.daemon.get('/v1/maintenance-config');
    expect(res.body.teams['5'].window.rrule).toBe('FREQ=WEEKLY;BYDAY=FR');
    const owner2 = addOwner(t, 'fri2@acme.com', 'UTC');
    const r2 = await fail(508, owner2, 5, 7);
    expect(r2.start).toBe('2026-11-27T13:00:00.000+00:00');

    // Back to the original file for the tests that follow.
    writeFileSync(file, CONFIG);
    expect(t.env.app.reloadMaintenanceConfig()).toEqual({ ok: true });
  });

  /** Booked and watched: the owner's calendar has our channel and we hold a sync token. */
  const watched = async (owner: string) => {
    await waitFor(() => t.env.emulator.channels().some((c) => c.owner === owner), { what: `channel for ${owner}` });
    await waitFor(async () => (await t.env.probe.redis.hget(`${t.env.prefix}:owner:${owner}`, 'sync')) !== null, { what: 'sync token' });
  };
  const eventOf = (owner: string, id: string | null) => t.env.emulator.events(owner).find((e) => e.id === id);

  it('with max_deferrals 1, the first move later is followed and the second is put back, saying so', async () => {
    const owner = addOwner(t, 'mover@acme.com', 'UTC');
    const r = await fail(510, owner, 1, 13);
    expect(r).toMatchObject({ start: '2026-11-24T09:00:00.000+00:00', max_deferrals: 1, deferrals_used: 0 });
    await watched(owner);

    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { start: { dateTime: '2026-11-24T14:00:00Z' }, end: { dateTime: '2026-11-24T14:30:00Z' } });
    const first = await waitFor(async () => {
      const [x] = await t.daemon.remediations({ host_id: 510 });
      return x.deferrals_used === 1 ? x : null;
    }, { what: 'first move followed' });
    expect(first.start).toBe('2026-11-24T14:00:00.000+00:00');

    t.env.emulator.resetCalls();
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { start: { dateTime: '2026-11-26T10:00:00Z' }, end: { dateTime: '2026-11-26T10:30:00Z' } });
    await waitFor(() => Date.parse(eventOf(owner, r.calendar_event_id)?.start.dateTime ?? '') === Date.parse('2026-11-24T14:00:00Z'), { what: 'move put back' });
    const event = eventOf(owner, r.calendar_event_id);
    expect(event?.description).toContain('This window can no longer be moved: the 1 deferral allowed has been used. It must happen by the end of 2026-12-07.');
    // Patched back, not re-created.
    expect(t.env.emulator.callCounts({ owner })['events.insert']).toBeUndefined();
    const after = await waitFor(async () => {
      const x = await t.daemon.remediation(r.id);
      return x.history.some((e) => e.type === 'window.moved' && e.actor === 'system') ? x : null;
    }, { what: 'window.moved by the system' });
    expect(after).toMatchObject({ status: 'booked', start: '2026-11-24T14:00:00.000+00:00', deferrals_used: 1 });
    const undo = after.history.filter((e) => e.type === 'window.moved').pop();
    expect(undo).toMatchObject({ actor: 'system', data: { start: '2026-11-24T14:00:00.000+00:00', reason: expect.stringContaining('can no longer be moved') } });
  });

  it('a deadline caps a rebook: deleted, the window goes to the latest free slot before the deadline, not the rebook day', async () => {
    const owner = addOwner(t, 'deleter@acme.com', 'UTC');
    const r = await fail(511, owner, 1, 14);
    expect(r).toMatchObject({ start: '2026-11-24T09:00:00.000+00:00', deadline: '2026-11-25T00:00:00.000+00:00' });
    await watched(owner);
    t.env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    const rebooked = await waitFor(async () => {
      const [x] = await t.daemon.remediations({ host_id: 511 });
      return x.status === 'booked' && x.calendar_event_id !== r.calendar_event_id ? x : null;
    }, { what: 'rebooked' });
    // The rebook day would be Wednesday 25: past the deadline (end of Tuesday 24).
    expect(rebooked.start).toBe('2026-11-24T16:30:00.000+00:00');
    expect(rebooked.deferrals_used).toBe(1);
    expect(eventOf(owner, rebooked.calendar_event_id)?.description).toContain('before the deadline (end of 2026-11-24)');
  });

  it('previews where a window would land, asking freeBusy and writing nothing', async () => {
    const owner = addOwner(t, 'preview@acme.com', 'Europe/Zurich');
    t.env.emulator.createEventAsOwner(owner, { summary: 'Busy', start: { dateTime: '2026-11-26T13:00:00+01:00' }, end: { dateTime: '2026-11-26T14:00:00+01:00' } });
    t.env.emulator.resetCalls();
    const remediationsBefore = await t.daemon.remediations({ limit: 1000 });
    const res = await t.daemon.get(`/v1/preview?email=${owner}&team_id=5&policy_ids=7`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      time_zone: 'Europe/Zurich',
      rules: expect.objectContaining({ window: { rrule: 'FREQ=WEEKLY;BYDAY=TH', start: '13:00', end: '15:00', slot_minutes: 60 } }),
      day: '2026-11-26',
      slot: { start: '2026-11-26T14:00:00.000+01:00', end: '2026-11-26T15:00:00.000+01:00' },
      only_time_left: false,
      reason: null,
    });
    // A policy rule beats its team's; a deadline with no allowed day before it says why.
    const policy = await t.daemon.get(`/v1/preview?email=${owner}&team_id=5&policy_ids=9,12`);
    expect(policy.body).toMatchObject({ day: '2026-11-24', reason: expect.stringContaining('before the deadline') });
    const calls = t.env.emulator.callCounts({ owner });
    expect(calls['events.insert']).toBeUndefined();
    expect(calls['freebusy.query']).toBe(2);
    expect(t.env.emulator.events(owner)).toHaveLength(1);
    // Nothing written: no remediation, nothing kept about the owner (not even the time-zone cache).
    expect(await t.daemon.remediations({ limit: 1000 })).toEqual(remediationsBefore);
    expect(await t.env.probe.redis.keys(`${t.env.prefix}*preview@acme.com*`)).toEqual([]);

    const bad = await t.daemon.get('/v1/preview?email=nope&policy_ids=7');
    expect(bad).toMatchObject({ status: 400, body: { field: 'email' } });
    const anonymous = await request(`${t.env.url}/v1/preview?email=${owner}`);
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
  });

  it('skips a day on which the owner is out of office across the whole window; a day merely full keeps its last slot', async () => {
    const away = addOwner(t, 'away@acme.com', 'UTC');
    t.env.emulator.createEventAsOwner(away, {
      summary: 'Out of office',
      eventType: 'outOfOffice',
      start: { dateTime: '2026-11-24T00:00:00Z' },
      end: { dateTime: '2026-11-25T00:00:00Z' },
    });
    const r = await fail(520, away, 1, 7);
    expect(r.start).toBe('2026-12-01T09:00:00.000+00:00');
    expect(eventOf(away, r.calendar_event_id)?.description).not.toMatch(/no remaining availability/i);

    const full = addOwner(t, 'full@acme.com', 'UTC');
    t.env.emulator.createEventAsOwner(full, { summary: 'Offsite', start: { dateTime: '2026-11-24T00:00:00Z' }, end: { dateTime: '2026-11-25T00:00:00Z' } });
    const r2 = await fail(521, full, 1, 7);
    expect(r2.start).toBe('2026-11-24T16:30:00.000+00:00');
    expect(eventOf(full, r2.calendar_event_id)?.description).toMatch(/no remaining availability/i);
  });

  it('a move past the deadline is put back to the latest free slot before it (window.moved by the system)', async () => {
    const owner = addOwner(t, 'late.mover@acme.com', 'UTC');
    const r = await fail(530, owner, 1, 16);
    expect(r).toMatchObject({ start: '2026-11-24T09:00:00.000+00:00', deadline: '2026-11-26T00:00:00.000+00:00' });
    await watched(owner);
    t.env.emulator.patchEventAsOwner(owner, r.calendar_event_id as string, { start: { dateTime: '2026-11-27T10:00:00Z' }, end: { dateTime: '2026-11-27T10:30:00Z' } });
    const clamped = await waitFor(async () => {
      const [x] = await t.daemon.remediations({ host_id: 530 });
      return x.start !== r.start ? x : null;
    }, { what: 'move put back before the deadline' });
    expect(clamped).toMatchObject({ start: '2026-11-25T16:30:00.000+00:00', end: '2026-11-25T17:00:00.000+00:00', deferrals_used: 1 });
    expect(Date.parse(eventOf(owner, r.calendar_event_id)?.start.dateTime ?? '')).toBe(Date.parse('2026-11-25T16:30:00Z'));
    const history = (await t.daemon.remediation(r.id)).history.filter((e) => e.type === 'window.moved');
    expect(history.pop()).toMatchObject({ actor: 'system', data: { start: '2026-11-25T16:30:00.000+00:00', reason: expect.stringContaining('past the deadline') } });
  });

  it('a delete beyond max_deferrals is rebooked at the earliest allowed slot, saying it can no longer be moved', async () => {
    const owner = addOwner(t, 'no.deferrals@acme.com', 'UTC');
    const r = await fail(531, owner, 1, 17);
    await watched(owner);
    // The earliest allowed slot (Tuesday 24 09:00, free again once deleted), not the rebook day (Wednesday 25).
    t.env.emulator.deleteEventAsOwner(owner, r.calendar_event_id as string);
    const again = await waitFor(async () => {
      const [x] = await t.daemon.remediations({ host_id: 531 });
      return x.status === 'booked' && x.calendar_event_id !== r.calendar_event_id ? x : null;
    }, { what: 'rebooked' });
    expect(again.start).toBe('2026-11-24T09:00:00.000+00:00');
    expect(again.deferrals_used).toBe(0);
    expect(eventOf(owner, again.calendar_event_id)?.description).toContain('This window can no longer be moved: the 0 deferrals allowed have been used.');
  });
});
