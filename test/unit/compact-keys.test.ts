import fc from 'fast-check';
import type { Remediation } from '../../src/domain/remediation';
import { compactKeys, expandKeys, KEY_DICTIONARY } from '../../src/store/compact-keys';
import { decodeRemediation, encodeRemediation } from '../../src/store/remediation-store';

const booked: Remediation = {
  id: 'h181-1',
  host: { id: 181, displayName: 'Bench laptop 181', serialNumber: 'BN181', teamId: 1 },
  email: 'fs180@bench.example.com',
  status: 'booked',
  policies: [{ id: 7, name: 'Policy 7', description: 'Why it matters.', resolution: 'What we will do.' }],
  bookingNumber: 0,
  rebookCount: 0,
  createdAt: '2026-11-23T12:00:04.938Z',
  updatedAt: '2026-11-23T12:00:08.987Z',
  start: '2026-11-24T09:00:00.000+00:00',
  end: '2026-11-24T09:30:00.000+00:00',
  timeZone: 'UTC',
  calendarEventId: 'd0ojgc9d64nj0',
  onlyTimeLeft: false,
  originalDate: '2026-11-24',
};

describe('compact keys (how Redis keeps a remediation and its events’ data)', () => {
  it('a booked remediation is over 120 bytes shorter and reads back the same', () => {
    const raw = encodeRemediation(booked);
    expect(JSON.stringify(booked).length - raw.length).toBeGreaterThan(120);
    expect(raw).not.toContain('calendarEventId');
    expect(decodeRemediation(raw)).toEqual(booked);
  });

  it('a record written before (full names) reads as it is', () => {
    expect(decodeRemediation(JSON.stringify(booked))).toEqual(booked);
  });

  it('every JSON value survives the round trip, dictionary names, unknown names and "__proto__" included', () => {
    const key = fc.oneof(fc.constantFrom(...KEY_DICTIONARY, '__proto__', 'constructor', 'id'), fc.string().filter((k) => !k.startsWith('~')));
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 6 })),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        const stored = JSON.stringify(compactKeys(v));
        expect(expandKeys(JSON.parse(stored))).toEqual(JSON.parse(JSON.stringify(v)));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300, seed: 20261204 },
    );
  });

  it('codes are stable: a name keeps its code (the dictionary is only appended to)', () => {
    expect(compactKeys({ host: 1, displayName: 2, previous_status: 3 })).toEqual({ '~0': 1, '~1': 2, [`~${KEY_DICTIONARY.indexOf('previous_status').toString(36)}`]: 3 });
    expect(KEY_DICTIONARY.indexOf('previous_status')).toBe(44);
    expect(new Set(KEY_DICTIONARY).size).toBe(KEY_DICTIONARY.length);
  });
});
