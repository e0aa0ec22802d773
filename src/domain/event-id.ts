import { createHash } from 'node:crypto';

/** The private extended property that marks an event as ours (its value: the remediation id). */
export const OWNED_BY_PROPERTY = 'maintenanceWindowsRemediation';

/** Google's alphabet for client-chosen event ids: base32hex, lowercase. */
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';
/** Our own cap (Google allows 1024): short ids keep logs and URLs readable. */
const MAX_ID_LENGTH = 100;

/** RFC 4648 base32hex, lowercase, no padding. Injective: different byte strings give different outputs. */
function base32hex(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32HEX[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The calendar event id of the n-th booking (0-based) of a remediation: base32hex of "<remediationId>/<n>". It is
 * deterministic (a retried insert hits 409 instead of creating a second event), unique per (remediationId, n) —
 * the number after the last "/" is n — and decodable for debugging. Ids longer than 100 characters (remediation ids
 * over ~60 bytes) use base32hex of the SHA-256 of the same text instead (52 characters).
 */
export function eventIdFor(remediationId: string, bookingNumber: number): string {
  if (remediationId === '') throw new RangeError('remediationId must not be empty');
  if (!Number.isInteger(bookingNumber) || bookingNumber < 0) throw new RangeError(`bookingNumber must be an integer >= 0: ${bookingNumber}`);
  const text = Buffer.from(`${remediationId}/${bookingNumber}`, 'utf8');
  const readable = base32hex(text);
  return readable.length <= MAX_ID_LENGTH ? readable : base32hex(createHash('sha256').update(text).digest());
}

/** Whether Google accepts `id` as a client-chosen event id: only a-v and 0-9, 5 to 1024 characters. */
export function isValidEventId(id: string): boolean {
  return /^[0-9a-v]{5,1024}$/.test(id);
}
