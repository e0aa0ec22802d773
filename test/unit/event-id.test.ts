import fc from 'fast-check';
import { eventIdFor, isValidEventId } from '../../src/domain/event-id';

/** RFC 4648 base32hex decoding, to show ids are readable: "<remediationId>/<bookingNumber>". */
function decode(id: string): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  let bits = '';
  for (const c of id) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = bits.match(/.{8}/g)?.map((b) => parseInt(b, 2)) ?? [];
  return Buffer.from(bytes).toString('utf8');
}

describe('eventIdFor', () => {
  it('is deterministic and Google-valid', () => {
    expect(eventIdFor('h107-1', 0)).toBe(eventIdFor('h107-1', 0));
    expect(isValidEventId(eventIdFor('h107-1', 0))).toBe(true);
  });

  it('encodes "<remediationId>/<bookingNumber>" in base32hex', () => {
    expect(decode(eventIdFor('h107-1', 0))).toBe('h107-1/0');
    expect(decode(eventIdFor('0b5a7c3e-uuid', 12))).toBe('0b5a7c3e-uuid/12');
  });

  it('differs per booking number and per remediation', () => {
    expect(eventIdFor('h107-1', 0)).not.toBe(eventIdFor('h107-1', 1));
    expect(eventIdFor('h107-1', 10)).not.toBe(eventIdFor('h107-11', 0));
    expect(eventIdFor('a/1', 2)).not.toBe(eventIdFor('a', 12));
  });

  it('is at least 5 characters for the shortest input', () => {
    expect(eventIdFor('x', 0)).toHaveLength(5);
    expect(isValidEventId(eventIdFor('x', 0))).toBe(true);
  });

  it('stays within 100 characters for long remediation ids', () => {
    const long = 'r'.repeat(500);
    expect(eventIdFor(long, 3).length).toBeLessThanOrEqual(100);
    expect(isValidEventId(eventIdFor(long, 3))).toBe(true);
    expect(eventIdFor(long, 3)).not.toBe(eventIdFor(long, 4));
  });

  it('rejects an empty id and bad booking numbers', () => {
    expect(() => eventIdFor('', 0)).toThrow(RangeError);
    expect(() => eventIdFor('h1', -1)).toThrow(RangeError);
    expect(() => eventIdFor('h1', 0.5)).toThrow(RangeError);
  });

  it('property: valid, <= 100 chars, and injective over (remediationId, bookingNumber)', () => {
    const keyArb = fc.tuple(fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }), fc.nat(10_000));
    fc.assert(
      fc.property(keyArb, keyArb, ([idA, nA], [idB, nB]) => {
        const a = eventIdFor(idA, nA);
        expect(isValidEventId(a)).toBe(true);
        expect(a.length).toBeLessThanOrEqual(100);
        if (idA !== idB || nA !== nB) expect(a).not.toBe(eventIdFor(idB, nB));
        else expect(a).toBe(eventIdFor(idB, nB));
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('isValidEventId', () => {
  it.each(['abcde', '0123456789', 'v'.repeat(1024)])('accepts %s', (id) => expect(isValidEventId(id)).toBe(true));
  it.each(['abcd', 'mwxyz', 'ABCDE', 'abc-de', 'v'.repeat(1025), ''])('rejects %s', (id) => expect(isValidEventId(id)).toBe(false));
});
