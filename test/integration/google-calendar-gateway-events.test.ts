/**
 * The Google adapter against the project's Calendar emulator: freeBusy, events, incremental sync, push channels.
 */
import { OWNED_BY_PROPERTY } from '../../src/domain/event-id';
import { ChangeCursorExpiredError } from '../../src/ports/calendar';
import { GatewayFixture, newEvent } from './google-calendar-gateway-fixture';

const fx = new GatewayFixture();
beforeAll(() => fx.start());
afterAll(() => fx.stop());
beforeEach(() => fx.reset());

const DAY = { timeMin: '2026-12-01T00:00:00Z', timeMax: '2026-12-02T00:00:00Z' };

describe('timeZone', () => {
  it('reads the timezone setting', async () => {
    const owner = fx.owner();
    await expect(fx.gateway().timeZone(owner)).resolves.toBe('Europe/Zurich');
  });

  it.each([403, 404, 500])('answers null when the setting fails with %s', async (status) => {
    const owner = fx.owner();
    fx.emulator.addUser(owner, { settingsError: status });
    await expect(fx.gateway({ retry: { maxAttempts: 2 } }).timeZone(owner)).resolves.toBeNull();
  });
});

describe('freeBusy', () => {
  it('asks once for all owners, as the first one, and reports a calendar error inside the 200 as unknown', async () => {
    const [first, busy, broken] = [fx.owner(), fx.owner(), fx.owner()];
    fx.emulator.createEventAsOwner(busy, {
      summary: 'Stand-up',
      start: { dateTime: '2026-12-01T09:00:00Z' },
      end: { dateTime: '2026-12-01T10:00:00Z' },
    });
    fx.emulator.createEventAsOwner(busy, {
      summary: 'Focus (free)',
      transparency: 'transparent',
      start: { dateTime: '2026-12-01T11:00:00Z' },
      end: { dateTime: '2026-12-01T12:00:00Z' },
    });
    fx.emulator.setCalendarError(broken, 'notFound');

    const result = await fx.gateway().freeBusy([first, busy, broken], DAY.timeMin, DAY.timeMax);

    expect(result.get(first)).toEqual({ kind: 'known', busy: [] });
    const busyIntervals = result.get(busy);
    expect(busyIntervals?.kind).toBe('known');
    expect(busyIntervals?.kind === 'known' && busyIntervals.busy.map((b) => [Date.parse(b.start), Date.parse(b.end)])).toEqual([
      [Date.parse('2026-12-01T09:00:00Z'), Date.parse('2026-12-01T10:00:00Z')],
    ]);
    expect(result.get(broken)).toEqual({ kind: 'unknown', reason: 'notFound' });
    const calls = fx.calls({ method: 'freebusy.query' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ owner: first, quotaUser: first, status: 200 });
    expect(fx.calls({ method: 'token' }).map((c) => c.owner)).toEqual([first]);
  });

  it('reports an internalError calendar as unknown too', async () => {
    const [a, b] = [fx.owner(), fx.owner()];
    fx.emulator.setCalendarError(b, 'internalError');
    const result = await fx.gateway().freeBusy([a, b], DAY.timeMin, DAY.timeMax);
    expect(result.get(b)).toEqual({ kind: 'unknown', reason: 'internalError' });
    expect(result.get(a)?.kind).toBe('known');
  });

  it('refuses more than 50 owners and answers nothing for none', async () => {
    const owners = Array.from({ length: 51 }, (_, i) => `many${i}@example.com`);
    await expect(fx.gateway().freeBusy(owners, DAY.timeMin, DAY.timeMax)).rejects.toThrow(/at most 50/);
    await expect(fx.gateway().freeBusy([], DAY.timeMin, DAY.timeMax)).resolves.toEqual(new Map());
    expect(fx.calls()).toHaveLength(0);
  });

  it('handles the full 50 owners in one request', async () => {
    const owners = Array.from({ length: 50 }, () => fx.owner('fifty'));
    const result = await fx.gateway().freeBusy(owners, DAY.timeMin, DAY.timeMax);
    expect([...result.values()].every((a) => a.kind === 'known')).toBe(true);
    expect(result.size).toBe(50);
    expect(fx.calls({ method: 'freebusy.query' })).toHaveLength(1);
  });
});

describe('events', () => {
  it('inserts an event with the key as the client id, marked ours, and maps it back', async () => {
    const owner = fx.owner();
    const id = fx.eventId();
    const event = await fx.gateway().createEvent(owner, newEvent(id));
    expect(event).toMatchObject({
      id,
      cancelled: false,
      timing: { kind: 'timed' },
      remediationId: 'r-1',
      title: 'Maintenance window',
      description: 'Your laptop needs an update.',
    });
    const timing = event.timing.kind === 'timed' ? event.timing : { start: '', end: '' };
    expect(Date.parse(timing.start)).toBe(Date.parse('2026-12-01T10:00:00+01:00'));
    expect(Date.parse(timing.end)).toBe(Date.parse('2026-12-01T10:30:00+01:00'));
    // What Google stores: written in the owner's zone, the marker as private extended properties, no attendees.
    const [stored] = fx.emulator.events(owner);
    expect(stored).toMatchObject({
      id,
      status: 'confirmed',
      start: { timeZone: 'Europe/Zurich' },
      end: { timeZone: 'Europe/Zurich' },
      summary: 'Maintenance window',
      extendedProperties: { private: { [OWNED_BY_PROPERTY]: 'r-1', bookingNumber: '0' } },
    });
    expect(stored.etag).toBeTruthy();
    expect(stored.updated).toBeTruthy();
    expect(stored.attendees ?? []).toEqual([]);
    expect(fx.emulator.events(owner).map((e) => e.id)).toEqual([id]);
  });

  it('is idempotent: inserting the same id again returns the existing event', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const id = fx.eventId();
    const first = await gateway.createEvent(owner, newEvent(id));
    const again = await gateway.createEvent(owner, { ...newEvent(id), title: 'second attempt' });
    expect(again).toEqual(first);
    expect(fx.emulator.events(owner)).toHaveLength(1);
    expect(fx.calls({ owner, method: 'events.insert' }).map((c) => c.status)).toEqual([200, 409]);
    expect(fx.sleeps).toEqual([]);
  });

  it('gets an event, null for an unknown id, and a cancelled one after deletion', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const id = fx.eventId();
    await gateway.createEvent(owner, newEvent(id));
    await expect(gateway.getEvent(owner, id)).resolves.toMatchObject({ id, cancelled: false, remediationId: 'r-1' });
    await expect(gateway.getEvent(owner, fx.eventId())).resolves.toBeNull();
    fx.emulator.deleteEventAsOwner(owner, id);
    await expect(gateway.getEvent(owner, id)).resolves.toMatchObject({ id, cancelled: true });
  });

  it('patches the title and description, leaving the marker as it is', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const id = fx.eventId();
    await gateway.createEvent(owner, newEvent(id));
    const patched = await gateway.updateEvent(owner, id, { description: 'Resolved, thanks.' });
    expect(patched).toMatchObject({ title: 'Maintenance window', description: 'Resolved, thanks.', remediationId: 'r-1' });
    const retitled = await gateway.updateEvent(owner, id, { title: 'Maintenance (moved)' });
    expect(retitled).toMatchObject({ title: 'Maintenance (moved)', description: 'Resolved, thanks.', remediationId: 'r-1' });
    expect(fx.emulator.events(owner)[0]).toMatchObject({
      summary: 'Maintenance (moved)',
      extendedProperties: { private: { [OWNED_BY_PROPERTY]: 'r-1', bookingNumber: '0' } },
    });
  });

  it('moves an event, writing the new times in the zone given', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const id = fx.eventId();
    await gateway.createEvent(owner, newEvent(id));
    const moved = await gateway.updateEvent(owner, id, { start: '2026-12-02T15:00:00+01:00', end: '2026-12-02T15:30:00+01:00', timeZone: 'Europe/Zurich' });
    expect(moved.timing.kind === 'timed' && [Date.parse(moved.timing.start), Date.parse(moved.timing.end)]).toEqual([
      Date.parse('2026-12-02T14:00:00Z'),
      Date.parse('2026-12-02T14:30:00Z'),
    ]);
    expect(fx.emulator.events(owner)[0]).toMatchObject({ start: { timeZone: 'Europe/Zurich' }, end: { timeZone: 'Europe/Zurich' } });
  });

  it('deletes, and deleting again or an unknown id is fine', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const id = fx.eventId();
    await gateway.createEvent(owner, newEvent(id));
    await gateway.deleteEvent(owner, id);
    await gateway.deleteEvent(owner, id);
    await gateway.deleteEvent(owner, fx.eventId());
    expect(fx.calls({ owner, method: 'events.delete' }).map((c) => c.status)).toEqual([expect.any(Number), 410, 404]);
    expect(fx.emulator.events(owner)).toHaveLength(0);
  });
});

describe('changeFeed.changes', () => {
  it('does a full sync, then returns created, changed and deleted events incrementally', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const kept = fx.emulator.createEventAsOwner(owner, { summary: 'Kept', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' } });
    const removed = fx.emulator.createEventAsOwner(owner, { summary: 'Removed', start: { dateTime: '2026-12-02T09:00:00Z' }, end: { dateTime: '2026-12-02T10:00:00Z' } });
    const ours = await gateway.createEvent(owner, newEvent(fx.eventId()));

    const full = await gateway.changeFeed.changes(owner, null);
    expect(full.events.map((e) => e.id).sort()).toEqual([kept.id, removed.id, ours.id].sort());
    expect(full.cursor).toBeTruthy();
    // events.list carries the calendar's own zone.
    expect(full.timeZone).toBe('Europe/Zurich');
    const fullCall = fx.calls({ owner, method: 'events.list' });
    expect(fullCall).toHaveLength(1);

    const nothing = await gateway.changeFeed.changes(owner, full.cursor);
    expect(nothing.events).toEqual([]);

    const added = fx.emulator.createEventAsOwner(owner, { summary: 'New', start: { dateTime: '2026-12-03T09:00:00Z' }, end: { dateTime: '2026-12-03T10:00:00Z' } });
    fx.emulator.patchEventAsOwner(owner, ours.id, { start: { dateTime: '2026-12-01T14:00:00Z' }, end: { dateTime: '2026-12-01T14:30:00Z' } });
    fx.emulator.deleteEventAsOwner(owner, removed.id);

    const changes = await gateway.changeFeed.changes(owner, nothing.cursor);
    const byId = new Map(changes.events.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual([added.id, ours.id, removed.id].sort());
    expect(byId.get(removed.id)?.cancelled).toBe(true);
    const moved = byId.get(ours.id)?.timing;
    expect(moved?.kind === 'timed' && Date.parse(moved.start)).toBe(Date.parse('2026-12-01T14:00:00Z'));
    expect(byId.get(ours.id)?.remediationId).toBe('r-1');
    expect(byId.get(added.id)?.remediationId).toBeUndefined();
    expect(changes.cursor).not.toBe(nothing.cursor);
  });

  it('follows pages to the last one, where the sync token is', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    for (let i = 0; i < 2600; i++) {
      const start = Date.parse('2026-12-01T00:00:00Z') + i * 3_600_000;
      fx.emulator.createEventAsOwner(owner, {
        summary: `e${i}`,
        start: { dateTime: new Date(start).toISOString() },
        end: { dateTime: new Date(start + 1_800_000).toISOString() },
      });
    }
    const full = await gateway.changeFeed.changes(owner, null);
    expect(full.events).toHaveLength(2600);
    expect(new Set(full.events.map((e) => e.id)).size).toBe(2600);
    expect(fx.calls({ owner, method: 'events.list' })).toHaveLength(2);

    const changes = await gateway.changeFeed.changes(owner, full.cursor);
    expect(changes.events).toEqual([]);
  });

  it('holds only the events `keep` accepts, counts every one listed, and still ends with the sync token', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    for (let i = 0; i < 30; i++) {
      const start = Date.parse('2026-12-01T00:00:00Z') + i * 3_600_000;
      fx.emulator.createEventAsOwner(owner, { summary: `e${i}`, start: { dateTime: new Date(start).toISOString() }, end: { dateTime: new Date(start + 1_800_000).toISOString() } });
    }
    const ours = await gateway.createEvent(owner, newEvent(fx.eventId()));
    const full = await gateway.changeFeed.changes(owner, null, (e) => e.remediationId === 'r-1');
    expect(full.events.map((e) => e.id)).toEqual([ours.id]);
    expect(full.listed).toBe(31);

    fx.emulator.createEventAsOwner(owner, { summary: 'New', start: { dateTime: '2026-12-09T09:00:00Z' }, end: { dateTime: '2026-12-09T10:00:00Z' } });
    fx.emulator.deleteEventAsOwner(owner, ours.id);
    const changes = await gateway.changeFeed.changes(owner, full.cursor, (e) => e.cancelled);
    expect(changes.events.map((e) => [e.id, e.cancelled])).toEqual([[ours.id, true]]);
    expect(changes.listed).toBe(2);
  });

  it('throws ChangeCursorExpiredError on 410 fullSyncRequired', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const { cursor } = await gateway.changeFeed.changes(owner, null);
    fx.emulator.expireSyncTokens(owner);
    await expect(gateway.changeFeed.changes(owner, cursor)).rejects.toBeInstanceOf(ChangeCursorExpiredError);
    expect(fx.calls({ owner, method: 'events.list' }).map((c) => c.status)).toEqual([200, 410]);
    const again = await gateway.changeFeed.changes(owner, null);
    expect(again.cursor).toBeTruthy();
  });
});

describe('push channels (changeFeed.subscribe / stop)', () => {
  it('watches the primary calendar with a channel id it chooses and stops the channel (stopping twice is fine)', async () => {
    const gateway = fx.gateway();
    const owner = fx.owner();
    const before = Date.now();
    const channel = await gateway.changeFeed.subscribe(owner, {
      address: 'https://daemon.example.com/v1/google/notifications',
      lifecycleAddress: 'https://daemon.example.com/ignored-by-google',
      secret: 'channel-secret',
      ttlSeconds: 3600,
    });
    expect(channel.id).toMatch(/^mw-[A-Za-z0-9_-]{22}$/);
    expect(channel.resource).toBeTruthy();
    expect(typeof channel.expiration).toBe('number');
    expect(channel.expiration).toBeGreaterThan(before);
    expect(channel.expiration).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect(fx.emulator.channels()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: channel.id, resourceId: channel.resource, owner, token: 'channel-secret', address: 'https://daemon.example.com/v1/google/notifications' }),
      ]),
    );
    // Google cannot extend a channel: a new one replaces it.
    expect(gateway.changeFeed.renew).toBeUndefined();

    await gateway.changeFeed.stop(owner, channel);
    await gateway.changeFeed.stop(owner, channel);
    expect(fx.emulator.channels().filter((c: { id: string }) => c.id === channel.id)).toEqual([]);
    expect(fx.calls({ owner, method: 'channels.stop' }).map((c) => c.status)).toEqual([expect.any(Number), 404]);
  });
});
