import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * What Redis keeps of each remediation and each of its events, packed: the JSON text deflated (zlib's raw deflate)
 * against a preset dictionary of the text those records share (their property codes from compact-keys.ts, the
 * statuses, the shape of times and of the delivery's payload), behind one format byte. A booked remediation's
 * record packs from ~430 bytes to ~160, its events from ~130–230 to ~55–100: about 650 bytes less Redis per open
 * remediation, the largest part of what it costs. Packing takes ~14 µs and unpacking ~5 µs per value (Node 24, this
 * machine), most of it the cost of a zlib call itself: a 2,000-window burst spends ~0.1 s on it before its last
 * webhook is sent (the starts' records and events), as much again storing the outcomes after.
 *
 * The stored format:
 *   0x01 <raw deflate of the JSON, against PACK_DICTIONARY_V1>    packed
 *   `{…}` or `[…]`                                                plain JSON: a value that would not get shorter
 *                                                                 packed, and everything written before 2026-12
 *
 * PACK_DICTIONARY_V1 is part of the stored format: it must NEVER change (a unit test pins its hash). A better
 * dictionary is a new format byte with its own, the old one still read.
 *
 * Operators read remediations and their events through the HTTP API (GET /v1/remediations/:id with its history,
 * GET /v1/events), not with redis-cli; `unpackJson` is what the daemon and its tests use.
 */
const FORMAT_PACKED_V1 = 0x01;

/**
 * zlib finds a match anywhere in the dictionary, but matches near its end cost fewer bits: the fragments are in
 * rising order of how often they recur (the record's own shape last). Variable parts (names, ids, times) are left
 * as examples or out; what matters is the text between them.
 */
const DICTIONARY_FRAGMENTS_V1 = [
  // Rare: deadlines and deferrals, a hand-over's queue, Fleet, admin and producer actors' data.
  '"~v":"","~w":"","~x":0,"~y":true,"~z":3,"~10":"","~11":"","~12":"","~13":"","~14":"","~15":,"~p":"","~r":"","~t":"","~1p":"","~1q":"","~1r":"","~1s":0,"~1t":3,',
  '"waiting_for":{"remediation_id":"h","host_id":,"~1g":""},"~18":"unassigned","~5":"queued"}]',
  '"via":"hand_over","~18":"queued","~5":"pending"}]',
  '{"~1j":,"~e":"","~f":"","~1b":"","~18":"booked","~5":"resolved"}]',
  '"~18":"booked","~5":"cancelled"}]',
  '"~1e":"","~1f":"","~18":"booked","~5":"booked"}]',
  // A fired window: its delivery, the payload as Fleet sends it, the events of the firing.
  '"~17":{"upcoming":"","~u":"","~k":{"~m":1,"~l":"msg_h","~16":"{\\"timestamp\\":\\"\\",\\"host_id\\":,\\"host_display_name\\":\\"\\",\\"host_serial_number\\":\\"\\",\\"failing_policies\\":[{\\"id\\":,\\"name\\":\\"\\"}]}","~n":1,"~c":"","~10":"","~q":"","~s":"","~o":200}}',
  '{"~1l":1,"~1k":"msg_h","~1m":200,"~n":1,"~18":"firing","~5":"fired"}]',
  '{"~e":"","~f":"","~1n":,"~1k":"msg_h","~6":[{"id":,"~7":""}],"~18":"booked","~5":"firing"}]',
  '{"~e":"","~f":"","~1o":15}]',
  // Every remediation's first events: created, assigned, booked.
  '["evt_mw",0,null,"@",2,{"~6":[{"id":,"~7":""}],"~1g":"","~1h":1}]',
  '["evt_mw",1,null,"@",0,{"~1i":"","~18":"unassigned","~5":"pending"}]',
  '["evt_mw",5,null,"@",0,{"~e":"2026-T09:00:00.000+00:00","~f":"2026-T09:30:00.000+00:00","~19":"","~1a":0,"~1b":"","~1c":false,"~1d":0,"~18":"pending","~5":"booked"}]',
  // The record itself.
  '{"id":"h","~0":{"id":,"~1":"","~2":"","~3":},"~4":"@.com","~5":"booked","~6":[{"id":,"~7":"","~8":"","~9":""}],"~a":0,"~b":0,"~c":"2026-T:00.000Z","~d":"2026-T:00.000Z","~e":"2026-T09:00:00.000+00:00","~f":"2026-T09:30:00.000+00:00","~g":"UTC","~h":"","~i":false,"~j":"2026-"}',
];

export const PACK_DICTIONARY_V1: Buffer = Buffer.from(DICTIONARY_FRAGMENTS_V1.join(''), 'utf8');

/** SHA-256 of PACK_DICTIONARY_V1 (hex): what the unit test pins. */
export function packDictionaryHash(): string {
  return createHash('sha256').update(PACK_DICTIONARY_V1).digest('hex');
}

/**
 * Both ways: the dictionary, and zlib's output buffer per call (`chunkSize`): 16 KB by default, for values of a few
 * hundred bytes. 1 KB (a longer output takes several) makes each call ~30 % faster and a burst's garbage 16 times
 * smaller (a 2,000-window burst packs and unpacks ~10,000 values).
 */
const ZLIB_OPTIONS = { dictionary: PACK_DICTIONARY_V1, chunkSize: 1024 };

/** The JSON text as Redis should keep it: packed, unless packing would not make it shorter. */
export function packJson(json: string): Buffer | string {
  const deflated = deflateRawSync(json, ZLIB_OPTIONS);
  if (deflated.length + 1 >= Buffer.byteLength(json)) return json;
  const out = Buffer.allocUnsafe(deflated.length + 1);
  out[0] = FORMAT_PACKED_V1;
  deflated.copy(out, 1);
  return out;
}

/** The JSON text of a stored value: packed (format byte 0x01) or plain JSON (as a Buffer or a string). */
export function unpackJson(stored: Buffer | string): string {
  if (typeof stored === 'string') return stored;
  if (stored.length > 0 && stored[0] === FORMAT_PACKED_V1) {
    return inflateRawSync(stored.subarray(1), ZLIB_OPTIONS).toString('utf8');
  }
  return stored.toString('utf8');
}
