import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import { decodeHistoryEntry, encodeHistoryEntry, toStoredEvent } from '../../src/store/remediation-query';
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

  it('reads an entry written before (the event’s JSON object) as it was', () => {
    const old: LifecycleEvent = { id: 'evt_mwt7rih67112338d56fc6408', type: 'remediation.assigned', occurred_at: '2026-11-23T12:00:04.938Z', remediation_id: 'h181-1', host_id: 181, email: 'fs180@bench.example.com', actor: 'system', data: { status: 'pending' } };
    expect(decodeHistoryEntry(JSON.stringify(old), 'ignored')).toEqual(old);
  });
});
