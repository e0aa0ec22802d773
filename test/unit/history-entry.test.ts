import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent } from '../../src/domain/lifecycle-event';
import { decodeHistoryEntry, encodeHistoryEntry, STORED_ACTORS, STORED_EVENT_TYPES, toStoredEvent } from '../../src/store/remediation-query';
import type { Remediation } from '../../src/domain/remediation';

const r = { id: 'h181-1', host: { id: 181, displayName: 'Laptop', serialNumber: 'SN', teamId: 1 }, email: 'dana@acme.com' } as Remediation;
const AT = Date.parse('2026-11-23T12:00:04.938Z');

describe('history entries (how a remediation’s history stores its events)', () => {
  it('round-trips a stored event exactly, without the remediation id and the time spelled out', () => {
    const event = toStoredEvent(r, { type: 'window.booked', actor: 'system', data: { start: '2026-11-24T09:00:00.000+00:00', status: 'booked' } }, AT);
    const raw = encodeHistoryEntry(event);
    expect(raw).not.toContain('h181-1');
    expect(raw).not.toContain('2026-11-23T12:00:04.938Z');
    expect(raw.length).toBeLessThan(JSON.stringify(event).length - 60);
    expect(decodeHistoryEntry(raw, 'h181-1')).toEqual(event);
  });

  it('keeps the time when the id does not carry it, and an ownerless event’s null email', () => {
    const event: LifecycleEvent = { id: 'imported-1', type: 'remediation.created', occurred_at: '2026-01-02T03:04:05.000Z', remediation_id: 'h1-1', host_id: 1, email: null, actor: 'producer', data: {} };
    expect(decodeHistoryEntry(encodeHistoryEntry(event), 'h1-1')).toEqual(event);
  });

  it('stores the type and actor as codes and the host id as null when the remediation id names it', () => {
    const event = toStoredEvent(r, { type: 'delivery.succeeded', actor: 'admin', data: {} }, AT);
    const [, type, host, , actor] = JSON.parse(encodeHistoryEntry(event)) as unknown[];
    expect([type, host, actor]).toEqual([STORED_EVENT_TYPES.indexOf('delivery.succeeded'), null, STORED_ACTORS.indexOf('admin')]);
    expect(decodeHistoryEntry(encodeHistoryEntry(event), 'h181-1')).toEqual(event);
    // A remediation id of another shape keeps its host id.
    const other = { ...event, remediation_id: 'legacy-7', host_id: 7 };
    expect(JSON.parse(encodeHistoryEntry(other))[2]).toBe(7);
    expect(decodeHistoryEntry(encodeHistoryEntry(other), 'legacy-7')).toEqual(other);
  });

  it('every event type and actor has a code (a new one must be appended to the stored lists)', () => {
    for (const type of LIFECYCLE_EVENT_TYPES) expect(STORED_EVENT_TYPES).toContain(type);
    for (const actor of ['system', 'owner', 'producer', 'fleet', 'admin'] as const) expect(STORED_ACTORS).toContain(actor);
  });

  it('reads an array entry written with names (before the codes)', () => {
    const raw = JSON.stringify(['evt_mwt7rigtc1c5764127ad8832', 'remediation.assigned', 36, 'fs35@bench.example.com', 'system', { '~5': 'pending' }]);
    expect(decodeHistoryEntry(raw, 'h36-1')).toMatchObject({ type: 'remediation.assigned', host_id: 36, actor: 'system', data: { status: 'pending' } });
  });

  it('reads an entry written before (the event’s JSON object) as it was', () => {
    const old: LifecycleEvent = { id: 'evt_mwt7rih67112338d56fc6408', type: 'remediation.assigned', occurred_at: '2026-11-23T12:00:04.938Z', remediation_id: 'h181-1', host_id: 181, email: 'fs180@bench.example.com', actor: 'system', data: { status: 'pending' } };
    expect(decodeHistoryEntry(JSON.stringify(old), 'ignored')).toEqual(old);
  });
});
