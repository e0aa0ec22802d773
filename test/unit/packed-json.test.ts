import { randomBytes } from 'node:crypto';
import { packDictionaryHash, packJson, unpackJson } from '../../src/store/packed-json';
import { encodeRemediation, readStoredHistoryEntry, readStoredRemediation, storedRemediation } from '../../src/store/remediation-store';
import { encodeHistoryEntry, toStoredEvent } from '../../src/store/remediation-query';
import type { Remediation } from '../../src/domain/remediation';

const booked: Remediation = {
  id: 'h181-1',
  host: { id: 181, displayName: 'Dana’s MacBook Pro', serialNumber: 'C02XK0AAJGH6', teamId: 3 },
  email: 'dana@acme.com',
  status: 'booked',
  policies: [{ id: 7, name: 'Disk encryption', description: 'FileVault protects the disk if the laptop is lost.', resolution: 'We will turn FileVault on; the laptop restarts once.' }],
  bookingNumber: 0,
  rebookCount: 0,
  createdAt: '2026-12-03T10:00:00.000Z',
  updatedAt: '2026-12-03T10:00:01.000Z',
  start: '2026-12-08T09:00:00.000-05:00',
  end: '2026-12-08T09:30:00.000-05:00',
  timeZone: 'America/New_York',
  calendarEventId: 'mw0h1811b0',
  onlyTimeLeft: false,
  originalDate: '2026-12-08',
};

describe('packed JSON (what Redis keeps of records and events)', () => {
  it('the dictionary is part of the stored format: it never changes', () => {
    // Changing PACK_DICTIONARY_V1 would make every packed value already in Redis unreadable. A new dictionary is a
    // new format byte (packed-json.ts).
    expect(packDictionaryHash()).toBe('56d177516a5a88ad6541cf9d9505903b5078c97d474b08f54b41c15411de0cec');
  });

  it('reads a value packed by this format version (bytes written on 2026-12-04)', () => {
    const stored = Buffer.from('AYOFiYmRriFKuJgYQUPGJTEv8VHDzGIF38Rkp/z8bFhIORsYRXhDg8sYFl4piXmJDonJuanYww3uLUMjXQMLFL/pGpiC3F4LAA==', 'base64');
    expect(stored[0]).toBe(0x01);
    expect(unpackJson(stored)).toBe('{"id":"h42-1","~0":{"id":42,"~1":"Dana’s MacBook","~2":"C02XK","~3":3},"~4":"dana@acme.com","~5":"booked","~e":"2026-12-08T09:00:00.000-05:00"}');
  });

  it('a booked record packs to under half its JSON, and back to the same remediation', () => {
    const json = encodeRemediation(booked);
    const stored = storedRemediation(booked);
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect(stored.length).toBeLessThan(json.length / 2);
    expect(readStoredRemediation(stored)).toEqual(booked);
  });

  it('a firing record stays plain JSON (rewritten once its delivery ends) and reads back the same', () => {
    const firing: Remediation = { ...booked, status: 'firing', firedAt: '2026-12-08T14:00:00.020Z' };
    const stored = storedRemediation(firing);
    expect(stored).toBe(encodeRemediation(firing));
    expect(readStoredRemediation(stored)).toEqual(firing);
    expect(Buffer.isBuffer(storedRemediation({ ...firing, status: 'fired' }))).toBe(true);
  });

  it('an event packs smaller and reads back whole', () => {
    const event = toStoredEvent(booked, { type: 'window.booked', actor: 'system', data: { start: booked.start, end: booked.end, time_zone: 'America/New_York', booking_number: 0, calendar_event_id: 'mw0h1811b0', only_time_left: false, rebook_count: 0, previous_status: 'pending', status: 'booked' } }, Date.parse('2026-12-03T10:00:01Z'));
    const json = encodeHistoryEntry(event);
    const stored = packJson(json);
    expect(stored.length).toBeLessThan(json.length * 0.6);
    expect(readStoredHistoryEntry(stored, booked.id)).toEqual(event);
  });

  it('a value that would not get shorter stays plain JSON', () => {
    expect(packJson('{}')).toBe('{}');
    expect(packJson('[1]')).toBe('[1]');
  });

  it('plain JSON written before packing existed reads as it is, as a string or as bytes', () => {
    const plain = JSON.stringify(booked);
    expect(readStoredRemediation(plain)).toEqual(booked);
    expect(readStoredRemediation(Buffer.from(plain))).toEqual(booked);
    expect(unpackJson(Buffer.from('["evt_1",0,null,"a@b.c",0,{}]'))).toBe('["evt_1",0,null,"a@b.c",0,{}]');
  });

  it('a value whose packed or unpacked form is longer than zlib’s 1 KB output chunk comes back whole', () => {
    // Random base64 packs to ~75 % (6 bits of 8): several chunks each way.
    const long = JSON.stringify({ description: randomBytes(3000).toString('base64') });
    const stored = packJson(long);
    expect(Buffer.isBuffer(stored) && stored.length > 2048).toBe(true);
    expect(unpackJson(stored)).toBe(long);
  });

  it('non-ASCII text survives packing', () => {
    const json = JSON.stringify({ name: 'Ünïcödé — 日本語のポリシー 🔒', note: 'x'.repeat(200) });
    expect(unpackJson(packJson(json))).toBe(json);
  });
});
